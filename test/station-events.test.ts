// /v1/station/events, the kiosk role and the web front end's static files,
// over real HTTP against a real StationDaemon (folders docked under its own
// mount root). What would make them false: a state change that never
// reaches the stream or reaches it late, progress that floods it, a stream
// that keeps the daemon from stopping, a kiosk token that reads more than
// station status, a page that needs a token or a path that escapes web/dist.
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { pino } from 'pino'
import t from 'tap'
import { buildApi } from '../src/api/app.js'
import type { Role } from '../src/api/roles.js'
import { stationRoutes } from '../src/api/server.js'
import { stationEventRoutes } from '../src/api/station-events.js'
import { createToken } from '../src/api/tokens.js'
import { openCatalog } from '../src/catalog/db.js'
import { migrations } from '../src/catalog/migrations.js'
import type { StationStatus } from '../src/dock/status.js'
import { FakeUsbBackend } from '../src/dock/usb.js'
import { openStation } from '../src/station/station.js'
import { webRoot, webRoutes } from '../src/web/static.js'
import { daemonConfig, placeFolder, waitFor } from './daemon-support.js'
import { cli, emptyVault, makeCamera, personToken, tempDir } from './helpers.js'

/** Reads a server-sent event stream; `events` fills as `status` events arrive, each stamped with its arrival. */
async function follow(url: string, token: string): Promise<{ events: { at: number; status: StationStatus }[]; ended: Promise<void>; stop(): void }> {
  const abort = new AbortController()
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal })
  if (res.status !== 200 || !res.body) throw new Error(`HTTP ${res.status}`)
  if (!String(res.headers.get('content-type')).startsWith('text/event-stream')) throw new Error(`content-type ${res.headers.get('content-type')}`)
  const events: { at: number; status: StationStatus }[] = []
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  const ended = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buf += value
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          if (!/^event: status$/m.test(block)) continue
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n')
          events.push({ at: Date.now(), status: JSON.parse(data) as StationStatus })
        }
      }
    } catch {
      // aborted by stop()
    }
  })()
  return { events, ended, stop: () => abort.abort() }
}

const dir = tempDir(t, 'bv-events-')
const root = join(dir, 'media')
mkdirSync(root)
const logs: { event?: string; camera?: string; to?: string; time: number }[] = []
const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as (typeof logs)[number]) })
const st = openStation({ config: daemonConfig(join(dir, 'data'), [root]), logger })
const dock = st.dock({ usb: new FakeUsbBackend('no USB in this test') })
const apiDeps = { db: st.db, vault: st.vault, logger, station: st.cfg.station, policy: st.policy, openChecked: st.openChecked, rateLimitPerMinute: 100_000 }
const app = await buildApi(apiDeps, async (app) => {
  await stationRoutes(app, { station: dock })
  await stationEventRoutes(app, { station: dock })
})
await webRoutes(app)
const base = await app.listen({ host: '127.0.0.1', port: 0 })
let closed = false
t.teardown(async () => {
  await dock.stop()
  if (!closed) await app.close()
  st.close()
})
await dock.start()
const roles: Role[] = ['officer', 'clerk', 'supervisor', 'auditor', 'admin', 'kiosk']
const tokens = Object.fromEntries(
  roles
    .filter((r) => r !== 'supervisor')
    .map((r) => [r, createToken(st.db, { name: r, role: r, officerId: r === 'officer' ? '012345' : null, actor: 'test' }).secret]),
) as Record<Role, string>
tokens.supervisor = await personToken(st.db, 'wang.sup', 'supervisor', '020002') // no service account holds a supervisor's role
const get = (path: string, token?: string): Promise<Response> => fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} })

t.test('the kiosk role reads station status and nothing else', async (t) => {
  for (const path of ['/v1/station', '/v1/station/events']) {
    for (const r of roles) {
      const res = await get(path, tokens[r])
      t.equal(res.status, 200, `${r} reads ${path}`)
      await res.body?.cancel()
    }
    t.equal((await get(path)).status, 401, `${path} needs a token`)
  }
  for (const path of ['/v1/recordings', '/v1/stats', '/v1/exports', '/metrics', '/docs/json']) {
    const res = await get(path, tokens.kiosk)
    t.equal(res.status, 403, `kiosk may not read ${path}`)
    t.match(await res.json(), { error: { code: 'FORBIDDEN' } })
  }
})

