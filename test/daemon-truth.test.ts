// Issue 11 through the station daemon: "safe to undock" only when every
// media file of the volume is in the vault. Case 2 (names that are bytes:
// GBK, invalid UTF-8, newline, bidi, on a read-only ext4 loop mount; a file
// that cannot be ingested keeps the camera from being safe), case 4 (a FIFO
// swapped in mid-copy never hangs the daemon) and case 5 (a folder moved
// into the mount root across file systems docks once it settled, with the
// right profile, all of its files, progress never above total).
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import t from 'tap'
import type { CameraStatus } from '../src/dock/status.js'
import { FakeUsbBackend } from '../src/dock/usb.js'
import { verifyVault } from '../src/verify/vault.js'
import { MP4_HEAD, writeContent } from './camera-files.js'
import { cannotMount, daemonConfig, inProcessDaemon, makeImage, mountImage, placeFolder, waitFor } from './daemon-support.js'
import { tempDir } from './helpers.js'

const MIB = 1 << 20
const noMount = cannotMount()
const DEVICE = 'A1B2C3D'
const gat = (seq: number): string => `${DEVICE}_012345_2026112008${String(seq).padStart(4, '0')}_${String(seq).padStart(4, '0')}.MP4`

/** Every state a camera passed through (from the daemon's own log lines). */
const statesOf = (logs: Record<string, unknown>[], camera: string): unknown[] =>
  logs.filter((l) => l.event === 'camera.state' && l.camera === camera).map((l) => l.to)

t.test(
  '2. names are bytes: GBK, invalid UTF-8, newline and bidi names on a read-only ext4 volume are all ingested',
  { skip: noMount ? `needs loop mounts: ${noMount}` : false },
  async (t) => {
    const dir = tempDir(t)
    const src = join(dir, 'src')
    mkdirSync(join(src, 'DCIM', '100MEDIA'), { recursive: true })
    writeFileSync(join(src, 'DEVICE.TXT'), `DEVICE=${DEVICE}\n`)
    const gbkDir = Buffer.from([0xd6, 0xd8, 0xd2, 0xaa]) // 重要 in GBK
    mkdirSync(Buffer.concat([Buffer.from(`${src}/`), gbkDir]))
    const raw: Buffer[] = [
      Buffer.from(`DCIM/100MEDIA/${gat(1)}`),
      Buffer.concat([gbkDir, Buffer.from('/'), Buffer.from([0xd6, 0xd8, 0xd2, 0xaa]), Buffer.from('.mp4')]),
      Buffer.from([...Buffer.from('DCIM/100MEDIA/bad-'), 0xff, 0xfe, ...Buffer.from('.mp4')]),
      Buffer.from('DCIM/100MEDIA/line\nbreak.MP4'),
      Buffer.from('DCIM/100MEDIA/evil\u202ekcod.mp4'),
    ]
    const want = new Map<string, string>()
    for (const [i, r] of raw.entries()) want.set(r.toString('base64'), writeContent(Buffer.concat([Buffer.from(`${src}/`), r]), 200_000 + i, i + 1, MP4_HEAD))
    const img = makeImage(src, join(dir, 'cam.img'))
    const root = join(dir, 'media')
    mkdirSync(root)
    const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [root]), usb: new FakeUsbBackend() })
    mountImage(t, img, join(root, 'CAM1')) // read-only, as the udev rule mounts cameras
    t.match(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .find((l) => l.split(' ')[4] === join(root, 'CAM1')),
      / ro[, ]/,
      'the camera volume is mounted read-only',
    )
    const cam = await waitFor(() => d.daemon.status().cameras.find((c) => c.state === 'safe-to-undock' || c.state === 'error'), 'the camera', 120_000)
    t.match(cam, { state: 'safe-to-undock', files: { done: raw.length, total: raw.length }, lastError: null }, `files ${raw.length}/${raw.length}`)
    const rows = d.db
      .prepare('SELECT f.raw_path AS raw, f.sha256, r.source_path AS shown FROM volume_files f JOIN recordings r ON r.id = f.recording_id ORDER BY r.id')
      .all() as { raw: string; sha256: string; shown: string }[]
    t.equal(rows.length, raw.length)
    for (const r of rows) t.equal(r.sha256, want.get(r.raw), `${r.shown}: the bytes of the camera file under the bytes of its name`)
    t.same(rows.map((r) => r.shown).sort(), [
      'DCIM/100MEDIA/A1B2C3D_012345_20261120080001_0001.MP4',
      'DCIM/100MEDIA/bad-\\xff\\xfe.mp4',
      'DCIM/100MEDIA/evil\\u202ekcod.mp4',
      'DCIM/100MEDIA/line\\x0abreak.MP4',
      '重要/重要.mp4',
    ])
    t.ok((await verifyVault(d.db, d.vault)).ok)
  },
)

