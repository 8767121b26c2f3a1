/**
 * Docking at camera speed: 1, 4 and 8 cameras, each an ext4 image on its
 * own loop device whose reads the kernel throttles to USB 2.0 speed
 * (35 MiB/s: cgroup v1 `blkio.throttle.read_bps_device`, or v2 `io.max`;
 * never a throttle in user space), docked at once through the station
 * daemon into a fresh vault. Prints the aggregate ingest rate as a ratio of
 * the sum of the sources' own read speeds, each measured in the same run
 * (`dd` of the device alone, O_DIRECT so no cache helps), and the CPU the
 * ingest left for media work on this machine's cores. Goal: 8 cameras at
 * >= 0.9x the sum of their sources' speeds. Beside each run: the process's
 * CPU per GB docked (eight cameras ask 8 x 35 MiB/s of it), and what the
 * cameras' devices saw (/proc/diskstats: mean read size, reads in flight,
 * bytes read over the media's: above 1 means a camera read twice), and
 * what the disks give the same cameras at once without bodyvault (read
 * together; a `dd` copy into the data dir with fsync and a direct
 * read-back): on a VM whose one disk holds the cameras' image files and the
 * vault, that copy, not the sum of the sources alone, is the ceiling.
 *
 * Where the cameras' image files sit (`--backing`): `ram` (the default) puts
 * them on a tmpfs of the bench's own, mounted under its work dir with a size
 * bound (or, where it cannot mount one, a folder in /dev/shm), so reading
 * the cameras does not compete with the vault for the VM's one disk, as at
 * a station where each camera is its own USB device; the throttle is on the
 * loop device either way, and the sources' own speeds printed first show it
 * held (about 36.7 MB/s each, not RAM's speed; the bench stops if one reads
 * faster than 1.25x the limit). `disk` keeps them in the work dir under
 * tmpdir(), on the vault's disk, as before 2026-11-30.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/throttled-dock.js [--mib 96] [--cameras 1,4,8] [--repeat 1] [--backing ram|disk]
 *     [--concurrency N] [--streams N]   (default: docking.concurrency and docking.diskStreams of config/default.json)
 *     [--buffers MiB]   (default: ingest.bufferBytes, the station-wide budget of read buffers)
 *
 * The time of a run is from the daemon's first sight of a camera to the
 * last one safe to undock (as bench/multidock.ts); how long the daemon took
 * to see the mounts (its poll and settle) is printed beside it.
 *
 * Needs root, losetup/mkfs.ext4/mount and a blkio (v1) or io (v2) controller;
 * without one it says so and prints no figure. Caches: each image is mounted
 * afresh for each run (a new mount starts with no cached pages), its loop
 * device's buffers and its backing file's pages are dropped first; the
 * machine's whole page cache is left alone (other work shares this host).
 * Loop devices, mounts, the tmpfs and the cgroup are removed on the way out,
 * failure or Ctrl-C included. Nothing under /media or /run/media is touched: the
 * mount root is a temporary folder.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadProfiles } from '../src/camera/profile.js'
import { silentLogger } from '../src/common/log.js'
import { packageRoot } from '../src/common/paths.js'
import { ensureThreadPool, threadPoolSize } from '../src/common/threads.js'
import { loadConfig } from '../src/config/load.js'
import { FakeUsbBackend } from '../src/dock/usb.js'
import { openStation } from '../src/station/station.js'
import { linkCamera } from './cameras.js'
import { type DiskState, describeDisk, latencyProbe, watchDisk } from './disk-state.js'

// The daemon's pool size (bin/bodyvault.js sets it for `bodyvault start`; this process is an ES module: run again with it).
ensureThreadPool()

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '96' },
    cameras: { type: 'string', default: '1,4,8' },
    repeat: { type: 'string', default: '1' },
    concurrency: { type: 'string' },
    streams: { type: 'string' },
    buffers: { type: 'string' },
    backing: { type: 'string', default: 'ram' },
  },
})
const MIB = Number(values.mib)
const COUNTS = values.cameras.split(',').map(Number)
const REPEAT = Number(values.repeat)
const BPS = 35 * 1024 * 1024
const GOAL = 0.9
const line = 'docking at camera speed (35 MiB/s per camera, kernel throttle)'

/** Which I/O controller can throttle a device's reads here, or why none can. */
function controller(): { kind: 'v1'; dir: string } | { kind: 'v2'; dir: string } | { none: string } {
  if (process.getuid?.() !== 0) return { none: 'needs root (cgroups, loop devices, mounts)' }
  for (const tool of ['losetup', 'mkfs.ext4', 'mount', 'umount', 'dd', 'lsblk']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return { none: `${tool} is not installed` }
  }
  if (existsSync('/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device')) return { kind: 'v1', dir: '/sys/fs/cgroup/blkio' }
  try {
    if (readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('io')) return { kind: 'v2', dir: '/sys/fs/cgroup' }
  } catch {
    /* no cgroup v2 */
  }
  return { none: 'no blkio (cgroup v1) or io (cgroup v2) controller is mounted' }
}