t.test('each state change reaches the stream within a second, in order; progress is coalesced', async (t) => {
  const cam = await makeCamera(join(dir, 'cam'), ['--size', '200M'])
  const s = await follow(`${base}/v1/station/events`, tokens.kiosk)
  await waitFor(() => s.events.length >= 1, 'the first event')
  t.same(s.events[0]!.status.cameras, [], 'the first event is the whole status, at once')
  const t0 = Date.now()
  placeFolder(cam, join(root, 'CAM1'))
  await dock.rescan()
  await waitFor(() => s.events.some((e) => e.status.cameras.some((c) => c.state === 'safe-to-undock')), 'safe to undock in the stream', 120_000)
  const copyMs = Date.now() - t0
  s.stop()
  const id = s.events.at(-1)!.status.cameras[0]!.id
  const changes = logs.filter((l) => l.event === 'camera.state' && l.camera === id)
  t.same(
    changes.map((c) => c.to),
    ['detected', 'queued', 'copying', 'verifying', 'safe-to-undock'],
  )
  const streamed = s.events.map((e) => ({ at: e.at, state: e.status.cameras.find((c) => c.id === id)?.state }))
  const order = streamed.map((e) => e.state).filter((x, i, a) => x && x !== a[i - 1])
  t.same(order, ['detected', 'queued', 'copying', 'verifying', 'safe-to-undock'], 'every state, in order, none skipped')
  for (const c of changes) {
    const first = streamed.find((e) => e.state === c.to && e.at >= c.time)
    t.ok(first && first.at - c.time < 1000, `${c.to}: in the stream ${first ? first.at - c.time : '(never)'} ms after the daemon`)
  }
  const copying = streamed.filter((e) => e.state === 'copying')
  t.ok(copying.length >= 2, `progress while copying (${copying.length} events)`)
  const bytes = s.events.map((e) => e.status.cameras[0]?.bytes.done ?? 0)
  t.ok(
    bytes.every((b, i) => i === 0 || b >= bytes[i - 1]! || b === 0),
    'bytes only grow',
  )
  // Progress at most every 250 ms, plus one event per state change.
  const bound = Math.ceil(copyMs / 250) + 2 + changes.length
  t.ok(s.events.length <= bound, `${s.events.length} events in ${copyMs} ms (at most ${bound}): progress is coalesced`)
})

