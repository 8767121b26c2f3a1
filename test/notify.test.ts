// Notices through real channels on 127.0.0.1 (test/notify-support.ts): a
// webhook receiver that checks the HMAC itself and an SMTP server with AUTH.
// The threats: a receiver that is down loses the notice, or gets it twice;
// a failing object is re-notified every minute; the weekly list leaves out
// what is due, or lists what is not; a secret leaks into the ledger.
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DateTime } from 'luxon'
import t, { type Test } from 'tap'
import { outboxCounts, sentNotices } from '../src/catalog/notices.js'
import { silentLogger } from '../src/common/log.js'
import type { Config } from '../src/config/load.js'
import { runFixity } from '../src/fixity/job.js'
import { ingestCamera } from '../src/ingest/session.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { noticeDigest } from '../src/notify/notice.js'
import type { NotifyConfigFile } from '../src/notify/settings.js'
import { setCategory } from '../src/retention/actions.js'
import { startNotices } from '../src/station/daemon.js'
import { openStation, type Station } from '../src/station/station.js'
import { freePort, waitFor } from './daemon-support.js'
import { flipByte } from './fixity-support.js'
import { GAT947, tempDir, testConfig } from './helpers.js'
import { smtpServer, webhookReceiver } from './notify-support.js'

const SECRET = 'receiver-shared-secret-0123456789'
const PASSWORD = 'mail-password-9876543210'

function openWith(t: Test, notify: NotifyConfigFile): { st: Station } {
  const dir = tempDir(t, 'bv-notify-')
  const base = testConfig(join(dir, 'data'))
  const config: Config = { ...base, notify }
  const st = openStation({ config, logger: silentLogger() })
  t.teardown(() => st.close())
  return { st }
}

function secretFile(dir: string, name: string, value: string): string {
  const p = join(dir, name)
  writeFileSync(p, `${value}\n`, { mode: 0o600 })
  return p
}

/** gat947-named files of random bytes, recorded at these station-local times (yyyyMMddHHmmss). */
async function ingestAt(t: Test, st: Station, times: string[]): Promise<number[]> {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (const [i, time] of times.entries())
    writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_${time}_${String(i + 1).padStart(4, '0')}.MP4`), randomBytes(20_000 + i))
  const r = await ingestCamera(st.ingestContext, { root: cam, profile: GAT947 })
  return r.ingested.map((x) => x.id)
}

/** A folder for secret files (the config names them before the station opens). */
const dir0 = (t: Test): string => tempDir(t, 'bv-secrets-')

const noticeEvents = (st: Station) => eventsFor(st.db, `station:${st.cfg.station.id}`).filter((e) => e.type === 'notice-sent')
const ledgerText = (st: Station): string => JSON.stringify(st.db.prepare('SELECT payload FROM events').all())

t.test('a webhook down for the first attempts: retried with backoff, delivered once when it is up, one notice-sent', async (t) => {
  const port = await freePort()
  const hook = await webhookReceiver(t, SECRET, { port, down: true })
  const { st } = openWith(t, {
    channels: [{ type: 'webhook', name: 'duty-desk', url: hook.url, secret: { file: secretFile(dir0(t), 'hook.secret', SECRET) }, kinds: ['low-disk'] }],
    checkSeconds: 1,
    retry: { baseSeconds: 1, maxAttempts: 10 },
    lowDiskBytes: Number.MAX_SAFE_INTEGER, // every disk is "low": a notice at once
  })
  const jobs = startNotices(st)!
  t.teardown(() => jobs.stop())
  const row = () =>
    st.db.prepare("SELECT attempts, state, last_error AS err, next_at AS nextAt FROM notice_outbox WHERE kind = 'low-disk'").get() as
      | { attempts: number; state: string; err: string; nextAt: string }
      | undefined
  await waitFor(() => (row()?.attempts ?? 0) >= 2, 'two failed attempts while the receiver is down', 30_000)
  const down = row()!
  t.comment(`while down: ${down.attempts} attempts, last error "${down.err}", next at ${down.nextAt}`)
  t.equal(down.state, 'pending', 'still pending, not given up')
  t.equal(noticeEvents(st).length, 0, 'no notice-sent while nothing was delivered')
  t.equal(hook.got.length, 0)
  await hook.up()
  await waitFor(() => hook.got.length >= 1, 'the notice delivered once the receiver is up', 30_000)
  await waitFor(() => row()?.state === 'sent', 'the outbox row marked sent')
  // Several more checks: the same notice (kind, key, channel) is never sent again.
  await new Promise((r) => setTimeout(r, 3500))
  t.equal(hook.got.length, 1, 'received exactly once')
  const h = hook.got[0]!
  t.ok(h.signed, "the receiver's own HMAC over timestamp.body matches X-Bodyvault-Signature")
  t.equal(h.json.kind, 'low-disk')
  t.equal(h.headers['x-bodyvault-notice'], `low-disk/${h.json.key}`, 'the idempotency header names kind and key')
  t.match(h.json.text, /存储盘剩余.*\n.*The vault's disk/s, 'Chinese first, then English')
  const ev = noticeEvents(st)
  t.equal(ev.length, 1, 'one notice-sent event')
  t.match(ev[0]!.payload, { kind: 'low-disk', channel: 'webhook:duty-desk', to: `http://127.0.0.1:${port}`, attempts: row()!.attempts })
  const payload = ev[0]!.payload as { attempts: number; digest: string }
  t.ok(payload.attempts >= 3, `delivered at attempt ${payload.attempts}, after the failures`)
  t.equal(payload.digest, noticeDigest(h.body), 'the digest is of the body the receiver got')
  t.same(
    sentNotices(st.db).map((n) => [n.kind, n.channel, n.eventSeq]),
    [['low-disk', 'webhook:duty-desk', ev[0]!.seq]],
    'the notices table names the event',
  )
  t.notMatch(ledgerText(st), SECRET, 'the secret is nowhere in the ledger')
  t.notMatch(ledgerText(st), '/bodyvault/notices', "the webhook's path (which may carry a token) is not in the ledger")
})

