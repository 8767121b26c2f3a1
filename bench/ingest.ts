/**
 * Ingest benchmark: our ingest against baselines measured in the same run
 * on the same files (page cache warm for all of them):
 *   - plain `cp -r` + `sync`
 *   - `cp -r`, then `sha256sum` of the source files and of the copies
 * plus peak RSS of an ingest of one 2 GiB file, and the ingest's CPU time
 * per GB (user + system of the whole process, worker threads included, from
 * its own process.resourceUsage() at exit), beside the floor: the CPU one
 * SHA-256 pass costs here, measured in this run (ingest hashes every byte
 * twice). Goals: >= 0.6x cp + sync, <= 1.5 CPU-s per GB, peak RSS < 150 MiB.
 *
 *   node dist/bench/ingest.js [--size 2G] [--work DIR] [--rounds 2]
 */
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { packageRoot } from '../src/common/paths.js'

const { values } = parseArgs({ options: { size: { type: 'string', default: '2G' }, work: { type: 'string' }, rounds: { type: 'string', default: '2' } } })
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

/**
 * Preloaded into a measured node process: at exit it writes its own
 * process.resourceUsage() (user and system CPU of all its threads, max RSS) to fd 3.
 */
const USAGE_PROBE =
  "data:text/javascript,import{writeSync}from'node:fs';process.on('exit',()=>{try{writeSync(3,JSON.stringify(process.resourceUsage()))}catch{}})"

interface Measured {
  ms: number
  rssMiB: number
  /** CPU seconds (user + system) the process reported for itself; null for a command that is not node. */
  cpuSec: number | null
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
  if (!isNode) return { ms, rssMiB: hwm / 1024, cpuSec: null }
  const u = JSON.parse(usage) as { userCPUTime: number; systemCPUTime: number; maxRSS: number }
  return { ms, rssMiB: Math.max(hwm, u.maxRSS) / 1024, cpuSec: (u.userCPUTime + u.systemCPUTime) / 1e6 }
}

/** CPU seconds per GB of one SHA-256 pass in this process (median of 3 passes over 256 MiB): the floor ingest pays twice. */
function shaCpuPerGB(): number {
  const buf = Buffer.alloc(1 << 20, 7)
  const runs: number[] = []
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage()
    const h = createHash('sha256')
    for (let i = 0; i < 256; i++) h.update(buf)
    h.digest()
    const c = process.cpuUsage(c0)
    runs.push((c.user + c.system) / 1e6 / ((256 * 2 ** 20) / 1e9))
  }
  return runs.sort((a, b) => a - b)[1]!
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
  sh(`cat ${cam}/*/*/* ${cam}/*/* ${oneFile} > /dev/null 2>&1 || true`)

  const node = process.execPath
  const cli = join(root, 'bin', 'bodyvault.js')
  const dst = join(work, 'dst')
  const best = { ingest: Infinity, cpSync: Infinity, cpSha: Infinity }
  const cpuPerGB: number[] = []
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
  for (let r = 0; r < rounds; r++) {
    rmSync(dst, { recursive: true, force: true })
    loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!)
    const ing = await measure(node, [cli, 'ingest', cam, '--json'], { ...process.env, BODYVAULT_DATA_DIR: dst, BODYVAULT_LOG_LEVEL: 'warn' })
    best.ingest = Math.min(best.ingest, ing.ms)
    cpuPerGB.push(ing.cpuSec! / (bytes / 1e9))
    rmSync(dst, { recursive: true, force: true })
    fixed.push((await measure(node, [cli, 'ingest', empty, '--json'], { ...process.env, BODYVAULT_DATA_DIR: dst, BODYVAULT_LOG_LEVEL: 'warn' })).cpuSec!)
    rmSync(dst, { recursive: true, force: true })
    const cp = await measure('bash', ['-c', `cp -r ${cam} ${dst} && sync`])
    best.cpSync = Math.min(best.cpSync, cp.ms)
    rmSync(dst, { recursive: true, force: true })
    const cs = await measure('bash', ['-c', `cp -r ${cam} ${dst} && find ${cam} ${dst} -type f -print0 | xargs -0 sha256sum > /dev/null`])
    best.cpSha = Math.min(best.cpSha, cs.ms)
    console.log(
      `round ${r + 1} (load ${loads[r]}): ingest ${ing.ms.toFixed(0)} ms (${cpuPerGB[r]!.toFixed(2)} CPU-s/GB), cp+sync ${cp.ms.toFixed(0)} ms, cp+sha256sum ${cs.ms.toFixed(0)} ms`,
    )
  }
  rmSync(dst, { recursive: true, force: true })
  const big = await measure(node, [cli, 'ingest', one, '--json'], { ...process.env, BODYVAULT_DATA_DIR: dst, BODYVAULT_LOG_LEVEL: 'warn' })
  rmSync(dst, { recursive: true, force: true })

  const rate = (ms: number): string => `${(mb / (ms / 1000)).toFixed(0)} MB/s`
  const r1 = best.cpSync / best.ingest
  const r2 = best.cpSha / best.ingest
  console.log('')
  console.log(`ingest (copy + SHA-256 + fsync + read-back + commit): ${rate(best.ingest)}  (${best.ingest.toFixed(0)} ms)`)
  console.log(`cp -r + sync:                                         ${rate(best.cpSync)}  (${best.cpSync.toFixed(0)} ms)`)
  console.log(`cp -r, then sha256sum of source and copy:             ${rate(best.cpSha)}  (${best.cpSha.toFixed(0)} ms)`)
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const cpu = med(cpuPerGB)
  const start = med(fixed)
  const perGB = cpu - start / (bytes / 1e9)
  console.log(
    `ingest CPU: ${cpu.toFixed(2)} CPU-s per GB for the whole process (user + system, median of ${cpuPerGB.length}: ${cpuPerGB.map((c) => c.toFixed(2)).join(', ')}); ` +
      `${perGB.toFixed(2)} CPU-s per GB without the ${start.toFixed(2)} CPU-s a process spends on a camera with one photo (goal <= 1.5) ${perGB <= 1.5 ? 'ok' : 'MISSED'}`,
  )
  const sha = shaCpuPerGB()
  console.log(
    `floor: SHA-256 here costs ${sha.toFixed(2)} CPU-s per GB (node createHash, 1 MiB updates, this run); ingest hashes every byte twice ` +
      `(camera read, read-back of the vault copy): ${(2 * sha).toFixed(2)} CPU-s per GB before any I/O`,
  )
  console.log(`ratio ingest / (cp+sync):       ${r1.toFixed(2)}x  (goal >= 0.6x) ${r1 >= 0.6 ? 'ok' : 'MISSED'}`)
  console.log(`ratio ingest / (cp+sha256sum):  ${r2.toFixed(2)}x  (goal >= 3x)   ${r2 >= 3 ? 'ok' : 'MISSED'}`)
  console.log(
    `peak RSS ingesting one ${(statSync(oneFile).size / 2 ** 30).toFixed(2)} GiB file: ${big.rssMiB.toFixed(0)} MiB (goal < 150 MiB) ${big.rssMiB < 150 ? 'ok' : 'MISSED'}; ${(statSync(oneFile).size / 1e6 / (big.ms / 1000)).toFixed(0)} MB/s on it`,
  )
  console.log(`(load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})`)
}

await main()