t.test('the web front end: pages without a token, hashed assets cached, nothing outside web/dist', async (t) => {
  if (!existsSync(join(webRoot(), 'index.html'))) {
    t.fail('web/dist is not built: scripts/setup builds it')
    return
  }
  for (const path of ['/station', '/']) {
    const res = await get(path)
    t.equal(res.status, 200, `${path} needs no token`)
    t.match(res.headers.get('content-type'), /text\/html/)
    t.match(res.headers.get('content-security-policy'), /script-src 'self'; style-src 'self'/, 'no inline script or style allowed')
    t.equal(res.headers.get('x-frame-options'), 'DENY')
    t.match(res.headers.get('cache-control'), /no-cache/)
    const html = await res.text()
    t.match(html, /<div id="app">/)
    t.notMatch(html, /https?:\/\//, 'nothing from another host (a station is offline)')
  }
  const assets = readdirSync(join(webRoot(), 'assets'))
  const js = assets.find((a) => a.endsWith('.js'))!
  const res = await get(`/assets/${js}`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /javascript/)
  t.match(res.headers.get('cache-control'), /max-age=31536000.*immutable/)
  for (const path of ['/assets/nope.js', '/assets/../index.html', '/assets/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '/package.json']) {
    const r = await get(path)
    t.ok(r.status === 404 || r.status === 403 || r.status === 400, `${path}: ${r.status}`)
    t.notMatch(await r.text(), /"name": ?"bodyvault"/, 'never the package file')
  }
})

t.test('a front end that is not built says what to do', async (t) => {
  const bare = await buildApi(apiDeps)
  await webRoutes(bare, { root: join(dir, 'not-built') })
  const r = await bare.inject({ url: '/station' })
  t.equal(r.statusCode, 503)
  t.match(r.json(), { error: { code: 'WEB_NOT_BUILT', message: /scripts\/setup/ } })
  await bare.close()
})

t.test('closing the server ends open streams: a stop never waits on a dock screen', async (t) => {
  const a = await follow(`${base}/v1/station/events`, tokens.kiosk)
  const b = await follow(`${base}/v1/station/events`, tokens.clerk)
  await waitFor(() => a.events.length >= 1 && b.events.length >= 1, 'both streams')
  const t0 = Date.now()
  await dock.stop()
  await app.close()
  closed = true
  await Promise.all([a.ended, b.ended])
  t.ok(Date.now() - t0 < 5000, `closed in ${Date.now() - t0} ms with two streams open`)
  t.ok(
    a.events.some((e) => e.status.stopping),
    'the stream said the station is stopping',
  )
})

t.test('token create --role kiosk prints the dock screen address with the token in the fragment', async (t) => {
  const env = { BODYVAULT_DATA_DIR: emptyVault(t, join(dir, 'cli-data')) }
  const c = cli(['token', 'create', '--role', 'kiosk', '--name', 'dock 1', '--url', 'http://station-7:8080/'], env)
  t.equal(c.code, 0, c.stderr)
  const token = /^(bv_\S+)$/m.exec(c.stdout)?.[1]
  t.ok(token)
  t.match(c.stdout, `http://station-7:8080/station#token=${token}`)
  const j = cli(['token', 'create', '--role', 'kiosk', '--name', 'dock 2', '--json'], env)
  const tok = JSON.parse(j.stdout) as { role: string; token: string; kioskUrl: string }
  t.equal(tok.role, 'kiosk')
  t.equal(tok.kioskUrl, `http://127.0.0.1:8080/station#token=${tok.token}`, 'without --url: the configured listen address')
  t.notMatch(cli(['token', 'create', '--role', 'clerk', '--name', 'desk', '--json'], env).stdout, /kioskUrl/, 'only kiosk tokens get an address')
})

t.test('migration 9 rebuilds tokens for the kiosk role: same rows and ids, foreign keys kept', async (t) => {
  const path = join(dir, 'v6.db')
  const old = new Database(path)
  old.pragma('foreign_keys = ON')
  for (const m of migrations.filter((m) => m.version <= 6)) {
    old.exec(m.sql)
    old.pragma(`user_version = ${m.version}`)
  }
  old.prepare("INSERT INTO tokens (name, role, officer_id, hash, created_at) VALUES ('desk', 'clerk', NULL, ?, 'then')").run('a'.repeat(64))
  old
    .prepare("INSERT INTO tokens (name, role, officer_id, hash, created_at, revoked_at) VALUES ('li', 'officer', '012345', ?, 'then', 'later')")
    .run('b'.repeat(64))
  old
    .prepare(
      "INSERT INTO export_requests (recording_ids, reason, recipient, requested_by, requested_at, state) VALUES ('[]', 'r', 'court', 2, 'then', 'requested')",
    )
    .run()
  t.throws(() => old.prepare("INSERT INTO tokens (name, role, hash, created_at) VALUES ('k', 'kiosk', ?, 'x')").run('c'.repeat(64)), /CHECK/, 'no kiosk at v6')
  const before = old.prepare('SELECT * FROM tokens ORDER BY id').all()
  old.close()
  const db = openCatalog(path)
  t.teardown(() => db.close())
  t.equal(db.pragma('user_version', { simple: true }), migrations.at(-1)!.version)
  // Migration 16 adds the owning account (user_id) to every token: the columns of before are kept as they were.
  t.same(db.prepare('SELECT id, name, role, officer_id, hash, created_at, revoked_at FROM tokens ORDER BY id').all(), before, 'every row and id kept')
  t.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys back on')
  t.same(db.pragma('foreign_key_check'), [])
  db.prepare("INSERT INTO tokens (name, role, hash, created_at) VALUES ('k', 'kiosk', ?, 'x')").run('c'.repeat(64))
  t.throws(() => db.prepare('DELETE FROM tokens WHERE id = 2').run(), /FOREIGN KEY/, 'export requests still hold their requester')
  t.throws(() => db.prepare("INSERT INTO tokens (name, role, hash, created_at) VALUES ('x', 'janitor', ?, 'x')").run('d'.repeat(64)), /CHECK/)
  t.throws(
    () => db.prepare("INSERT INTO tokens (name, role, hash, created_at) VALUES ('x', 'officer', ?, 'x')").run('e'.repeat(64)),
    /CHECK/,
    'an officer token still needs its officer',
  )
})
