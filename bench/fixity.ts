/**
 * Fixity benchmark (issue 13), on one station with random originals:
 *
 * 1. Serving: GET /v1/recordings/:id/original through the real API with
 *    every block checked (the station's Fixity) against the same route with
 *    today's plain stream (no check), downloaded whole by a second process
 *    (bench/fixity-load.ts) for a few seconds each, alternating; goal: the
 *    checked route at >= 0.8x the plain one's throughput.
 * 2. The fixity job (every object re-hashed, whole SHA-256 and block list)
 *    at its default budget and flat out, next to `sha256sum` of the same
 *    files.
 *
 * Objects are in the page cache (written just before): these are CPU
 * figures, the disk's own speed is not measured. Medians of --runs rounds;
 * the load average and the load generator's CPU are printed beside them.
 *
 *   node dist/bench/fixity.js [--mib 256] [--files 4] [--seconds 5] [--runs 3]
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildApi } from '../src/api/app.js'
import { createToken } from '../src/api/tokens.js'
import { loadProfiles } from '../src/camera/profile.js'
import { silentLogger } from '../src/common/log.js'
import { packageRoot } from '../src/common/paths.js'
import { loadConfig } from '../src/config/load.js'
import type { CheckedObject } from '../src/fixity/fixity.js'
import { runFixity } from '../src/fixity/job.js'
import { budgetBytesPerSec } from '../src/fixity/schedule.js'
import { openStation } from '../src/station/station.js'

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    files: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
  },
})
const FILES = Number(values.files)
const FILE_BYTES = Math.floor((Number(values.mib) << 20) / FILES)
const RUNS = Number(values.runs)
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000)
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

const dir = mkdtempSync(join(tmpdir(), 'bv-bench-fixity-'))
const cam = join(dir, 'cam', 'DCIM')
mkdirSync(cam, { recursive: true })
for (let i = 0; i < FILES; i++)
  writeFileSync(join(cam, `A1B2C3D_012345_2026112008${String(i).padStart(2, '0')}00_${String(i + 1).padStart(4, '0')}.MP4`), randomBytes(FILE_BYTES))
const loaded = loadConfig({ env: {} })
const st = openStation({
  config: { ...loaded, dataDir: join(dir, 'data'), docking: { ...loaded.docking, mountRoots: [join(dir, 'none')] } },
  logger: silentLogger(),
})
const profile = loadProfiles(join(packageRoot(), 'docking')).get('gat947')!
const { ingested } = await st.ingest({ root: join(dir, 'cam'), profile })
console.log(`${ingested.length} originals of ${(FILE_BYTES / 1e6).toFixed(1)} MB (${((ingested.length * FILE_BYTES) / 1e6).toFixed(0)} MB), in the page cache`)

// 1. Serving, checked and plain.
const plain = async (sha256: string, size: number): Promise<CheckedObject> => ({
  sha256,
  size,
  // Today's stream before issue 13: the file as it is, unchecked.
  stream: async (start, end) => createReadStream(st.vault.objectPath(sha256), { start, end, highWaterMark: 1 << 20 }),
  verify: async () => undefined,
})
const apiDeps = { db: st.db, vault: st.vault, logger: silentLogger(), station: st.cfg.station, policy: st.policy, rateLimitPerMinute: 10_000_000 }
const checkedApp = await buildApi({ ...apiDeps, openChecked: st.openChecked })
const plainApp = await buildApi({ ...apiDeps, openChecked: plain })
const checkedBase = await checkedApp.listen({ host: '127.0.0.1', port: 0 })
const plainBase = await plainApp.listen({ host: '127.0.0.1', port: 0 })
const token = createToken(st.db, { name: 'bench', role: 'clerk', actor: 'bench' }).secret
const urls = (base: string): string[] => ingested.map((r) => `${base}/v1/recordings/${r.id}/original?reason=benchmark`)
for (const u of urls(checkedBase)) await fetch(u, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer()) // block lists made once

async function load(base: string): Promise<{ mbps: number; cpuPerGb: number; requests: number }> {
  const child = spawn(process.execPath, [join(packageRoot(), 'dist', 'bench', 'fixity-load.js')], { stdio: ['pipe', 'pipe', 'inherit'] })
  child.stdin.end(JSON.stringify({ urls: urls(base), token, seconds: Number(values.seconds) }))
  let out = ''
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString()
  })
  const code = await new Promise((r) => child.on('exit', r))
  if (code !== 0) throw new Error(`the load generator failed (exit ${code}): see its stderr above`)
  const r = JSON.parse(out) as { bytes: number; ms: number; requests: number; cpuMs: number }
  return { mbps: mbps(r.bytes, r.ms), cpuPerGb: r.cpuMs / 1000 / (r.bytes / 1e9), requests: r.requests }
}

console.log(`\nserving originals whole, one connection, ${values.seconds} s a round, ${RUNS} round(s) each, alternating`)
const served: { checked: number[]; plain: number[]; genCpu: number[] } = { checked: [], plain: [], genCpu: [] }
for (let i = 0; i < RUNS; i++) {
  const p = await load(plainBase)
  const c = await load(checkedBase)
  served.plain.push(p.mbps)
  served.checked.push(c.mbps)
  served.genCpu.push(c.cpuPerGb, p.cpuPerGb)
  console.log(`  round ${i + 1}: plain ${p.mbps.toFixed(0)} MB/s, checked ${c.mbps.toFixed(0)} MB/s (load average ${loadavg()})`)
}
const ratio = median(served.checked) / median(served.plain)
// On a shared machine one round can be several times faster than the next: the ratio within
// each round (plain and checked back to back) is the steadier figure.
const paired = median(served.checked.map((c, i) => c / served.plain[i]!))
console.log(
  `  median: checked ${median(served.checked).toFixed(0)} MB/s, plain ${median(served.plain).toFixed(0)} MB/s: ${ratio.toFixed(2)}x; median of the rounds' ratios ${paired.toFixed(2)}x; goal >= 0.8x: ${Math.min(ratio, paired) >= 0.8 ? 'ok' : 'MISSED'}`,
)
console.log(`  load generator CPU: ${median(served.genCpu).toFixed(2)} s per GB downloaded (a second process on the same 2 cores)`)
await checkedApp.close()
await plainApp.close()

// 2. The fixity job, at its default budget and flat out, against sha256sum of the same files.
const paths = ingested.map((r) => st.vault.objectPath(r.sha256))
const total = ingested.length * FILE_BYTES
console.log(`\nthe fixity job over ${(total / 1e6).toFixed(0)} MB (whole SHA-256 and block list of every object)`)
const sums: number[] = []
const flat: number[] = []
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now()
  const r = spawnSync('sha256sum', paths, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`sha256sum failed: ${r.stderr}`)
  sums.push(mbps(total, performance.now() - t0))
  const job = await runFixity(st.fixity, { scope: 'all', trigger: 'manual', budgetBytesPerSec: 0 })
  flat.push(mbps(job.bytes, job.durationMs))
  console.log(`  round ${i + 1}: sha256sum ${sums.at(-1)!.toFixed(0)} MB/s, job flat out ${flat.at(-1)!.toFixed(0)} MB/s (load average ${loadavg()})`)
}
const budget = budgetBytesPerSec(st.cfg.fixity.budgetMBps)
const atBudget = await runFixity(st.fixity, { scope: 'all', trigger: 'manual' })
console.log(
  `  median: sha256sum ${median(sums).toFixed(0)} MB/s; job flat out ${median(flat).toFixed(0)} MB/s (${(median(flat) / median(sums)).toFixed(2)}x sha256sum)`,
)
console.log(
  `  at the default budget (fixity.budgetMBps ${st.cfg.fixity.budgetMBps}): ${mbps(atBudget.bytes, atBudget.durationMs).toFixed(1)} MB/s, budget ${(budget / 1e6).toFixed(1)} MB/s`,
)
console.log(`(load average at the end: ${loadavg()})`)
st.close()
rmSync(dir, { recursive: true, force: true })
