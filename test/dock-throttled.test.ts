// Cameras slower than the station, docked at once: six ext4 images on loop
// devices whose reads the kernel throttles (cgroup blkio/io, the running
// `bodyvault start` child in the cgroup), five at 8 MiB/s and one at
// 1.5 MiB/s. What would break the promise: a slow camera holding a slot or
// a disk stream while the others wait queued; a camera said safe to undock
// before each of its files is in the vault; a file missed or stored twice
// under the load. Each camera's files differ (a byte appended per camera),
// so an object in the vault proves that camera's file, not a twin's.
import { execFileSync, spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { cannotMount, makeImage, renameDevice, startDaemon, waitFor } from './daemon-support.js'
import { cli, makeCamera, sha256File, tempDir } from './helpers.js'

const FAST = 8 << 20
const SLOW = (3 << 20) / 2

/** Where this host can throttle a device's reads (cgroup v1 blkio, v2 io), or why it cannot. */
function ioController(): { v: 1 | 2; dir: string } | string {
  const why = cannotMount()
  if (why) return why
  if (existsSync('/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device')) return { v: 1, dir: '/sys/fs/cgroup/blkio' }
  try {
    if (readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('io')) return { v: 2, dir: '/sys/fs/cgroup' }
  } catch {
    /* no cgroup v2 */
  }
  return 'no blkio (cgroup v1) or io (cgroup v2) controller to throttle a camera'
}

const ctl = ioController()
const skip = typeof ctl === 'string' ? `throttled cameras need loop mounts and an I/O controller: ${ctl}` : false

t.test('six cameras slower than the disk, one much slower, docked at once: all copied at once, each safe only with all its files', { skip }, async (t) => {
  const io = ctl as { v: 1 | 2; dir: string }
  const dir = tempDir(t)
  const src = await makeCamera(join(dir, 'src'), ['--device', 'A000001', '--size', '12M'])
  const devices = ['A000001', 'B000002', 'C000003', 'D000004', 'E000005', 'S000006']
  const cams = devices.map((dev, i) => {
    const tree = renameDevice(src, join(dir, `tree-${dev}`), 'A000001', dev)
    const files: string[] = []
    let bytes = 0
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name)
        if (e.isDirectory()) walk(p)
        else if (/\.(mp4|avi|wav|jpg|srt)$/i.test(e.name)) {
          appendFileSync(p, Buffer.from([i + 1]))
          files.push(sha256File(p))
          bytes += statSync(p).size
        }
      }
    }
    walk(tree)
    return { dev, img: makeImage(tree, join(dir, `${dev}.img`)), shas: files, bytes, bps: dev.startsWith('S') ? SLOW : FAST, loop: '' }
  })
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  // The defaults under test: no docking.concurrency or diskStreams pinned.
  const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })

  // The throttle: each camera's loop device its own line in one cgroup that holds the daemon.
  const cgroup = join(io.dir, `bodyvault-test-${process.pid}`)
  mkdirSync(cgroup)
  const mounted: string[] = []
  t.teardown(() => {
    for (const m of mounted) spawnSync('umount', ['-l', m])
    for (const c of cams) if (c.loop) spawnSync('losetup', ['-d', c.loop])
    if (d.child.pid && d.child.exitCode === null) spawnSync('sh', ['-c', `echo ${d.child.pid} > ${join(io.dir, 'cgroup.procs')}`])
    try {
      rmdirSync(cgroup)
    } catch {
      /* the daemon is still leaving it: it exits at its own teardown, the empty cgroup stays until reboot */
    }
  })
  for (const c of cams) {
    c.loop = execFileSync('losetup', ['-f', '--show', '-r', c.img], { encoding: 'utf8' }).trim()
    const majMin = execFileSync('lsblk', ['-dno', 'MAJ:MIN', c.loop], { encoding: 'utf8' }).trim()
    if (io.v === 1) writeFileSync(join(cgroup, 'blkio.throttle.read_bps_device'), `${majMin} ${c.bps}`)
    else writeFileSync(join(cgroup, 'io.max'), `${majMin} rbps=${c.bps}`)
  }
  writeFileSync(join(cgroup, 'cgroup.procs'), String(d.child.pid))

  const t0 = Date.now()
  for (const c of cams) {
    const mp = join(root, c.dev)
    mkdirSync(mp)
    execFileSync('mount', ['-t', 'ext4', '-o', 'ro,noload', c.loop, mp])
    mounted.push(mp)
  }
  // Poll the status: how many copy at once, and, the moment a camera is first said safe, whether each of its files is in the vault.
  let most = 0
  const safeAt = new Map<string, number>()
  const missingWhenSafe = new Map<string, number>()
  await waitFor(
    async () => {
      const s = await d.status()
      const mine = s.cameras.filter((c) => mounted.includes(c.volume ?? ''))
      most = Math.max(most, mine.filter((c) => c.state === 'copying').length)
      for (const c of mine) {
        if (c.state === 'error') throw new Error(`${c.volume}: ${c.lastError}`)
        if (c.state !== 'safe-to-undock' || safeAt.has(c.volume!)) continue
        safeAt.set(c.volume!, Date.now() - t0)
        const cam = cams.find((x) => join(root, x.dev) === c.volume)!
        missingWhenSafe.set(cam.dev, cam.shas.filter((h) => !existsSync(join(data, 'objects', h.slice(0, 2), h))).length)
      }
      return safeAt.size === cams.length ? true : undefined
    },
    'six throttled cameras to be safe to undock',
    240_000,
    25,
  )
  const slowMs = safeAt.get(join(root, 'S000006'))!
  const bytes = cams.find((c) => c.bps === SLOW)!.bytes
  t.comment(`safe to undock after (ms): ${[...safeAt].map(([v, ms]) => `${v.slice(root.length + 1)} ${ms}`).join(', ')}; most copying at once: ${most}`)
  // The throttle held (or this test proves nothing): the slow camera cannot have been read faster than its limit.
  t.ok(slowMs >= (bytes / SLOW) * 1000 * 0.8, `the slow camera took ${slowMs} ms for ${bytes} bytes at ${SLOW} B/s`)
  t.equal(most, cams.length, 'every camera was copying at the same time: none waited queued behind a slow one')
  for (const c of cams.filter((x) => x.bps === FAST)) t.ok(safeAt.get(join(root, c.dev))! < slowMs, `${c.dev} finished before the slow camera`)
  for (const c of cams) t.equal(missingWhenSafe.get(c.dev), 0, `${c.dev}: each of its ${c.shas.length} files in the vault when it was said safe`)

  const v = cli(['verify', '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(v.code, 0, v.stdout.slice(0, 2000) + v.stderr)
  const report = JSON.parse(v.stdout) as { ok: boolean; checked: { recordings: number } }
  t.equal(
    report.checked.recordings,
    cams.reduce((a, c) => a + c.shas.length, 0),
    'every file of the six cameras, once',
  )
  t.equal(await d.stop(), 0)
})
