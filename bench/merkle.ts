// Merkle tree benchmark: 1,000,000 leaves.
//   npx tsc -p tsconfig.json && node dist/bench/merkle.js [leaves] [samples]
// Prints append time, root time, inclusion and consistency proof times
// (generate + verify, mean and max over random samples) and peak RSS.
import { createHash } from 'node:crypto'
import { HASH_SIZE, MerkleTree, leafHash } from '../src/ledger/merkle.js'
import { verifyConsistency, verifyInclusion } from '../src/ledger/merkle-proofs.js'

const LEAVES = Number(process.argv[2] ?? 1_000_000)
const SAMPLES = Number(process.argv[3] ?? 1_000)
if (!Number.isSafeInteger(LEAVES) || LEAVES < 2 || !Number.isSafeInteger(SAMPLES) || SAMPLES < 1) {
  console.error('usage: node dist/bench/merkle.js [leaves >= 2] [samples >= 1]')
  process.exit(2)
}

const now = (): bigint => process.hrtime.bigint()
const ms = (ns: bigint | number): string => (Number(ns) / 1e6).toFixed(3)
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

/** Deterministic PRNG (mulberry32) so runs pick the same samples. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
const random = rng(6962)
const randInt = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1)) // inclusive

interface Stat {
  mean: number
  p50: number
  p99: number
  max: number
}
function stat(samples: bigint[]): Stat {
  const sorted = samples.map(Number).sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  const sum = sorted.reduce((a, b) => a + b, 0)
  return { mean: sum / sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) }
}
const fmt = (s: Stat): string => `mean ${ms(s.mean)} ms, p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)} ms`

// Leaf hashes of stand-in event hashes, packed in one buffer so that timing the
// appends measures the tree, not the input generation.
let t0 = now()
const input = new Uint8Array(LEAVES * HASH_SIZE)
const counter = Buffer.alloc(8)
for (let i = 0; i < LEAVES; i++) {
  counter.writeBigUInt64BE(BigInt(i))
  const eventHash = createHash('sha256').update(counter).digest()
  input.set(leafHash(eventHash), i * HASH_SIZE)
}
const genNs = now() - t0

const tree = new MerkleTree()
t0 = now()
for (let i = 0; i < LEAVES; i++) tree.append(input.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))
const appendNs = now() - t0

t0 = now()
const root = tree.root()
const rootNs = now() - t0
t0 = now()
tree.root()
const cachedRootNs = now() - t0

const rootAtTimes: bigint[] = []
const rootsAt = new Map<number, Buffer>()
for (let s = 0; s < SAMPLES; s++) {
  const size = randInt(1, LEAVES)
  const a = now()
  rootsAt.set(size, tree.rootAt(size))
  rootAtTimes.push(now() - a)
}

let failures = 0
const inclGen: bigint[] = []
const inclBoth: bigint[] = []
// Process CPU time of each sample too: on a busy machine the wall-clock maximum
// mostly measures time spent preempted, not work done.
const inclCpu: bigint[] = []
let proofLen = 0
for (let s = 0; s < SAMPLES; s++) {
  const index = randInt(0, LEAVES - 1)
  const leaf = input.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE)
  const cpu0 = process.cpuUsage()
  const a = now()
  const proof = tree.inclusionProof(index, LEAVES)
  const b = now()
  const ok = verifyInclusion(index, LEAVES, leaf, proof, root)
  const c = now()
  const cpu = process.cpuUsage(cpu0)
  inclCpu.push(BigInt((cpu.user + cpu.system) * 1000))
  if (!ok) failures++
  proofLen = Math.max(proofLen, proof.length)
  inclGen.push(b - a)
  inclBoth.push(c - a)
}

const consGen: bigint[] = []
const consBoth: bigint[] = []
for (let s = 0; s < SAMPLES; s++) {
  const size1 = randInt(1, LEAVES - 1)
  const root1 = tree.rootAt(size1)
  const a = now()
  const proof = tree.consistencyProof(size1, LEAVES)
  const b = now()
  const ok = verifyConsistency(size1, LEAVES, proof, root1, root)
  const c = now()
  if (!ok) failures++
  consGen.push(b - a)
  consBoth.push(c - a)
}

const ig = stat(inclGen)
const ib = stat(inclBoth)
const ic = stat(inclCpu)
const cg = stat(consGen)
const cb = stat(consBoth)
const ra = stat(rootAtTimes)
const mem = process.memoryUsage()
const peakRssKiB = process.resourceUsage().maxRSS

console.log(`merkle bench: ${LEAVES.toLocaleString('en-US')} leaves, ${SAMPLES} samples, node ${process.version}`)
console.log(`input leaf hashes generated          ${ms(genNs)} ms (not part of the tree)`)
console.log(`append ${LEAVES} leaves               ${ms(appendNs)} ms (${(Number(appendNs) / LEAVES / 1000).toFixed(3)} us/leaf)`)
console.log(`root() after last append            ${ms(rootNs)} ms (cached: ${ms(cachedRootNs)} ms)`)
console.log(`rootAt(random size)                  ${fmt(ra)}`)
console.log(`inclusion proof, generate            ${fmt(ig)} (${proofLen} elements max)`)
console.log(`inclusion proof, generate + verify   ${fmt(ib)}`)
console.log(`  same, process CPU time (1 us res.)  ${fmt(ic)}`)
console.log(`consistency proof, generate          ${fmt(cg)}`)
console.log(`consistency proof, generate + verify ${fmt(cb)}`)
console.log(`tree storage                         ${mib(tree.byteLength)} MiB (leaf hashes alone: ${mib(LEAVES * HASH_SIZE)} MiB)`)
console.log(`input buffer                         ${mib(input.byteLength)} MiB`)
console.log(
  `peak RSS                             ${mib(peakRssKiB * 1024)} MiB (now: rss ${mib(mem.rss)} MiB, heap ${mib(mem.heapUsed)} MiB, arrayBuffers ${mib(mem.arrayBuffers)} MiB)`,
)
console.log(`verification failures                ${failures}`)
if (failures > 0) process.exitCode = 1
