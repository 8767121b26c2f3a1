// Several cameras docked at once through the running daemon (a real
// `bodyvault start` child process, real ext4 images on loop devices): two,
// then eight; every session completes and `bodyvault verify` is clean.
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { cannotMount, makeImage, mountImage, renameDevice, startDaemon, umountLazy, waitFor } from './daemon-support.js'
import { cli, makeCamera, tempDir } from './helpers.js'

const why = cannotMount()
const skip = why ? `multi-dock tests need loop mounts: ${why}` : false
t.test('two, then eight cameras docked at once: all complete, verify clean', { skip }, async (t) => {
  const dir = tempDir(t)
  // Two generated cameras with their own content; six more are copies of them under other device ids.
  const [a, b] = await Promise.all([
    makeCamera(join(dir, 'src-A'), ['--device', 'A000001', '--officer', '100001']),
    makeCamera(join(dir, 'src-B'), ['--device', 'B000002', '--officer', '100002', '--start', '2026-11-21T09:30:00', '--count', '10']),
  ])
  const devices = ['A000001', 'B000002', 'C000003', 'D000004', 'E000005', 'F000006', 'G000007', 'H000008']
  const images = devices.map((dev, i) => {
    const src = i < 2 ? (i === 0 ? a : b) : renameDevice(i % 2 === 0 ? a : b, join(dir, `src-${dev}`), i % 2 === 0 ? 'A000001' : 'B000002', dev)
    return makeImage(src, join(dir, `${dev}.img`))
  })
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir, docking: { concurrency: 4, diskStreams: 2 } })

  const dock = async (which: number[]): Promise<void> => {
    for (const i of which) mountImage(t, images[i]!, join(root, devices[i]!))
    const all = await waitFor(
      async () => {
        const s = await d.status()
        const mine = s.cameras.filter((c) => which.some((i) => c.volume === join(root, devices[i]!)))
        return mine.length === which.length && mine.every((c) => c.state === 'safe-to-undock' || c.state === 'error') ? mine : undefined
      },
      `${which.length} cameras to finish`,
      240_000,
    )
    for (const c of all) t.match(c, { state: 'safe-to-undock', lastError: null }, `${c.deviceId} safe to undock`)
    t.same(all.map((c) => c.deviceId).sort(), which.map((i) => devices[i]).sort(), 'each camera under its own device id')
    for (const i of which) umountLazy(join(root, devices[i]!))
    await waitFor(async () => (await d.status()).cameras.length === 0, 'the undocks')
  }

  await dock([0, 1])
  await dock([0, 1, 2, 3, 4, 5, 6, 7])
  const s = await d.status()
  t.equal(
    s.recent.length,
    10,
    JSON.stringify(s.recent.map((r) => [r.id, r.volume, r.outcome, r.lastState, r.lastError])) +
      JSON.stringify(d.events('volume.added').map((e) => [e.volume, e.kind])),
  )
  t.ok(
    s.recent.every((r) => r.outcome === 'complete'),
    'every docking ended complete',
  )
  t.equal(s.scheduler.active, 0)
  // The concurrency limit held: never more than 4 sessions at once (a session runs from copying until it leaves verifying).
  const active = new Set<unknown>()
  let most = 0
  for (const e of d.events('camera.state')) {
    if (e.to === 'copying') active.add(e.camera)
    else if (e.from === 'copying' || e.from === 'verifying') active.delete(e.camera)
    most = Math.max(most, active.size)
  }
  t.ok(most <= 4 && most >= 2, `at most 4 sessions at once, and more than one (saw ${most})`)
  const v = cli(['verify', '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(v.code, 0, v.stdout.slice(0, 2000) + v.stderr)
  const report = JSON.parse(v.stdout) as { ok: boolean; checked: { recordings: number } }
  t.ok(report.ok)
  const files = (p: string): number => readdirSync(p, { recursive: true, encoding: 'utf8' }).filter((n) => /\.(mp4|avi|wav|jpg|srt)$/i.test(n)).length
  t.equal(report.checked.recordings, 4 * files(a) + 4 * files(b), 'every file of the eight cameras, once (docking A and B again added nothing)')
  t.equal(await d.stop(), 0)
})
