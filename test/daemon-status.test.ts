// Station status over HTTP from the running daemon (a real `bodyvault start`
// child process; cameras appear as folders under its mount root, so no
// mount is needed): the JSON shape and the states, `bodyvault status`, an
// error state, clock drift, SIGTERM mid-copy, and no daemon running.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import type { CameraStatus, StationStatus } from '../src/dock/status.js'
import { freePort, placeFolder, renameDevice, staging, startDaemon, waitFor } from './daemon-support.js'
import { cli, makeCamera, tempDir } from './helpers.js'

const CAMERA_KEYS = [
  'bytes',
  'clockDrift',
  'deviceId',
  'dockedAt',
  'etaSec',
  'files',
  'id',
  'lastError',
  'officerId',
  'officerName',
  'profileBy',
  'profileId',
  'rateBytesPerSec',
  'sessionId',
  'stalledReadSec',
  'state',
  'stateSince',
  'unitCode',
  'unitName',
  'usb',
  'volume',
  'volumeKind',
  'wiped',
]
const STATION_KEYS = ['cameras', 'mountRoots', 'now', 'recent', 'scheduler', 'startedAt', 'station', 'stopping', 'usb']

t.test('station status', async (t) => {
  const shared = tempDir(t)
  const big = await makeCamera(join(shared, 'big'), ['--size', '300M'])

  t.test('GET /v1/station and `bodyvault status`: shape, states, rate and ETA while copying', async (t) => {
    const dir = tempDir(t)
    const root = join(dir, 'media')
    mkdirSync(root)
    const data = join(dir, 'data')
    const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })
    const idle = await d.status()
    t.same(Object.keys(idle).sort(), STATION_KEYS)
    t.match(idle, {
      station: { id: 'station-01' },
      stopping: false,
      mountRoots: [root],
      cameras: [],
      recent: [],
      scheduler: { concurrency: 8, active: 0, queued: 0, diskStreams: 8 },
    })
    t.equal(typeof idle.usb.available, 'boolean')
    const health = await fetch(`${d.url}/healthz`)
    t.same(await health.json(), { ok: true })

    placeFolder(big, join(root, 'CAM1'))
    const seen: CameraStatus[] = []
    const done = await waitFor(
      async () => {
        const s = await d.status()
        const c = s.cameras[0]
        if (c) seen.push(c)
        return c?.state === 'safe-to-undock' ? c : undefined
      },
      'safe-to-undock',
      120_000,
      10,
    )
    t.same(Object.keys(done).sort(), CAMERA_KEYS)
    t.match(done, {
      volume: join(root, 'CAM1'),
      volumeKind: 'folder',
      usb: null,
      profileId: 'gat947',
      profileBy: 'markers',
      deviceId: 'A1B2C3D',
      officerId: '012345',
      lastError: null,
      wiped: false,
      rateBytesPerSec: null,
      etaSec: null,
      clockDrift: { flagged: false, aheadSec: 0 },
    })
    t.equal(done.bytes.done, done.bytes.total)
    t.ok(done.bytes.total > 300 << 20)
    t.equal(typeof done.sessionId, 'number')
    const copying = seen.filter((c) => c.state === 'copying' && c.rateBytesPerSec !== null)
    t.ok(copying.length > 0, `rate seen while copying (${seen.length} polls)`)
    const mid = copying[Math.floor(copying.length / 2)]
    if (mid) {
      t.ok(mid.rateBytesPerSec! > 0 && mid.etaSec !== null && mid.etaSec >= 0, `rate ${mid.rateBytesPerSec} B/s, ETA ${mid.etaSec} s`)
      t.ok(mid.bytes.done < mid.bytes.total)
    }
    const order = [...new Set(d.events('camera.state').map((e) => e.to))]
    t.same(order, ['detected', 'queued', 'copying', 'verifying', 'safe-to-undock'])

    const env = { BODYVAULT_LISTEN: d.url.replace('http://', ''), BODYVAULT_DATA_DIR: data }
    const json = cli(['status', '--json'], env)
    t.equal(json.code, 0, json.stderr)
    const st = JSON.parse(json.stdout) as StationStatus & { fixity?: { objects: number; failed: number } }
    // `status --json` is the station's status plus the fixity check (/v1/station/fixity).
    t.same(Object.keys(st).sort(), [...STATION_KEYS, 'fixity'].sort())
    t.match(st.fixity, { objects: Number, failed: 0, warning: null }, 'with the fixity state: nothing bad')
    t.equal(st.cameras[0]?.state, 'safe-to-undock')
    const human = cli(['status'], env)
    t.equal(human.code, 0)
    t.match(human.stdout, /cam-1 +safe-to-undock +A1B2C3D +012345 +9\/9/)
    t.match(human.stdout, /cam-1: SAFE TO UNDOCK: every file is verified in the vault/)

    // The same daemon (a start less: 2 to 6 s of wall each on 2 shared cores): what reads /v1/station.
    await t.test("/v1/station needs a credential: a token, or the daemon's station-local one, which reads status and nothing else", async (t) => {
      t.equal((await fetch(`${d.url}/v1/station`)).status, 401, 'no credential')
      const secret = readFileSync(join(data, 'run', 'status.secret'), 'utf8').trim()
      t.equal(statSync(join(data, 'run', 'status.secret')).mode & 0o777, 0o600)
      const auth = { authorization: `Bearer ${secret}` }
      t.equal((await fetch(`${d.url}/v1/station`, { headers: auth })).status, 200)
      t.equal((await fetch(`${d.url}/v1/recordings`, { headers: auth })).status, 403, 'the station-local credential reads status only')
      for (const path of ['/metrics', '/docs/json']) t.equal((await fetch(`${d.url}${path}`, { headers: auth })).status, 403, `not ${path} either`)
      const tok = JSON.parse(cli(['token', 'create', '--role', 'clerk', '--name', 'desk', '--json'], { BODYVAULT_DATA_DIR: data }).stdout) as { token: string }
      t.equal((await fetch(`${d.url}/v1/recordings`, { headers: { authorization: `Bearer ${tok.token}` } })).status, 200, 'the daemon serves the lookup API')
      t.match(cli(['status'], { BODYVAULT_LISTEN: d.url.replace('http://', ''), BODYVAULT_DATA_DIR: join(dir, 'elsewhere') }), {
        code: 3,
        stderr: /wants a credential/,
      })
    })
    t.equal(await d.stop(), 0)
    t.notOk(existsSync(join(data, 'run', 'status.secret')), 'the station-local credential is removed at stop')
  })

  t.test('SIGTERM mid-copy: stop taking work, roll back the file in flight, exit 0', async (t) => {
    const dir = tempDir(t)
    const root = join(dir, 'media')
    mkdirSync(root)
    const data = join(dir, 'data')
    const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })
    placeFolder(big, join(root, 'CAM1'))
    const mid = await waitFor(
      async () => (await d.status()).cameras.find((c) => c.state === 'copying' && c.bytes.done > c.bytes.total * 0.1),
      'a tenth copied',
      60_000,
      10,
    )
    t.ok(mid.bytes.done < mid.bytes.total)
    const code = await d.stop('SIGTERM')
    t.equal(code, 0, 'exit code 0')
    t.same(staging(data), [], 'nothing left in staging: the file in flight was rolled back')
    t.ok(d.events('dock.stopped').length === 1)
    const db = new Database(join(data, 'catalog.db'), { readonly: true })
    t.teardown(() => db.close())
    const s = db.prepare('SELECT state, files_ingested AS n, files_seen AS seen FROM ingest_sessions').all() as { state: string; n: number; seen: number }[]
    t.equal(s.length, 1)
    t.equal(s[0]!.state, 'incomplete')
    t.ok(s[0]!.n < s[0]!.seen)
    const v = cli(['verify', '--json'], { BODYVAULT_DATA_DIR: data })
    t.equal(v.code, 0, v.stdout)
  })

  t.test('error state with a message that says what to do; clock drift flagged', async (t) => {
    const dir = tempDir(t)
    const small = await makeCamera(join(dir, 'small'))
    const future = renameDevice(small, join(dir, 'future'), '20261120', '20301120')
    const root = join(dir, 'media')
    mkdirSync(root)
    const data = join(dir, 'data')
    const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })
    placeFolder(future, join(root, 'FUTURE'))
    const drifted = await waitFor(async () => (await d.status()).cameras.find((c) => c.state === 'safe-to-undock'), 'the drifted camera', 60_000)
    t.equal(drifted.clockDrift?.flagged, true)
    t.ok(drifted.clockDrift!.aheadSec > 365 * 86400, `${drifted.clockDrift!.aheadSec} s ahead`)
    t.match(drifted.clockDrift?.newest, /^2030-11-20T/)
    t.equal(d.events('camera.clock_drift').length, 1, 'logged')
    const env = { BODYVAULT_LISTEN: d.url.replace('http://', ''), BODYVAULT_DATA_DIR: data }
    t.match(cli(['status'], env).stdout, /cam-1: camera clock runs .* ahead of the station: set the camera clock/)
    t.equal(await d.stop(), 0)

    // The same data dir, a daemon that must keep more free space than the disk has: the copy cannot start.
    const d2 = await startDaemon(t, {
      dataDir: data,
      roots: [join(dir, 'media2')],
      configDir: dir,
      config: { ingest: { minFreeBytes: Number.MAX_SAFE_INTEGER } },
    })
    mkdirSync(join(dir, 'media2'))
    placeFolder(small, join(dir, 'media2', 'CAM'))
    const err = await waitFor(async () => (await d2.status()).cameras.find((c) => c.state === 'error'), 'the error state', 60_000)
    t.match(err.lastError, /the data disk is full .*free space in .* or move dataDir to a larger disk.*undock and dock the camera again to retry/)
    t.match(cli(['status'], { BODYVAULT_LISTEN: d2.url.replace('http://', ''), BODYVAULT_DATA_DIR: data }).stdout, /cam-1 +error/)
    t.ok(
      d2.events('camera.state').some((e) => e.to === 'error' && typeof e.error === 'string'),
      'the error is in the log line',
    )
    t.equal(await d2.stop(), 0)
  })

  t.test('`bodyvault status` with no daemon running says so', async (t) => {
    const port = await freePort()
    const r = cli(['status'], { BODYVAULT_LISTEN: `127.0.0.1:${port}` })
    t.equal(r.code, 3)
    t.match(
      r.stderr,
      new RegExp(`no bodyvault daemon is running at http://127\\.0\\.0\\.1:${port} \\(nothing answers there\\): start one with \`bodyvault start\``),
    )
    t.equal(r.stdout, '')
  })
})
