// Verify's object re-hash against one `sha256sum` over the same objects, page cache warm.
//   npx tsc -p tsconfig.json && node dist/bench/verify.js [--mib 1024] [--objects 32] [--rounds 3] [--threads N]
// Fills a vault (a temporary folder) with `--objects` objects of `--mib` MiB in all, named by their SHA-256 as
// the vault names them, reads each once (so both sides hash from the page cache), then in alternating rounds
// (the order swapped every round) times:
//   - the object re-hash of `bodyvault verify`: rehashObjects (src/vault/rehash.ts) with verify's own hasher
//     (src/verify/vault.ts objectHashing: its HashPool, one thread per core, its lanes and read size), the
//     objects' list as verify hands it over; every object must come out whole;
//   - one `sha256sum` process over the same files (coreutils: one thread).
// Each round prints both walls, the ratio (sha256sum wall / re-hash wall), the re-hash's CPU (this process,
// all threads) and sha256sum's (its own rusage), and the load average. Goal: median ratio >= 1.5.
// The machine may be shared: a busy core slows the re-hash's threads first (it needs both cores, sha256sum one).
import { spawnSync } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, openSync, readFileSync, closeSync, readSync, renameSync, rmSync, writeSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { rehashObjects } from '../src/vault/rehash.js'
import { Vault } from '../src/vault/store.js'
import { objectHashing } from '../src/verify/vault.js'

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '1024' },
    objects: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string' },
  },
})
const MIB = Number(values.mib)
const OBJECTS = Number(values.objects)
const ROUNDS = Number(values.rounds)
const THREADS = values.threads === undefined ? undefined : Number(values.threads)
if (![MIB, OBJECTS, ROUNDS].every((n) => Number.isSafeInteger(n) && n >= 1) || (THREADS !== undefined && !(THREADS >= 1))) {
  console.error('usage: node dist/bench/verify.js [--mib >= 1] [--objects >= 1] [--rounds >= 1] [--threads >= 1]')
  process.exit(2)
}
const GOAL = 1.5
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
const cpuS = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
/** CPU-seconds of this process's waited-for children (cutime + cstime of /proc/self/stat, in clock ticks of 1/100 s). */
const childCpuS = (): number => {
  const f = readFileSync('/proc/self/stat', 'utf8')
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return (Number(rest[13]) + Number(rest[14])) / 100
}
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const gbs = (bytes: number, s: number): string => `${(bytes / s / 1e9).toFixed(2)} GB/s`