const ctl = controller()
if ('none' in ctl) {
  console.log(`${line}: not measured: ${ctl.none}`)
  process.exit(0)
}
if (!(MIB >= 8) || !(REPEAT >= 1) || COUNTS.some((n) => !Number.isInteger(n) || n < 1 || n > 32) || (values.backing !== 'ram' && values.backing !== 'disk')) {
  console.error('usage: node dist/bench/throttled-dock.js [--mib N>=8] [--cameras 1,4,8] [--repeat N] [--backing ram|disk]')
  process.exit(2)
}

const io = ctl as { kind: 'v1' | 'v2'; dir: string }
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const work = mkdtempSync(join(tmpdir(), 'bv-bench-throttled-'))
const cgroup = join(io.dir, `bodyvault-bench-${process.pid}`)
const loops: string[] = []
const mounts: string[] = []
/** Where the images' backing files are in RAM (`--backing ram`): a tmpfs this bench mounted, or a folder of its own in /dev/shm; null on disk. */
let backing: { dir: string; mounted: boolean } | null = null

/** Undoes everything this bench set up; safe to call twice, never throws. */
function cleanUp(): void {
  for (const m of mounts.splice(0)) spawnSync('umount', ['-l', m])
  for (const l of loops.splice(0)) spawnSync('losetup', ['-d', l])
  if (backing) {
    // Lazy: a loop device lets go of its backing file a moment after `losetup -d`; the tmpfs's pages go with its last user.
    if (backing.mounted) spawnSync('umount', ['-l', backing.dir])
    else rmSync(backing.dir, { recursive: true, force: true })
    backing = null
  }
  if (existsSync(cgroup)) {
    try {
      writeFileSync(join(io.dir, 'cgroup.procs'), String(process.pid))
    } catch {
      /* already out */
    }
    try {
      rmdirSync(cgroup)
    } catch (err) {
      console.error(`could not remove the cgroup ${cgroup}: ${(err as Error).message}`)
    }
  }
  rmSync(work, { recursive: true, force: true })
}
process.on('exit', cleanUp)
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    cleanUp()
    process.exit(130)
  })

const mb = (b: number): string => (b / 1e6).toFixed(1)

/** A tmpfs of `mib` MiB under the work dir for the images (a station's cameras are not the vault's disk), else a folder in /dev/shm. */
function ramBacking(mib: number): { dir: string; mounted: boolean } {
  const dir = join(work, 'backing')
  mkdirSync(dir)
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'bodyvault-bench', dir], { encoding: 'utf8' })
  if (m.status === 0) return { dir, mounted: true }
  console.error(`could not mount a tmpfs (${m.stderr.trim()}): the images go to /dev/shm`)
  return { dir: mkdtempSync('/dev/shm/bv-bench-throttled-'), mounted: false }
}
const n = Math.max(...COUNTS)

// One generated camera (real ffmpeg media, grown to MIB), one ext4 image per camera under its own device id.
const source = join(work, 'source')
execFileSync('bash', [join(packageRoot(), 'scripts/make-fake-camera'), '--out', source, '--quiet', '--size', `${MIB}M`], {
  stdio: ['ignore', 'ignore', 'inherit'],
})
const devices = Array.from({ length: n }, (_, i) => `T${String(i).padStart(6, '0')}`)
const trees = devices.map((d) => {
  const tree = join(work, 'trees', d)
  linkCamera(source, tree, d)
  return { tree, mib: Math.ceil((Number(sh('du', ['-sb', tree]).split('\t')[0]) * 1.15) / (1 << 20)) + 24 }
})
backing = values.backing === 'ram' ? ramBacking(trees.reduce((a, t) => a + t.mib, 0) + 16) : null
const images = devices.map((d, i) => {
  const { tree, mib } = trees[i]!
  const img = join(backing?.dir ?? work, `${d}.img`)
  sh('mkfs.ext4', ['-q', '-F', '-E', 'root_owner=0:0', '-d', tree, img, `${mib}M`])
  const loop = sh('losetup', ['-f', '--show', '-r', img]).trim()
  loops.push(loop)
  const majMin = sh('lsblk', ['-dno', 'MAJ:MIN', loop]).trim()
  return { device: d, img, loop, majMin }
})
const cameraBytes = (function size(p: string): number {
  let s = 0
  for (const e of readdirSync(p, { withFileTypes: true }))
    s += e.isDirectory() ? size(join(p, e.name)) : /\.(mp4|avi|wav|jpg|srt)$/i.test(e.name) ? statSync(join(p, e.name)).size : 0
  return s
})(join(work, 'trees', devices[0]!))