t.test(
  '2. a media file that cannot be ingested keeps the camera from being safe to undock',
  { skip: noMount ? `needs loop mounts: ${noMount}` : false },
  async (t) => {
    const dir = tempDir(t)
    const src = join(dir, 'src')
    mkdirSync(join(src, 'DCIM', '100MEDIA'), { recursive: true })
    writeFileSync(join(src, 'DEVICE.TXT'), `DEVICE=${DEVICE}\n`)
    for (let i = 1; i <= 3; i++) writeContent(join(src, 'DCIM', '100MEDIA', gat(i)), 4 * MIB, i, MP4_HEAD)
    const img = makeImage(src, join(dir, 'cam.img'))
    // Mounted read-write elsewhere first: a "camera" still recording into its last file.
    const side = join(dir, 'side')
    mountImage(t, img, side, { rw: true })
    const live = join(side, 'DCIM', '100MEDIA', gat(3))
    const writer = spawn('sh', ['-c', `while :; do head -c 65536 /dev/urandom >> '${live}'; sleep 0.01; done`], { stdio: 'ignore' })
    t.teardown(() => void writer.kill('SIGKILL'))
    await waitFor(() => statSync(live).size > 4 * MIB, 'the writer')
    const root = join(dir, 'media')
    mkdirSync(root)
    const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [root]), usb: new FakeUsbBackend() })
    mkdirSync(join(root, 'CAM1'))
    execFileSync('mount', ['--bind', side, join(root, 'CAM1')], { stdio: 'ignore' })
    const unbind = (): void => void spawnSync('umount', ['-l', join(root, 'CAM1')])
    t.teardown(unbind)
    const cam = await waitFor(() => d.daemon.status().cameras.find((c) => c.state === 'safe-to-undock' || c.state === 'error'), 'the camera', 120_000)
    writer.kill('SIGKILL')
    t.equal(cam.state, 'error')
    t.match(cam.lastError, /1 file\(s\) not ingested \(first: DCIM\/100MEDIA\/A1B2C3D_012345_20261120080003_0003\.MP4: still-growing: /)
    t.notOk(statesOf(d.logs, cam.id).includes('safe-to-undock'), 'never said safe to undock')
    const session = d.db.prepare('SELECT state, files_failed AS failed FROM ingest_sessions WHERE id = ?').get(cam.sessionId)
    t.same(session, { state: 'incomplete', failed: 1 })
    unbind()
  },
)

t.test('4. a file replaced by a FIFO mid-copy: the daemon ends the session, says why, and stops at once', async (t) => {
  const dir = tempDir(t)
  const src = join(dir, 'src')
  mkdirSync(join(src, 'DCIM', '100MEDIA'), { recursive: true })
  writeFileSync(join(src, 'DEVICE.TXT'), `DEVICE=${DEVICE}\n`)
  writeContent(join(src, 'DCIM', '100MEDIA', gat(1)), 384 * MIB, 1, MP4_HEAD)
  writeContent(join(src, 'DCIM', '100MEDIA', gat(2)), MIB, 2, MP4_HEAD)
  const root = join(dir, 'media')
  mkdirSync(root)
  const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [root]), usb: new FakeUsbBackend() })
  placeFolder(src, join(root, 'CAM1'))
  await waitFor(() => d.daemon.status().cameras.find((c) => c.state === 'copying' && c.bytes.done > 0), 'copying', 60_000, 10)
  const victim = join(root, 'CAM1', 'DCIM', '100MEDIA', gat(2))
  unlinkSync(victim)
  execFileSync('mkfifo', [victim])
  const cam = await waitFor(() => d.daemon.status().cameras.find((c) => c.state === 'error' || c.state === 'safe-to-undock'), 'the session to end', 60_000)
  t.equal(cam.state, 'error')
  t.match(cam.lastError, /A1B2C3D_012345_20261120080002_0002\.MP4: replaced after it was listed: not a regular file \(a named pipe \(FIFO\)\)/)
  // Again, with the FIFO in place from the start and a stop mid-copy: stop() returns within seconds.
  const src2 = join(dir, 'src2')
  mkdirSync(join(src2, 'DCIM', '100MEDIA'), { recursive: true })
  writeFileSync(join(src2, 'DEVICE.TXT'), `DEVICE=B1B2C3D\n`)
  copyFileSync(join(src, 'DCIM', '100MEDIA', gat(1)), join(src2, 'DCIM', '100MEDIA', gat(1).replace(DEVICE, 'B1B2C3D')))
  execFileSync('mkfifo', [join(src2, 'DCIM', '100MEDIA', 'pipe.MP4')])
  renameSync(src2, join(root, 'CAM2')) // same file system: appears in one rename
  await waitFor(
    () => d.daemon.status().cameras.find((c) => c.volume === join(root, 'CAM2') && c.state === 'copying' && c.bytes.done > 0),
    'CAM2 copying',
    60_000,
    10,
  )
  const t0 = Date.now()
  await d.daemon.stop()
  t.ok(Date.now() - t0 < 5000, `stop() returned in ${Date.now() - t0} ms`)
  t.same(readdirSync(join(dir, 'data', 'staging')), [], 'staging empty after stop')
})