t.test('a fixity failure is sent at once, once: not again at every check; a new failure after a repair is news again', async (t) => {
  const hook = await webhookReceiver(t, SECRET, { port: 0 })
  const { st } = openWith(t, {
    channels: [{ type: 'webhook', name: 'ops', url: hook.url, secret: { env: 'BV_TEST_HOOK_SECRET' } }],
    checkSeconds: 1,
    retry: { baseSeconds: 1, maxAttempts: 3 },
  })
  process.env.BV_TEST_HOOK_SECRET = SECRET
  t.teardown(() => {
    delete process.env.BV_TEST_HOOK_SECRET
  })
  const [id] = await ingestAt(t, st, [DateTime.now().setZone('Asia/Shanghai').minus({ days: 1 }).toFormat('yyyyMMddHHmmss')])
  const sha = (st.db.prepare('SELECT sha256 FROM recordings WHERE id = ?').get(id) as { sha256: string }).sha256
  flipByte(st.vault.objectPath(sha), 100)
  const run = await runFixity(st.fixity, { scope: 'all', trigger: 'manual' })
  t.equal(run.failed, 1, 'the fixity check found the flipped byte')
  const jobs = startNotices(st)!
  t.teardown(() => jobs.stop())
  await waitFor(() => hook.got.some((h) => h.json.kind === 'fixity-failure'), 'the fixity notice', 30_000)
  await new Promise((r) => setTimeout(r, 4000)) // four more checks
  const fx = hook.got.filter((h) => h.json.kind === 'fixity-failure')
  t.equal(fx.length, 1, 'one fixity notice after five checks')
  t.ok(fx[0]!.signed)
  t.match(fx[0]!.json.text, sha, 'names the object')
  t.match(fx[0]!.json.text, `记录 recordings ${id}`, 'and its recording')
  t.equal(noticeEvents(st).filter((e) => e.payload.kind === 'fixity-failure').length, 1, 'one notice-sent for it')
  // The object repaired (its row cleared), then failing again later: that is a new failure.
  st.db.prepare('UPDATE object_fixity SET failed_at = NULL, failure = NULL WHERE sha256 = ?').run(sha)
  await runFixity(st.fixity, { scope: 'all', trigger: 'manual' })
  await waitFor(() => hook.got.filter((h) => h.json.kind === 'fixity-failure').length === 2, 'the second failure notified', 30_000)
  t.not(hook.got.filter((h) => h.json.kind === 'fixity-failure')[1]!.json.key, fx[0]!.json.key, 'a new key for the new failure')
})