// The throttle: one line per loop device in one cgroup, which this process (the daemon's, and its threads') joins.
mkdirSync(cgroup)
for (const im of images) {
  if (io.kind === 'v1') writeFileSync(join(cgroup, 'blkio.throttle.read_bps_device'), `${im.majMin} ${BPS}`)
  else writeFileSync(join(cgroup, 'io.max'), `${im.majMin} rbps=${BPS}`)
}
writeFileSync(join(cgroup, 'cgroup.procs'), String(process.pid))

/** Drops what the kernel caches of an image: its backing file's pages (on disk; a tmpfs's pages are the file) and its loop device's buffers. */
function dropCaches(im: (typeof images)[number]): void {
  sh('dd', [`if=${im.img}`, 'iflag=nocache', 'count=0', 'status=none'])
  spawnSync('blockdev', ['--flushbufs', im.loop])
}

// The sources' own speed: each device read alone, O_DIRECT, as many bytes as its camera holds (a child of this process: throttled the same).
const sourceMBps = images.map((im) => {
  dropCaches(im)
  const t0 = performance.now()
  sh('dd', [`if=${im.loop}`, 'of=/dev/null', 'bs=1M', `count=${Math.ceil(cameraBytes / (1 << 20))}`, 'iflag=direct', 'status=none'])
  return cameraBytes / 1e6 / ((performance.now() - t0) / 1000)
})

/**
 * What the machine's disks give with every camera at once, no bodyvault: the throttled devices read together
 * (O_DIRECT), and the same bytes copied by `dd` into a data dir on the vault's disk (O_DIRECT, fsync) and read
 * back (O_DIRECT), as ingest does (its hash and compare aside). Where the cameras' image files and the vault share
 * one disk (a VM), this, not the sum of the sources alone, is the most any copier could do here.
 */
function together(count: number, into: string): { readMBps: number; copyMBps: number } {
  const mine = images.slice(0, count)
  const mibs = Math.ceil(cameraBytes / (1 << 20))
  for (const im of mine) dropCaches(im)
  let t0 = performance.now()
  sh('bash', ['-c', `${mine.map((im) => `dd if=${im.loop} of=/dev/null bs=4M count=${Math.ceil(mibs / 4)} iflag=direct status=none &`).join(' ')} wait`])
  const readMBps = (count * cameraBytes) / 1e6 / ((performance.now() - t0) / 1000)
  mkdirSync(into, { recursive: true })
  for (const im of mine) dropCaches(im)
  t0 = performance.now()
  sh('bash', [
    '-c',
    `${mine
      .map(
        (im, i) =>
          `(dd if=${im.loop} of=${into}/${i} bs=4M count=${Math.ceil(mibs / 4)} iflag=direct oflag=direct conv=fsync status=none && dd if=${into}/${i} of=/dev/null bs=4M iflag=direct status=none) &`,
      )
      .join(' ')} wait`,
  ])
  const copyMBps = (count * cameraBytes) / 1e6 / ((performance.now() - t0) / 1000)
  rmSync(into, { recursive: true, force: true })
  return { readMBps, copyMBps }
}

