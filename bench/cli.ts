// CLI start-up cost: median CPU-s (user + sys, from /usr/bin/time) of one
// `bodyvault` process for `status` (no daemon running: it loads, asks, says
// so), `categorize --help` and an ingest of one small camera folder, each in
// its own fresh data dir. CLI-heavy test files pay this per process.
//   npx tsc -p tsconfig.json && node dist/bench/cli.js [runs]
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'

const RUNS = Number(process.argv[2] ?? 9)
if (!Number.isSafeInteger(RUNS) || RUNS < 1) {
  console.error('usage: node dist/bench/cli.js [runs >= 1]')
  process.exit(2)
}
const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'bodyvault.js')
const work = mkdtempSync(join(tmpdir(), 'bv-bench-cli-'))
const camera = join(work, 'camera')
execFileSync('bash', [join(ROOT, 'scripts/make-fake-camera'), '--out', camera, '--count', '6', '--quiet'])
// One small file (a 53 kB still) and the camera's DEVICE.TXT: the cost measured is the process's, not the copy's.
for (const f of readdirSync(camera, { recursive: true, encoding: 'utf8' })) if (/\.(MP4|SRT|AVI|WAV)$|_0002\.JPG$/.test(f)) rmSync(join(camera, f))

/** CPU-s of one CLI process in a fresh data dir; the config pinned (no system config, no host mount roots). */
function cpu(args: string[]): number {
  const data = mkdtempSync(join(work, 'data-'))
  const times = join(data, 'times')
  const env = { PATH: process.env.PATH ?? '', BODYVAULT_SYSTEM_CONFIG: 'none', BODYVAULT_DATA_DIR: data, BODYVAULT_LISTEN: '127.0.0.1:1', XDG_STATE_HOME: data }
  spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', times, process.execPath, BIN, ...args], { env, stdio: 'ignore' })
  const [user, sys] = readFileSync(times, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
  rmSync(data, { recursive: true, force: true })
  return user! + sys!
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const cases: [string, string[]][] = [
  ['status', ['status']],
  ['categorize --help', ['categorize', '--help']],
  ['ingest (1 file)', ['ingest', camera]],
]
console.log(
  `load average before: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${RUNS} runs each`,
)
for (const [name, args] of cases) {
  const xs = Array.from({ length: RUNS }, () => cpu(args))
  console.log(`${name.padEnd(20)} median ${median(xs).toFixed(2)} CPU-s (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`)
}
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
rmSync(work, { recursive: true, force: true })
