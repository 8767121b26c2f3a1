// The running daemon (a real `bodyvault start` child process) and real
// ext4 images on loop devices mounted under its watched root: ingest with no
// command given; a lazy unmount mid-copy ends the session incomplete with no
// partial object and no wipe; the remount resumes, completes, then wipes
// (the test profile says so) and records camera-wiped. Skips where mounting
// is not permitted.
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { cannotMount, loopReleased, makeImage, mountImage, objectsIntact, staging, startDaemon, umountLazy, waitFor } from './daemon-support.js'
import { cli, makeCamera, ROOT, sha256File, tempDir } from './helpers.js'

const why = cannotMount()
const skip = why ? `daemon mount tests need loop mounts: ${why}` : false
t.test('a loop-mounted camera under the watched root is ingested with no command given', { skip }, async (t) => {
  const dir = tempDir(t)
  const cam = await makeCamera(join(dir, 'cam'))
  const img = makeImage(cam, join(dir, 'cam.img'))
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })
  t.same((await d.status()).cameras, [], 'nothing docked yet')
  mountImage(t, img, join(root, 'CAM1'))
  const cam1 = await waitFor(async () => (await d.status()).cameras.find((c) => c.state === 'safe-to-undock'), 'safe-to-undock', 120_000)
  t.match(cam1, {
    volume: join(root, 'CAM1'),
    volumeKind: 'mount',
    profileId: 'gat947',
    profileBy: 'markers',
    deviceId: 'A1B2C3D',
    officerId: '012345',
    lastError: null,
    wiped: false,
  })
  t.equal(cam1.files.done, cam1.files.total)
  t.equal(cam1.bytes.done, cam1.bytes.total)
  const states = d.events('camera.state').map((e) => e.to)
  t.same(states, ['detected', 'queued', 'copying', 'verifying', 'safe-to-undock'], 'every state change is logged, one event per line')
  const v = cli(['verify', '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(v.code, 0, v.stderr)
  t.equal((JSON.parse(v.stdout) as { checked: { recordings: number } }).checked.recordings, cam1.files.total)
  umountLazy(join(root, 'CAM1'))
  const st = await waitFor(async () => {
    const s = await d.status()
    return s.cameras.length === 0 && s.recent.length === 1 ? s : undefined
  }, 'the undock')
  t.match(st.recent[0], { outcome: 'complete', lastState: 'safe-to-undock', deviceId: 'A1B2C3D' })
  t.equal(await d.stop(), 0, 'SIGTERM: exit code 0')
})

t.test('unplugged mid-copy: incomplete, no partial object, no wipe; re-docked: resumes, completes, then wipes', { skip }, async (t) => {
  const dir = tempDir(t)
  const cam = await makeCamera(join(dir, 'cam'), ['--size', '300M'])
  const mediaOnCamera = (p: string): string[] => readdirSync(p, { recursive: true, encoding: 'utf8' }).filter((n) => /\.(mp4|avi|wav|jpg|srt)$/i.test(n))
  const total = mediaOnCamera(cam).length
  const img = makeImage(cam, join(dir, 'cam.img'))
  // A profile that wipes after a complete ingest: proves that an incomplete one never does.
  const profiles = join(dir, 'profiles')
  mkdirSync(profiles)
  const gat = JSON.parse(readFileSync(join(ROOT, 'docking/gat947.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(join(profiles, 'gat947-wipe.json'), JSON.stringify({ ...gat, id: 'gat947-wipe', readOnly: false, wipeAfterIngest: true }))
  const root = join(dir, 'media')
  const mp = join(root, 'CAM1')
  mkdirSync(root)
  const data = join(dir, 'data')
  const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir, docking: { profilesDir: profiles, defaultProfile: 'gat947-wipe' } })

  mountImage(t, img, mp, { rw: true })
  const during = await waitFor(
    async () => (await d.status()).cameras.find((c) => c.state === 'copying' && c.bytes.done > c.bytes.total * 0.1),
    'a tenth copied',
    60_000,
    10,
  )
  umountLazy(mp)
  t.ok(during.bytes.done < during.bytes.total, `unmounted mid-copy (${during.bytes.done} of ${during.bytes.total} bytes)`)
  const st = await waitFor(async () => {
    const s = await d.status()
    return s.cameras.length === 0 && s.recent.length === 1 ? s : undefined
  }, 'the camera to be undocked')
  const first = st.recent[0]!
  t.match(first, { outcome: 'incomplete', lastState: 'copying', lastError: /volume vanished/ })
  await waitFor(() => staging(data).length === 0, 'the file in flight to be rolled back (staging empty)', 20_000)
  await loopReleased(img)
  const objects = objectsIntact(data, sha256File)
  t.same(objects.bad, [], 'every object in the vault hashes to its name: no partial object')
  const db = new Database(join(data, 'catalog.db'), { readonly: true })
  t.teardown(() => db.close())
  const s1 = db.prepare('SELECT state, files_ingested AS ingested, files_failed AS failed FROM ingest_sessions WHERE id = ?').get(first.sessionId) as {
    state: string
    ingested: number
    failed: number
  }
  t.equal(s1.state, 'incomplete')
  t.ok(s1.ingested < total && s1.failed > 0, `session 1: ${s1.ingested} committed, ${s1.failed} not`)
  t.equal((db.prepare("SELECT count(*) AS n FROM events WHERE type = 'camera-wiped'").get() as { n: number }).n, 0, 'no wipe')
  t.ok(
    d.events('camera.undocked').some((e) => e.safe === false),
    'the early undock is logged as unsafe',
  )

  mountImage(t, img, mp, { rw: true })
  const done = await waitFor(async () => (await d.status()).cameras.find((c) => c.state === 'safe-to-undock'), 'the re-docked camera to complete', 120_000)
  t.equal(done.files.total, total, 'every file was still on the camera: nothing was wiped after the incomplete session')
  t.equal(done.wiped, true)
  const s2 = db.prepare('SELECT state, files_ingested AS ingested, files_present AS present FROM ingest_sessions WHERE id = ?').get(done.sessionId) as {
    state: string
    ingested: number
    present: number
  }
  t.same(s2, { state: 'complete', ingested: total - s1.ingested, present: s1.ingested }, 'resumed: what was committed is only re-hashed, the rest is copied')
  const wiped = db.prepare("SELECT payload FROM events WHERE type = 'camera-wiped'").all() as { payload: string }[]
  t.equal(wiped.length, 1, 'one camera-wiped event, after the complete session')
  const payload = JSON.parse(wiped[0]!.payload) as { sessionId: number; files: unknown[]; failed: unknown[]; deviceId: string }
  t.match(payload, { sessionId: done.sessionId, deviceId: 'A1B2C3D', failed: [] })
  t.equal(payload.files.length, total)
  t.same(mediaOnCamera(mp), [], 'the camera holds no media any more')
  const v = cli(['verify', '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(v.code, 0, v.stdout + v.stderr)
  t.equal(await d.stop(), 0)
})