const defaults = loadConfig({ env: { BODYVAULT_SYSTEM_CONFIG: 'none', BODYVAULT_DATA_DIR: join(work, 'unused') } })
const loaded = {
  ...defaults,
  docking: {
    ...defaults.docking,
    concurrency: Number(values.concurrency ?? defaults.docking.concurrency),
    diskStreams: Number(values.streams ?? defaults.docking.diskStreams),
  },
  ingest: { ...defaults.ingest, bufferBytes: values.buffers ? Number(values.buffers) * 2 ** 20 : defaults.ingest.bufferBytes },
}
const profiles = loadProfiles(loaded.docking.profilesDir)
const cores = availableParallelism()
console.log(
  `throttled-dock bench: node ${process.version}, ${io.kind === 'v1' ? 'cgroup v1 blkio.throttle' : 'cgroup v2 io.max'}, cameras' images ${backing ? (backing.mounted ? 'in RAM (a tmpfs of the bench)' : 'in RAM (/dev/shm)') : "on disk (tmpdir(), the vault's disk)"} (--backing ${values.backing}), camera ${mb(cameraBytes)} MB of media, ${cores} cores, concurrency ${loaded.docking.concurrency}, disk streams ${loaded.docking.diskStreams}, buffers ${loaded.ingest.bufferBytes / 2 ** 20} MiB, ${threadPoolSize()} pool threads`,
)
console.log(`sources alone (dd, O_DIRECT, each throttled device; the limit is ${mb(BPS)} MB/s): ${sourceMBps.map((s) => s.toFixed(1)).join(', ')} MB/s`)
// A backing file in RAM must not make a camera faster than USB 2.0: if the throttle did not bite, no figure here means anything.
if (sourceMBps.some((s) => s > (1.25 * BPS) / 1e6)) {
  console.error(`the throttle did not hold: a camera read alone faster than 1.25x ${mb(BPS)} MB/s; no figure`)
  process.exit(1)
}

/** The loop devices' lines of /proc/diskstats (one read for all): reads completed, sectors read, I/Os in flight. */
function diskstats(loops: string[]): { reads: number; sectors: number; inflight: number }[] {
  const by = new Map<string, { reads: number; sectors: number; inflight: number }>()
  for (const l of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = l.trim().split(/\s+/)
    by.set(`/dev/${f[2]}`, { reads: Number(f[3]), sectors: Number(f[5]), inflight: Number(f[11]) })
  }
  return loops.map((l) => by.get(l) ?? { reads: 0, sectors: 0, inflight: 0 })
}

/**
 * What the machine made this process wait for: its threads' time on a run queue (ready, no core free; /proc/self/task/N/schedstat,
 * threads alive at both reads), and the host's pressure stall totals (/proc/pressure: some task stalled on CPU, or on I/O).
 * On a shared host the CPU left is not what this process did not use: these say whether it was held back.
 */
function waits(): { runQueueS: number; mainQueueS: number; cpuSomeS: number; ioSomeS: number } {
  let runQueueS = 0
  let mainQueueS = 0
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const s = Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[1]) / 1e9
      runQueueS += s
      if (t === String(process.pid)) mainQueueS = s
    } catch {
      /* the thread ended */
    }
  }
  const some = (f: string): number => {
    try {
      return Number(/^some .*total=(\d+)/m.exec(readFileSync(`/proc/pressure/${f}`, 'utf8'))?.[1] ?? Number.NaN) / 1e6
    } catch {
      return Number.NaN
    }
  }
  return { runQueueS, mainQueueS, cpuSomeS: some('cpu'), ioSomeS: some('io') }
}

interface Run {
  cameras: number
  /** The data dir's disk: a depth-1 latency probe just before, and what it did while the cameras docked (disk-state.ts). */
  probe: { writeMs: number; readMs: number }
  disk: DiskState | undefined
  /** The same cameras without bodyvault, just before this run (together()). */
  alone: { readMBps: number; copyMBps: number }
  seconds: number
  mbps: number
  sourcesMBps: number
  /** Cores' worth of CPU the daemon's process did not use while the cameras docked. */
  coresLeft: number
  /** The daemon's process CPU (user + system, all its threads) per GB docked: what the cameras' sum asks of the cores. */
  cpuSPerGB: number
  /** From the mounts to the daemon's first sight of a camera. */
  seenS: number
  load: string
  /** What the cameras' devices saw: mean read request size, mean reads in flight while a device had any, bytes read over the cameras' media. */
  reqKiB: number
  depth: number
  readFactor: number
  /** Per camera: seconds from its first sight to copying, and to safe to undock. */
  cams: { copyingS: number; doneS: number }[]
  /** Seconds this process's threads waited for a core, and the share of the run some task on the host stalled on CPU, on I/O. */
  runQueueS: number
  /** Of it, the main thread's (the hashes, the read-back's compare, the event loop). */
  mainQueueS: number
  cpuSome: number
  ioSome: number
}

