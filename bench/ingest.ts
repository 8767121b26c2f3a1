/**
 * Ingest benchmark: our ingest against baselines measured in the same
 * rounds on the same files, each command starting with the camera's files
 * out of the page cache (dropped per file, `dd iflag=nocache count=0`), as
 * a docked camera's are: every command reads them from the disk.
 *   - plain `cp -r` + `sync`
 *   - `cp -r`, then `sha256sum` of the source files and of the copies
 * Each round runs all three back to back and gives its ratios; the median
 * round is printed beside the load average. Also: peak RSS of an ingest of
 * one 2 GiB file, and the ingest's CPU time per GB (user + system of the
 * whole process, threads included, from its own process.resourceUsage() at
 * exit), beside the floor: the CPU one SHA-256 pass costs here, measured in
 * this run (ingest hashes every byte once; its read-back compares bytes),
 * and how the CPU splits between the main thread and the others, user and
 * system (/proc/self/task/<pid>/stat at exit). Each round also measures
 * the disk's own ceilings with `dd` (diskCeilings: an O_DIRECT write with
 * fsync, an O_DIRECT read, the two at once, and the three at once with the
 * camera read too), so the ratio to cp + sync can be read beside what any
 * copier that writes and reads back gets from this disk, and how many cores
 * the ingest kept busy (CPU-s / wall: far below 1, it waited), and what the
 * data dir's disk did meanwhile (disk-state.ts: its busy %, requests in
 * flight, the time a request took, a depth-1 latency probe just before, and
 * the last round's trims let settle first): a slow disk versus a disk
 * ingest left idle.
 * Goals: >= 0.6x cp + sync, <= 1.5 CPU-s per GB, peak RSS < 150 MB.
 *
 *   node dist/bench/ingest.js [--size 2G] [--work DIR] [--rounds 3] [--no-sha256sum]
 *
 * --no-sha256sum leaves out the cp + sha256sum baseline (coreutils' SHA-256
 * is the slowest command here: minutes per round on a loaded machine).
 */
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { packageRoot } from '../src/common/paths.js'
import { type DiskState, describeDisk, latencyProbe, settleDiscards, watchDisk } from './disk-state.js'

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '2G' },
    work: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    'no-sha256sum': { type: 'boolean', default: false },
  },
})
const root = packageRoot()
const work = values.work ?? join(tmpdir(), 'bodyvault-bench')
const rounds = Number(values.rounds)
mkdirSync(work, { recursive: true })

function files(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name))
  return out.sort()
}
const total = (dir: string): number => files(dir).reduce((a, f) => a + statSync(f).size, 0)
const sh = (cmd: string): void => void execFileSync('bash', ['-c', cmd], { stdio: 'inherit' })
/** Drops a tree's files from the page cache (posix_fadvise DONTNEED through GNU dd; clean pages only, so sync first). */
const evict = (dir: string): void => sh(`sync && find ${dir} -type f -exec dd if={} iflag=nocache count=0 status=none \\;`)
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * Preloaded into a measured node process: at exit it writes its own
 * process.resourceUsage() (user and system CPU of all its threads, max RSS) to fd 3.
 */
const USAGE_PROBE = `data:text/javascript,${encodeURIComponent(
  "import{writeSync,readFileSync}from'node:fs';process.on('exit',()=>{try{const f=readFileSync('/proc/self/task/'+process.pid+'/stat','utf8');" +
    "const x=f.slice(f.lastIndexOf(')')+2).split(' ');writeSync(3,JSON.stringify({...process.resourceUsage(),mainUser:Number(x[11]),mainSys:Number(x[12])}))}catch{}})",
)}`
/** Clock ticks per second of /proc/<pid>/task/<tid>/stat's utime and stime. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

interface Measured {
  ms: number
  rssMiB: number
  /** CPU seconds (user + system) the process reported for itself; null for a command that is not node. */
  cpuSec: number | null
  /** Its split: the main thread (hash, read-back compare, JS, SQLite) and the other threads (libuv's file-system calls, V8's), user and system. */
  split: { mainUser: number; mainSys: number; otherUser: number; otherSys: number } | null
}