const dir = mkdtempSync(join(tmpdir(), 'bv-bench-verify-'))
try {
  const vault = new Vault(dir)
  vault.ensureLayout()
  // Objects of random bytes: one random block, each chunk stamped with its object and offset so that no two are alike.
  const bytes = MIB * 2 ** 20
  const each = Math.ceil(bytes / OBJECTS)
  const block = randomFillSync(Buffer.allocUnsafe(4 << 20))
  const needed = new Map<string, { size: number; ids: number[] }>()
  const paths: string[] = []
  let t = performance.now()
  for (let o = 0; o < OBJECTS; o++) {
    const size = Math.min(each, bytes - o * each)
    if (size <= 0) break
    const part = join(vault.stagingDir, `${o}.part`)
    const fd = openSync(part, 'w')
    const h = createHash('sha256')
    for (let at = 0; at < size; at += block.length) {
      block.writeUInt32LE(o, 0)
      block.writeUInt32LE(at / block.length, 4)
      const chunk = block.subarray(0, Math.min(block.length, size - at))
      h.update(chunk)
      writeSync(fd, chunk)
    }
    closeSync(fd)
    const sha = h.digest('hex')
    const path = vault.objectPath(sha)
    mkdirSync(dirname(path), { recursive: true })
    renameSync(part, path)
    needed.set(sha, { size, ids: [o + 1] })
    paths.push(path)
  }
  const total = [...needed.values()].reduce((a, n) => a + n.size, 0)
  console.log(
    `verify bench: ${needed.size} objects, ${(total / 2 ** 20).toFixed(0)} MiB, node ${process.version}, ${availableParallelism()} cores, load average ${load()} at start; written in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  )
  // Warm: every object read once, so both sides hash from the page cache.
  t = performance.now()
  const buf = Buffer.allocUnsafe(4 << 20)
  for (const p of paths) {
    const fd = openSync(p, 'r')
    while (readSync(fd, buf, 0, buf.length, null) > 0);
    closeSync(fd)
  }
  console.log(`page cache warmed (every object read once) in ${((performance.now() - t) / 1000).toFixed(2)} s`)

  /** The objects part of `bodyvault verify` on these objects: verify's hasher, its lanes, its re-hash. */
  const rehash = async (): Promise<{ s: number; cpu: number; threads: number }> => {
    const c = cpuS()
    const t0 = performance.now()
    const hashing = objectHashing(THREADS ? { threads: THREADS } : {})
    let r: Awaited<ReturnType<typeof rehashObjects>>
    try {
      r = await rehashObjects(vault, needed, {
        hash: hashing.hash,
        lanes: hashing.lanes,
        subject: (sha) => `object:${sha}`,
        usedBy: ({ ids }) => ids.map((i) => `recording:${i}`).join(', '),
        altered: 'the object was altered',
      })
    } finally {
      await hashing.close()
    }
    const s = (performance.now() - t0) / 1000
    if (r.problems.length || r.missing.length || r.objects !== needed.size || r.bytes !== total)
      throw new Error(`the re-hash found problems in whole objects: ${JSON.stringify([...r.problems, ...r.missing].slice(0, 3))}`)
    return { s, cpu: cpuS() - c, threads: hashing.lanes / 2 }
  }
  const sha256sum = (): { s: number; cpu: number } => {
    const c = childCpuS()
    const t0 = performance.now()
    const out = spawnSync('sha256sum', paths, { encoding: 'utf8', maxBuffer: 64 << 20 })
    const s = (performance.now() - t0) / 1000
    if (out.status !== 0) throw new Error(`sha256sum failed: ${out.stderr}`)
    // Its answers checked too: the baseline must have hashed every byte.
    const got = out.stdout.trim().split('\n')
    if (got.length !== paths.length || got.some((l, i) => l.slice(0, 64) !== paths[i]!.slice(-64)))
      throw new Error('sha256sum disagrees with the objects names')
    return { s, cpu: childCpuS() - c }
  }

  const ratios: number[] = []
  const ours: number[] = []
  const theirs: number[] = []
  for (let i = 1; i <= ROUNDS; i++) {
    // Alternated: whichever runs second may find the other's threads still leaving a core.
    let a: Awaited<ReturnType<typeof rehash>>
    let b: ReturnType<typeof sha256sum>
    if (i % 2) {
      a = await rehash()
      b = sha256sum()
    } else {
      b = sha256sum()
      a = await rehash()
    }
    const ratio = b.s / a.s
    ratios.push(ratio)
    ours.push(a.s)
    theirs.push(b.s)
    console.log(
      `round ${i}: verify re-hash ${a.s.toFixed(2)} s (${gbs(total, a.s)}, ${a.cpu.toFixed(2)} CPU-s, ${a.threads} threads), sha256sum ${b.s.toFixed(2)} s (${gbs(total, b.s)}, ${b.cpu.toFixed(2)} CPU-s): ${ratio.toFixed(2)}x, load average ${load()}`,
    )
  }
  const m = med(ratios)
  console.log(
    `verify, object re-hash (warm cache)  ${m.toFixed(2)}x one sha256sum, median of ${ROUNDS} rounds (re-hash ${med(ours).toFixed(2)} s, sha256sum ${med(theirs).toFixed(2)} s), load average ${load()}  [goal >= ${GOAL}x: ${m >= GOAL ? 'met' : 'missed'}]`,
  )
  const rss = process.memoryUsage().rss
  console.log(`rss ${(rss / 2 ** 20).toFixed(0)} MiB at end`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