async function run(count: number, k: number): Promise<Run> {
  const dir = join(work, `run-${count}-${k}`)
  const root = join(dir, 'media')
  mkdirSync(root, { recursive: true })
  for (const im of images.slice(0, count)) mkdirSync(join(root, im.device))
  const cfg = { ...loaded, dataDir: join(dir, 'data'), docking: { ...loaded.docking, mountRoots: [root], pollMs: 100 } }
  const st = openStation({ config: cfg, logger: silentLogger(), profiles })
  const daemon = st.dock({ usb: new FakeUsbBackend('not used by the benchmark') })
  await daemon.start()
  const mine = images.slice(0, count)
  const mine0 = mounts.length
  const alone = together(count, join(dir, 'dd'))
  try {
    for (const im of mine) dropCaches(im)
    const seenAt = new Map<string, number>()
    const copyingAt = new Map<string, number>()
    const doneAt = new Map<string, number>()
    const loopsOf = mine.map((im) => im.loop)
    const ds0 = diskstats(loopsOf)
    let depthSum = 0
    let depthN = 0
    const probe = latencyProbe(dir)
    const watch = watchDisk(dir)
    const cpu0 = process.cpuUsage()
    const w0 = waits()
    const t0 = performance.now()
    for (const im of mine) {
      const mp = join(root, im.device)
      // Listed first: a ^C reaches mount(8) too, which can be killed after its mount took (the clean-up's `umount -l` of a bare folder is harmless).
      mounts.push(mp)
      sh('mount', ['-t', 'ext4', '-o', 'ro,noload', im.loop, mp])
    }
    void daemon.rescan()
    for (;;) {
      const now = performance.now()
      for (const c of daemon.status().cameras) {
        if (c.state === 'error') throw new Error(`camera ${c.deviceId}: ${c.lastError}`)
        if (!seenAt.has(c.id)) seenAt.set(c.id, now)
        if (c.state === 'copying' && !copyingAt.has(c.id)) copyingAt.set(c.id, now)
        if (c.state === 'safe-to-undock' && !doneAt.has(c.id)) doneAt.set(c.id, now)
      }
      for (const { inflight } of diskstats(loopsOf)) {
        if (inflight > 0) {
          depthSum += inflight
          depthN++
        }
      }
      if (doneAt.size >= count) break
      if (now - t0 > 600_000) throw new Error(`${count} camera(s) not done after 10 minutes`)
      // The bench shares the daemon's event loop: poll no more often than the figures need.
      await new Promise((r) => setTimeout(r, 20))
    }
    const cpu = process.cpuUsage(cpu0)
    const disk = watch.stop()
    const w1 = waits()
    const ds = diskstats(loopsOf).map((b, i) => {
      return { reads: b.reads - ds0[i]!.reads, bytes: (b.sectors - ds0[i]!.sectors) * 512 }
    })
    const reads = ds.reduce((a, d) => a + d.reads, 0)
    const bytesRead = ds.reduce((a, d) => a + d.bytes, 0)
    const first = Math.min(...seenAt.values())
    const ms = Math.max(...doneAt.values()) - first
    const used = (cpu.user + cpu.system) / 1e3 / ms
    return {
      cameras: count,
      probe,
      disk,
      alone,
      seconds: ms / 1000,
      mbps: (count * cameraBytes) / 1e6 / (ms / 1000),
      sourcesMBps: sourceMBps.slice(0, count).reduce((a, b) => a + b, 0),
      coresLeft: cores - used,
      cpuSPerGB: (cpu.user + cpu.system) / 1e6 / ((count * cameraBytes) / 1e9),
      seenS: (first - t0) / 1000,
      load: readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!,
      reqKiB: bytesRead / Math.max(1, reads) / 1024,
      depth: depthN ? depthSum / depthN : 0,
      readFactor: bytesRead / (count * cameraBytes),
      cams: [...doneAt.keys()].map((id) => ({ copyingS: ((copyingAt.get(id) ?? first) - first) / 1000, doneS: (doneAt.get(id)! - first) / 1000 })),
      runQueueS: w1.runQueueS - w0.runQueueS,
      mainQueueS: w1.mainQueueS - w0.mainQueueS,
      cpuSome: (w1.cpuSomeS - w0.cpuSomeS) / ((performance.now() - t0) / 1000),
      ioSome: (w1.ioSomeS - w0.ioSomeS) / ((performance.now() - t0) / 1000),
    }
  } finally {
    await daemon.stop()
    st.close()
    for (const mp of mounts.splice(mine0)) spawnSync('umount', [mp])
    rmSync(dir, { recursive: true, force: true })
  }
}

