// Notices across a daemon restart, and `bodyvault notify test`, with the
// real `bodyvault start` and CLI processes and real receivers on 127.0.0.1.
// The threat: a notice pending when the daemon stops is lost (or sent
// twice) after the restart.
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { freePort, startDaemon, waitFor } from './daemon-support.js'
import { emptyVault, spawnCli, tempDir } from './helpers.js'
import { smtpServer, webhookReceiver } from './notify-support.js'

const SECRET = 'daemon-receiver-secret-0123456789'

function readCatalog(dataDir: string): {
  outbox: { kind: string; state: string; attempts: number }[]
  events: { kind: string; channel: string; attempts: number }[]
} {
  const db = new Database(join(dataDir, 'catalog.db'), { readonly: true })
  try {
    return {
      outbox: db.prepare('SELECT kind, state, attempts FROM notice_outbox ORDER BY id').all() as { kind: string; state: string; attempts: number }[],
      events: (db.prepare("SELECT payload FROM events WHERE type = 'notice-sent' ORDER BY seq").all() as { payload: string }[]).map(
        (e) => JSON.parse(e.payload) as { kind: string; channel: string; attempts: number },
      ),
    }
  } finally {
    db.close()
  }
}

t.test('a notice pending when the daemon stops is delivered after the restart, once', async (t) => {
  const dir = tempDir(t)
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  writeFileSync(join(dir, 'hook.secret'), SECRET, { mode: 0o600 })
  const hook = await webhookReceiver(t, SECRET, { port: await freePort(), down: true })
  const config = {
    notify: {
      channels: [{ type: 'webhook', name: 'duty-desk', url: hook.url, secret: { file: join(dir, 'hook.secret') }, kinds: ['low-disk'] }],
      checkSeconds: 1,
      retry: { baseSeconds: 1, maxAttempts: 30 },
      lowDiskBytes: Number.MAX_SAFE_INTEGER,
    },
  }
  const first = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir, config })
  await waitFor(() => first.events('notify.retry').length >= 2, 'failed attempts while the receiver is down', 30_000)
  // `start` takes SIGTERM once docking has started (after the API listens): stop it only then.
  await waitFor(() => first.events('dock.start').length >= 1, 'docking started')
  await new Promise((r) => setTimeout(r, 500))
  t.equal(await first.stop(), 0, 'the first daemon stopped cleanly')
  let c = readCatalog(data)
  t.match(c.outbox, [{ kind: 'low-disk', state: 'pending' }], 'the notice is still pending in the catalog')
  t.ok(c.outbox[0]!.attempts >= 2, `${c.outbox[0]!.attempts} attempt(s) made before the stop`)
  t.same(c.events, [], 'no notice-sent yet')
  await hook.up()
  const second = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir, config })
  await waitFor(() => hook.got.length >= 1, 'the pending notice delivered by the restarted daemon', 30_000)
  await new Promise((r) => setTimeout(r, 2500))
  await waitFor(() => second.events('dock.start').length >= 1, 'docking started')
  t.equal(await second.stop(), 0)
  t.equal(hook.got.length, 1, 'received once')
  t.ok(hook.got[0]!.signed, 'signed with the channel secret')
  c = readCatalog(data)
  t.match(c.outbox, [{ kind: 'low-disk', state: 'sent' }])
  t.equal(c.events.length, 1, 'one notice-sent event')
  t.match(c.events[0], { kind: 'low-disk', channel: 'webhook:duty-desk' })
  t.ok(c.events[0]!.attempts >= 2, `delivered at attempt ${c.events[0]!.attempts}, counting those before the restart`)
})

t.test('bodyvault notify test sends a test notice on every channel and says what each answered', async (t) => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const hook = await webhookReceiver(t, SECRET, { port: 0 })
  const mail = await smtpServer(t, 'bv', 'smtp-secret-password')
  const deadPort = await freePort()
  const cfg = join(dir, 'notify.json')
  writeFileSync(
    cfg,
    JSON.stringify({
      docking: { mountRoots: [join(dir, 'no-cameras-here')] },
      notify: {
        channels: [
          { type: 'webhook', name: 'desk', url: hook.url, secret: { env: 'BV_HOOK_SECRET' } },
          { type: 'webhook', name: 'gone', url: `http://127.0.0.1:${deadPort}/x`, secret: { env: 'BV_HOOK_SECRET' } },
          {
            type: 'smtp',
            name: 'chiefs',
            host: '127.0.0.1',
            port: mail.port,
            secure: false,
            from: 'bv@station.example',
            to: ['chief@station.example'],
            auth: { user: 'bv', password: { env: 'BV_SMTP_PASSWORD' } },
          },
        ],
      },
    }),
  )
  const run = async (args: string[], env: Record<string, string> = {}) => {
    // Spawned, not spawnSync: the receivers in this process must answer while the CLI runs.
    const child = spawnCli(
      args,
      { BODYVAULT_DATA_DIR: data, BV_HOOK_SECRET: SECRET, BV_SMTP_PASSWORD: 'smtp-secret-password', ...env },
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout!.on('data', (b: Buffer) => (out += b))
    child.stderr!.on('data', (b: Buffer) => (err += b))
    const [code] = (await once(child, 'exit')) as [number]
    return { code, out, err }
  }
  emptyVault(t, data)
  const r = await run(['notify', 'test', '--config', cfg])
  t.comment(r.out.trim())
  t.equal(r.code, 1, 'one channel failed: exit 1')
  t.match(r.out, `webhook:desk (${new URL(hook.url).origin}): delivered`)
  t.match(r.out, /webhook:gone \(http:\/\/127\.0\.0\.1:\d+\): FAILED: the webhook could not be reached: ECONNREFUSED/)
  t.match(r.out, 'smtp:chiefs (chief@station.example): delivered')
  t.equal(hook.got.length, 1)
  t.equal(hook.got[0]!.json.kind, 'test')
  t.ok(hook.got[0]!.signed)
  t.equal(mail.mails.length, 1)
  t.match(mail.mails[0]!.subject, /通知测试.*test notice/)
  const s = await run(['notify', 'status', '--config', cfg, '--json'])
  t.equal(s.code, 0)
  const st = JSON.parse(s.out) as { sent: { kind: string; channel: string }[] }
  t.same(st.sent.map((x) => x.channel).sort(), ['smtp:chiefs', 'webhook:desk'], 'status lists the two delivered')
  const bad = await run(['notify', 'test', '--config', cfg], { BV_SMTP_PASSWORD: '' })
  t.equal(bad.code, 2, 'a missing secret is a configuration error')
  t.match(bad.err, 'notify channel smtp:chiefs (auth.password): the variable BV_SMTP_PASSWORD is not set')
  t.notMatch(bad.err + r.out + r.err, SECRET, 'no secret printed')
})