/** Runs a command, returns wall ms and peak RSS (VmHWM of the process, polled), and the CPU a node process reports for itself. */
async function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  sh('sync')
  const isNode = cmd === process.execPath
  const argv = isNode ? ['--import', USAGE_PROBE, ...args] : args
  const t0 = process.hrtime.bigint()
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'inherit', 'pipe'] })
  let usage = ''
  child.stdio[3]?.on('data', (c: Buffer) => (usage += c.toString('utf8')))
  let hwm = 0
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      if (m) hwm = Math.max(hwm, Number(m[1]))
    } catch {
      /* exited */
    }
  }, 20)
  const code = await new Promise<number | null>((r) => child.on('close', r))
  clearInterval(poll)
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}`)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (!isNode) return { ms, rssMiB: hwm / 1024, cpuSec: null, split: null }
  const u = JSON.parse(usage) as { userCPUTime: number; systemCPUTime: number; maxRSS: number; mainUser: number; mainSys: number }
  const mainUser = u.mainUser / CLK_TCK
  const mainSys = u.mainSys / CLK_TCK
  const split = { mainUser, mainSys, otherUser: Math.max(0, u.userCPUTime / 1e6 - mainUser), otherSys: Math.max(0, u.systemCPUTime / 1e6 - mainSys) }
  return { ms, rssMiB: Math.max(hwm, u.maxRSS) / 1024, cpuSec: (u.userCPUTime + u.systemCPUTime) / 1e6, split }
}

/**
 * CPU seconds per GB, in this process (median of 3 passes over 256 MiB): one SHA-256 pass over a 1 MiB buffer the
 * CPU cache holds (`hot`), and over 4 MiB chunks of a 256 MiB buffer (`cold`: as ingest hashes what a read just put
 * in memory); one compare of two such chunks (Buffer.equals, as the read-back does). What ingest cannot avoid.
 */
function floors(): { hot: number; cold: number; compare: number } {
  const hot = Buffer.alloc(1 << 20, 7)
  const big = Buffer.alloc(256 << 20, 7)
  const other = Buffer.alloc(256 << 20, 7)
  const perGB = (f: () => void): number => {
    const runs: number[] = []
    for (let r = 0; r < 3; r++) {
      const c0 = process.cpuUsage()
      f()
      const c = process.cpuUsage(c0)
      runs.push((c.user + c.system) / 1e6 / ((256 * 2 ** 20) / 1e9))
    }
    return runs.sort((a, b) => a - b)[1]!
  }
  const chunks = (b: Buffer): Buffer[] => Array.from({ length: 64 }, (_, i) => b.subarray(i << 22, (i + 1) << 22))
  return {
    hot: perGB(() => {
      const h = createHash('sha256')
      for (let i = 0; i < 256; i++) h.update(hot)
      h.digest()
    }),
    cold: perGB(() => {
      const h = createHash('sha256')
      for (const c of chunks(big)) h.update(c)
      h.digest()
    }),
    compare: perGB(() => {
      const a = chunks(big)
      const b = chunks(other)
      for (let i = 0; i < a.length; i++) if (!a[i]!.equals(b[i]!)) throw new Error('unequal')
    }),
  }
}

/** Wall ms of shell commands started at once (each its own `bash -c`), until the last one ends. */
async function together(cmds: string[]): Promise<number> {
  sh('sync')
  const t0 = process.hrtime.bigint()
  await Promise.all(
    cmds.map(
      (c) =>
        new Promise<void>((resolve, reject) =>
          spawn('bash', ['-c', c], { stdio: ['ignore', 'ignore', 'inherit'] }).on('close', (code) =>
            code === 0 ? resolve() : reject(new Error(`${c} exited ${code}`)),
          ),
        ),
    ),
  )
  return Number(process.hrtime.bigint() - t0) / 1e6
}

/**
 * The disk's own ceilings for the camera's bytes, measured with `dd` in the same round (4 MiB blocks, as ingest's
 * chunks): a write with O_DIRECT and an fsync at the end (`write`, as ingest stages), an O_DIRECT read of what it
 * wrote (`read`, as the read-back reads), the two at once (`writeRead`: a second file written while the first is read
 * back: what write + read-back can reach) and the three at once with the camera's single file read too
 * (`copyReadBack`: camera read + write + read-back, everything ingest asks of this disk when the camera's image and
 * the vault share it, as here). Wall ms of each; the written files are removed.
 */
async function diskCeilings(source: string, bytes: number): Promise<{ write: number; read: number; writeRead: number; copyReadBack: number }> {
  const count = Math.ceil(bytes / (4 << 20))
  const a = join(work, 'dd-a')
  const b = join(work, 'dd-b')
  const ddWrite = (to: string): string => `dd if=/dev/zero of=${to} bs=4M count=${count} oflag=direct conv=fsync status=none`
  const ddRead = (from: string): string => `dd if=${from} of=/dev/null bs=4M iflag=direct status=none`
  try {
    const write = await together([ddWrite(a)])
    const read = await together([ddRead(a)])
    const writeRead = await together([ddWrite(b), ddRead(a)])
    rmSync(b, { force: true })
    evict(source)
    const copyReadBack = await together([ddWrite(b), ddRead(a), `dd if=${source} of=/dev/null bs=4M iflag=direct count=${count} status=none`])
    return { write, read, writeRead, copyReadBack }
  } finally {
    rmSync(a, { force: true })
    rmSync(b, { force: true })
  }
}

async function main(): Promise<void> {
  const cam = join(work, `cam-${values.size}`)
  if (!existsSync(join(cam, '.complete'))) {
    rmSync(cam, { recursive: true, force: true })
    console.log(`generating a ${values.size} fake camera in ${cam} ...`)
    sh(`bash ${root}/scripts/make-fake-camera --out ${cam} --size ${values.size} --quiet`)
    writeFileSync(join(cam, '.complete'), '')
  }
  const one = join(work, `one-${values.size}`)
  const oneFile = join(one, 'DCIM', 'A1B2C3D_012345_20261120080000_0001.MP4')
  if (!existsSync(join(one, '.complete'))) {
    rmSync(one, { recursive: true, force: true })
    mkdirSync(join(one, 'DCIM'), { recursive: true })
    sh(
      `cat ${files(cam)
        .filter((f) => !f.endsWith('.complete'))
        .join(' ')} > ${oneFile}`,
    )
    writeFileSync(join(one, '.complete'), '')
  }
  const bytes = total(cam)
  const mb = bytes / 1e6
  console.log(`camera: ${files(cam).length - 1} files, ${(bytes / 2 ** 30).toFixed(2)} GiB; single file: ${(statSync(oneFile).size / 2 ** 30).toFixed(2)} GiB`)

  const node = process.execPath
  const cli = join(root, 'bin', 'bodyvault.js')
  const dst = join(work, 'dst')
  const env = { ...process.env, BODYVAULT_DATA_DIR: dst, BODYVAULT_LOG_LEVEL: 'warn' }
  const ingestMs: number[] = []
  const cpSyncMs: number[] = []
  const cpShaMs: number[] = []
  const cpuPerGB: number[] = []
  const splits: NonNullable<Measured['split']>[] = []
  const loads: string[] = []
  // The fixed cost of a process (start-up, module loading, opening the vault): an ingest of a camera with one
  // small photo, same run (a camera with no media at all is refused with NO_MEDIA before any of that work).
  const empty = join(work, 'cam-empty')
  mkdirSync(join(empty, 'DCIM', '100MEDIA'), { recursive: true })
  writeFileSync(join(empty, 'DEVICE.TXT'), readFileSync(join(cam, 'DEVICE.TXT')))
  const photo = files(cam)
    .filter((f) => f.endsWith('.JPG'))
    .sort((a, b) => statSync(a).size - statSync(b).size)[0]!
  writeFileSync(join(empty, 'DCIM', '100MEDIA', photo.slice(photo.lastIndexOf('/') + 1)), readFileSync(photo))
  const fixed: number[] = []
  const ceilings: Awaited<ReturnType<typeof diskCeilings>>[] = []
  const disks: { settledS: number; probe: ReturnType<typeof latencyProbe>; ingest: DiskState | undefined; cp: DiskState | undefined }[] = []
  for (let r = 0; r < rounds; r++) {
    rmSync(dst, { recursive: true, force: true })
    // The last round's 2 GiB trimmed (discard), then the disk's latency this minute, then the ingest watched.
    const settledS = await settleDiscards(work)
    const probe = latencyProbe(work)
    loads.push(load())
    evict(cam)
    const watch = watchDisk(work)
    const ing = await measure(node, [cli, 'ingest', cam, '--json'], env)
    const ingDisk = watch.stop()
    ingestMs.push(ing.ms)
    cpuPerGB.push(ing.cpuSec! / (bytes / 1e9))
    splits.push(ing.split!)
    rmSync(dst, { recursive: true, force: true })
    fixed.push((await measure(node, [cli, 'ingest', empty, '--json'], env)).cpuSec!)
    rmSync(dst, { recursive: true, force: true })
    await settleDiscards(work)
    evict(cam)
    const cpWatch = watchDisk(work)
    const cp = await measure('bash', ['-c', `cp -r ${cam} ${dst} && sync`])
    const cpDisk = cpWatch.stop()
    cpSyncMs.push(cp.ms)
    disks.push({ settledS, probe, ingest: ingDisk, cp: cpDisk })
    rmSync(dst, { recursive: true, force: true })
    await settleDiscards(work)
    const ceil = await diskCeilings(oneFile, bytes)
    ceilings.push(ceil)
    let sha = ''
    if (!values['no-sha256sum']) {
      evict(cam)
      const cs = await measure('bash', ['-c', `cp -r ${cam} ${dst} && find ${cam} ${dst} -type f -print0 | xargs -0 sha256sum > /dev/null`])
      cpShaMs.push(cs.ms)
      sha = `, cp+sha256sum ${cs.ms.toFixed(0)} ms (${(cs.ms / ing.ms).toFixed(2)}x)`
    }
    console.log(
      `round ${r + 1} (load ${loads[r]}): ingest ${ing.ms.toFixed(0)} ms (${cpuPerGB[r]!.toFixed(2)} CPU-s/GB, ${(ing.cpuSec! / (ing.ms / 1000)).toFixed(2)} cores busy), cp+sync ${cp.ms.toFixed(0)} ms ` +
        `(${(cp.ms / ing.ms).toFixed(2)}x)${sha}; dd write+fsync ${ceil.write.toFixed(0)} ms, direct read ${ceil.read.toFixed(0)} ms, ` +
        `both at once ${ceil.writeRead.toFixed(0)} ms, with the camera read too ${ceil.copyReadBack.toFixed(0)} ms (${(cp.ms / ceil.copyReadBack).toFixed(2)}x)`,
    )
    console.log(
      `  disk: trims of the last round settled ${settledS.toFixed(1)} s; probe at depth 1: a 4 MiB direct write ${probe.writeMs.toFixed(0)} ms, read ${probe.readMs.toFixed(0)} ms; ` +
        `during ingest ${describeDisk(ingDisk)}; during cp+sync ${describeDisk(cpDisk)}`,
    )
  }
  rmSync(dst, { recursive: true, force: true })
  evict(one)
  const big = await measure(node, [cli, 'ingest', one, '--json'], env)
  rmSync(dst, { recursive: true, force: true })

  const rate = (ms: number): string => `${(mb / (ms / 1000)).toFixed(0)} MB/s`
  const verdict = (ok: boolean): string => (ok ? 'met' : 'missed')
  const r1 = med(cpSyncMs.map((c, i) => c / ingestMs[i]!))
  const r2 = cpShaMs.length ? med(cpShaMs.map((c, i) => c / ingestMs[i]!)) : null
  console.log('')
  console.log(`medians of ${rounds} rounds, camera files out of the page cache before each command (load average per round: ${loads.join(', ')})`)
  console.log(`ingest (copy + SHA-256 + read-back compare + fsync + commit): ${rate(med(ingestMs))}  (${med(ingestMs).toFixed(0)} ms)`)
  console.log(`cp -r + sync:                                                 ${rate(med(cpSyncMs))}  (${med(cpSyncMs).toFixed(0)} ms)`)
  if (cpShaMs.length) console.log(`cp -r, then sha256sum of source and copy:                     ${rate(med(cpShaMs))}  (${med(cpShaMs).toFixed(0)} ms)`)
  const cpu = med(cpuPerGB)
  const start = med(fixed)
  const perGB = cpu - start / (bytes / 1e9)
  console.log(
    `ingest CPU: ${cpu.toFixed(2)} CPU-s per GB for the whole process (user + system, median of ${cpuPerGB.length}: ${cpuPerGB.map((c) => c.toFixed(2)).join(', ')}); ` +
      `${perGB.toFixed(2)} CPU-s per GB without the ${start.toFixed(2)} CPU-s a process spends on a camera with one photo (goal <= 1.5) ${verdict(perGB <= 1.5)}`,
  )
  const gb = bytes / 1e9
  const sp = (k: keyof NonNullable<Measured['split']>): string => (med(splits.map((x) => x[k])) / gb).toFixed(2)
  console.log(
    `ingest CPU by thread (per GB, medians, start-up included): main thread ${sp('mainUser')} user + ${sp('mainSys')} system ` +
      `(hash, read-back compare, JS, SQLite); other threads ${sp('otherUser')} user + ${sp('otherSys')} system (libuv's reads, writes and fsyncs; V8's)`,
  )
  const f = floors()
  console.log(
    `floor: SHA-256 here costs ${f.hot.toFixed(2)} CPU-s per GB from the CPU cache, ${f.cold.toFixed(2)} from memory (4 MiB chunks of 256 MiB); ` +
      `the read-back's compare ${f.compare.toFixed(2)} (node, this run): ingest hashes every byte once and compares it once, ` +
      `${(f.cold + f.compare).toFixed(2)} CPU-s per GB it cannot avoid (the read-back compares the bytes written with what reached the disk)`,
  )
  const cm = (k: keyof (typeof ceilings)[number]): number => med(ceilings.map((c) => c[k]))
  console.log(
    `the disk's own ceilings, dd in 4 MiB blocks in the same rounds (medians): write with O_DIRECT + fsync ${rate(cm('write'))}, ` +
      `O_DIRECT read ${rate(cm('read'))}, write + read-back at once ${rate(cm('writeRead'))}, ` +
      `camera read + write + read-back at once ${rate(cm('copyReadBack'))}`,
  )
  const ceiling = med(cpSyncMs.map((c, i) => c / ceilings[i]!.copyReadBack))
  const ofCeiling = med(ceilings.map((c, i) => c.copyReadBack / ingestMs[i]!))
  console.log(
    `ceiling / (cp+sync): ${ceiling.toFixed(2)}x: what any copier that reads the camera, writes and reads back from this disk reaches` +
      `${ceiling < 0.6 ? ' (below the 0.6x goal: this disk cannot meet it)' : ''}; ingest reached ${ofCeiling.toFixed(2)}x of that ceiling`,
  )
  console.log(`ratio ingest / (cp+sync):       ${r1.toFixed(2)}x  (goal >= 0.6x) ${verdict(r1 >= 0.6)}`)
  if (r2 !== null) console.log(`ratio ingest / (cp+sha256sum):  ${r2.toFixed(2)}x  (goal >= 3x)   ${verdict(r2 >= 3)}`)
  const bigBytes = statSync(oneFile).size
  console.log(
    `peak RSS ingesting one ${(bigBytes / 2 ** 30).toFixed(2)} GiB file: ${((big.rssMiB * 2 ** 20) / 1e6).toFixed(0)} MB (goal < 150 MB) ${verdict(big.rssMiB * 2 ** 20 < 150e6)}; ` +
      `${(bigBytes / 1e6 / (big.ms / 1000)).toFixed(0)} MB/s on it`,
  )
  const dm = (f: (d: (typeof disks)[number]) => number | undefined): string => med(disks.map((d) => f(d) ?? 0)).toFixed(1)
  console.log(
    `the disk during the rounds (medians): 4 MiB direct write ${dm((d) => d.probe.writeMs)} ms, read ${dm((d) => d.probe.readMs)} ms at depth 1 (probe before each ingest); ` +
      `in flight during ingest ${dm((d) => d.ingest?.depth)} (busy ${dm((d) => d.ingest?.busyPct)}%), during cp+sync ${dm((d) => d.cp?.depth)} (busy ${dm((d) => d.cp?.busyPct)}%)`,
  )
  console.log(`(load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`)
}

await main()