const best = new Map<number, Run>()
const ratios = new Map<number, number[]>()
for (let k = 0; k < REPEAT; k++) {
  for (const count of COUNTS) {
    const r = await run(count, k)
    console.log(
      `  run ${k + 1}: ${String(count).padStart(2)} camera(s) ${mb(count * cameraBytes).padStart(7)} MB in ${r.seconds.toFixed(2).padStart(6)} s = ${r.mbps.toFixed(1).padStart(6)} MB/s; sources ${r.sourcesMBps.toFixed(1)} MB/s; ratio ${(r.mbps / r.sourcesMBps).toFixed(2)}; CPU left ${r.coresLeft.toFixed(2)} of ${cores} cores (${r.cpuSPerGB.toFixed(1)} CPU-s/GB; its threads waited ${r.runQueueS.toFixed(1)} s for a core, the main thread ${r.mainQueueS.toFixed(1)} s; host stalled on CPU ${(100 * r.cpuSome).toFixed(0)}%, on I/O ${(100 * r.ioSome).toFixed(0)}% of the run); seen ${r.seenS.toFixed(2)} s after the mounts (load ${r.load})`,
    )
    console.log(
      `         without bodyvault, same cameras at once: read together ${r.alone.readMBps.toFixed(1)} MB/s (ingest ${(r.mbps / r.alone.readMBps).toFixed(2)}x); dd copy + fsync + read-back into the data dir ${r.alone.copyMBps.toFixed(1)} MB/s (ingest ${(r.mbps / r.alone.copyMBps).toFixed(2)}x)`,
    )
    console.log(
      `         the cameras' devices saw reads of ${r.reqKiB.toFixed(0)} KiB on average, ${r.depth.toFixed(1)} in flight while busy, ${r.readFactor.toFixed(2)}x their media's bytes; per camera copying at / safe at (s): ${r.cams.map((c) => `${c.copyingS.toFixed(1)}/${c.doneS.toFixed(1)}`).join(' ')}`,
    )
    console.log(
      `         the data dir's disk: probe at depth 1 before, a 4 MiB direct write ${r.probe.writeMs.toFixed(0)} ms, read ${r.probe.readMs.toFixed(0)} ms; while docking ${describeDisk(r.disk)} (the whole device: other work's requests included)`,
    )
    const b = best.get(count)
    if (!b || r.mbps / r.sourcesMBps > b.mbps / b.sourcesMBps) best.set(count, r)
    ratios.set(count, [...(ratios.get(count) ?? []), r.mbps / r.sourcesMBps])
  }
}
console.log(`best of ${REPEAT} run(s):`)
for (const count of COUNTS) {
  const r = best.get(count)!
  const ratio = r.mbps / r.sourcesMBps
  const rs = [...ratios.get(count)!].sort((a, b) => a - b)
  const goal = count === 8 ? ` (goal >= ${GOAL}x) ${ratio >= GOAL ? 'met' : 'missed'}` : ''
  console.log(
    `  ${line}, ${count} camera(s): ${r.mbps.toFixed(1)} MB/s = ${ratio.toFixed(2)}x the sum of the sources' own ${r.sourcesMBps.toFixed(1)} MB/s (median of runs ${(rs.length % 2 ? rs[rs.length >> 1]! : (rs[(rs.length >> 1) - 1]! + rs[rs.length >> 1]!) / 2).toFixed(2)}x)${goal}; CPU left for media work: ${r.coresLeft.toFixed(2)} of ${cores} cores (${((100 * r.coresLeft) / cores).toFixed(0)}%)`,
  )
  console.log(
    `    the disks without bodyvault, same cameras at once: read ${r.alone.readMBps.toFixed(1)} MB/s (${(r.alone.readMBps / r.sourcesMBps).toFixed(2)}x the sum of the sources alone), dd copy + fsync + read-back ${r.alone.copyMBps.toFixed(1)} MB/s (${(r.alone.copyMBps / r.sourcesMBps).toFixed(2)}x); ingest ${(r.mbps / r.alone.copyMBps).toFixed(2)}x that copy`,
  )
}
console.log(`(load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`)