t.test('the weekly deletions notice by mail (SMTP AUTH) lists what the purge deletes in the next 7 days, and only that', async (t) => {
  const mail = await smtpServer(t, 'bodyvault', PASSWORD)
  const secrets = dir0(t)
  const { st } = openWith(t, {
    channels: [
      {
        type: 'smtp',
        name: 'supervisors',
        host: '127.0.0.1',
        port: mail.port,
        secure: false,
        from: 'bodyvault@station.example',
        to: ['duty@station.example', 'chief@station.example'],
        auth: { user: 'bodyvault', password: { file: secretFile(secrets, 'smtp.password', PASSWORD) } },
      },
    ],
  })
  const when = (months: number, days: number) => DateTime.now().setZone('Asia/Shanghai').minus({ months, days }).set({ hour: 9 }).toFormat('yyyyMMddHHmmss')
  // Patrol is kept 6 months, then 7 days' grace: 6 months + 3 days ago goes in ~5 days; 6 months + 20 days ago is purgeable now
  // (the next purge); 6 months - 3 days ago goes in ~11 days; a month ago in ~5 months.
  const ids = await ingestAt(t, st, [when(6, 3), when(6, 20), when(5, 27), when(1, 0)])
  const now = new Date()
  for (const id of ids) setCategory({ db: st.db, policy: st.policy, actor: 'user:clerk', now }, id, 'patrol', 'routine patrol')
  const n = st.notifier()!
  t.teardown(() => n.close())
  t.equal(n.weekly(), 1, 'queued on the one channel')
  t.same(await n.deliverDue(), { sent: 1, failed: 0 })
  t.equal(n.weekly(), 0, 'run again the same day: nothing new (sent once)')
  t.equal(mail.mails.length, 1)
  const m = mail.mails[0]!
  t.same(m.to, ['duty@station.example', 'chief@station.example'])
  t.match(m.subject, /未来 7 天将删除 2 条记录.*2 recording\(s\) to be deleted/, `subject: ${m.subject}`)
  const listed = [...m.text.matchAll(/^#(\d+) /gm)].map((x) => Number(x[1]))
  t.same(listed.sort(), [ids[0], ids[1]].sort(), 'lists the two due within 7 days, not the one due in 11 days or 5 months')
  for (const id of [ids[0]!, ids[1]!]) {
    const sha = (st.db.prepare('SELECT sha256 FROM recordings WHERE id = ?').get(id) as { sha256: string }).sha256
    t.match(m.text, sha, `recording ${id}'s hash listed`)
  }
  t.match(m.text, '依据 rule:', 'the deciding rule named')
  t.match(m.noticeHeader, /^deletions-due\//)
  t.equal(JSON.parse(m.attachment).kind, 'deletions-due', 'the notice as JSON beside the text')
  const ev = noticeEvents(st)
  t.equal(ev.length, 1)
  t.match(ev[0]!.payload, { kind: 'deletions-due', channel: 'smtp:supervisors', to: 'duty@station.example, chief@station.example', items: 2, attempts: 1 })
  t.notMatch(ledgerText(st), PASSWORD, 'the SMTP password is nowhere in the ledger')
})

t.test('a wrong SMTP password: not delivered, retried, given up after the last attempt, not queued again', async (t) => {
  const mail = await smtpServer(t, 'bodyvault', PASSWORD)
  const secrets = dir0(t)
  const { st } = openWith(t, {
    channels: [
      {
        type: 'smtp',
        name: 'supervisors',
        host: '127.0.0.1',
        port: mail.port,
        secure: false,
        from: 'bodyvault@station.example',
        to: ['duty@station.example'],
        auth: { user: 'bodyvault', password: { file: secretFile(secrets, 'smtp.password', 'not-the-password') } },
      },
    ],
    retry: { baseSeconds: 1, maxAttempts: 2 },
    lowDiskBytes: Number.MAX_SAFE_INTEGER,
  })
  const n = st.notifier()!
  t.teardown(() => n.close())
  await n.checkNow()
  t.same(await n.deliverDue(), { sent: 0, failed: 1 })
  t.same(outboxCounts(st.db).pending, 1, 'pending after the first failure')
  await new Promise((r) => setTimeout(r, 1100))
  t.same(await n.deliverDue(), { sent: 0, failed: 1 })
  t.match(outboxCounts(st.db), { pending: 0, givenUp: 1 }, 'given up after the second of two attempts')
  t.equal(mail.mails.length, 0)
  t.equal(noticeEvents(st).length, 0, 'nothing in the ledger: nothing was sent')
  await n.checkNow()
  t.same(await n.deliverDue(), { sent: 0, failed: 0 }, 'the given-up notice is not queued again the same day')
})