t.test(
  '5. a folder copied into the mount root across file systems docks once it settled: right profile, every file, progress never above total',
  { skip: noMount ? `needs a tmpfs mount: ${noMount}` : false },
  async (t) => {
    const dir = tempDir(t)
    const tmpfs = join(dir, 'tmpfs')
    mkdirSync(tmpfs)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512m', 'tmpfs', tmpfs])
    t.teardown(() => void execFileSync('umount', ['-l', tmpfs]))
    const root = join(dir, 'media')
    mkdirSync(root)
    const d = await inProcessDaemon(t, { cfg: daemonConfig(join(dir, 'data'), [root], { settleMs: 1500 }), usb: new FakeUsbBackend() })
    const polls: CameraStatus[] = []
    const poll = setInterval(() => polls.push(...d.daemon.status().cameras), 10)
    t.teardown(() => clearInterval(poll))

    // (a) the real thing: mv from tmpfs to the root's file system is a copy that takes a while.
    const cam = join(tmpfs, 'cam')
    mkdirSync(join(cam, 'DCIM', '100MEDIA'), { recursive: true })
    writeFileSync(join(cam, 'DEVICE.TXT'), `DEVICE=${DEVICE}\n`)
    const sums = new Map<string, string>()
    for (let i = 1; i <= 10; i++) sums.set(gat(i), writeContent(join(cam, 'DCIM', '100MEDIA', gat(i)), 24 * MIB, i, MP4_HEAD))
    execFileSync('mv', [cam, join(root, 'CAM1')])
    const first = await waitFor(() => d.daemon.status().cameras.find((c) => c.state === 'safe-to-undock' || c.state === 'error'), 'CAM1', 120_000)
    t.match(first, { state: 'safe-to-undock', profileId: 'gat947', files: { done: 10, total: 10 } })
    const recorded = d.db.prepare('SELECT sha256 FROM recordings ORDER BY id').all() as { sha256: string }[]
    t.same(new Set(recorded.map((r) => r.sha256)), new Set(sums.values()), 'all 10 files are in the vault')

    // (b) slower and in the worst order: the DCIM folder and its files first (a generic-dcim marker), DEVICE.TXT last.
    const slow = join(root, 'CAM2')
    mkdirSync(join(slow, 'DCIM', '100MEDIA'), { recursive: true })
    for (let i = 11; i <= 20; i++) {
      writeContent(join(slow, 'DCIM', '100MEDIA', gat(i)), 4 * MIB, i, MP4_HEAD)
      await sleep(300)
    }
    writeFileSync(join(slow, 'DEVICE.TXT'), `DEVICE=${DEVICE}\n`)
    const second = await waitFor(
      () => d.daemon.status().cameras.find((c) => c.volume === slow && (c.state === 'safe-to-undock' || c.state === 'error')),
      'CAM2',
      120_000,
    )
    t.match(second, { state: 'safe-to-undock', profileId: 'gat947', profileBy: 'markers', files: { done: 10, total: 10 } })
    const dockings = d.logs.filter((l) => l.event === 'camera.docked')
    t.equal(dockings.length, 2, 'each folder docked once')
    clearInterval(poll)
    const over = polls.filter((c) => c.bytes.done > c.bytes.total || c.files.done > c.files.total)
    t.same(over, [], `progress never above total (${polls.length} polls)`)
    const early = polls.filter((c) => c.state === 'safe-to-undock' && c.files.done < 10)
    t.same(early, [], 'never safe to undock before all 10 files')
  },
)
