// MerkleTree against an independent, deliberately naive implementation of the
// RFC 6962 section 2.1 definitions (MTH, PATH, PROOF/SUBPROOF), written here
// with its own hashing so that a shared bug cannot hide.
import t from 'tap'
import { createHash } from 'node:crypto'
import { MerkleTree, emptyRoot, leafHash, nodeHash, rootFromLeafHashes } from '../src/ledger/merkle.js'
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../src/ledger/merkle-proofs.js'

const MAX = 64

// ---- reference implementation (RFC 6962 2.1, recursive, on arrays) --------

function sha(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const refLeaf = (d: Uint8Array): Buffer => sha(Uint8Array.of(0), d)
const refNode = (l: Uint8Array, r: Uint8Array): Buffer => sha(Uint8Array.of(1), l, r)

/** Largest power of two strictly less than n (n > 1), by doubling. */
function k(n: number): number {
  let p = 1
  while (p * 2 < n) p *= 2
  return p
}

/** MTH(D[n]) over leaf hashes. */
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha()
  if (d.length === 1) return d[0] as Buffer
  const s = k(d.length)
  return refNode(mth(d.slice(0, s)), mth(d.slice(s)))
}

/** PATH(m, D[n]) of RFC 6962 2.1.1. */
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return []
  const s = k(d.length)
  if (m < s) return [...path(m, d.slice(0, s)), mth(d.slice(s))]
  return [...path(m - s, d.slice(s)), mth(d.slice(0, s))]
}

/** SUBPROOF(m, D[n], b) of RFC 6962 2.1.2. */
function subproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  const n = d.length
  if (m === n) return b ? [] : [mth(d)]
  const s = k(n)
  if (m <= s) return [...subproof(m, d.slice(0, s), b), mth(d.slice(s))]
  return [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))]
}
const proof = (m: number, d: Buffer[]): Buffer[] => subproof(m, d, true)

// ---- data -------------------------------------------------------------------

/** 32-byte stand-ins for event hashes, and their leaf hashes. */
const events = Array.from({ length: MAX }, (_, i) => sha(Buffer.from(`event ${i}`)))
const leaves = events.map(refLeaf)
const roots = Array.from({ length: MAX + 1 }, (_, n) => mth(leaves.slice(0, n)))

const hex = (bs: readonly Uint8Array[]): string[] => bs.map((b) => Buffer.from(b).toString('hex'))

function flipped(p: Buffer[], i: number, byte = 7): Buffer[] {
  return p.map((e, j) => {
    if (j !== i) return e
    const c = Buffer.from(e)
    c[byte] = (c[byte] as number) ^ 0x01
    return c
  })
}

// ---- tests ------------------------------------------------------------------

t.test('hashing primitives', async (t) => {
  t.equal(emptyRoot().toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'empty tree root')
  t.same(hex([leafHash(events[0] as Buffer)]), hex([refLeaf(events[0] as Buffer)]), 'leafHash (32-byte input)')
  t.same(hex([leafHash(Buffer.from('abc'))]), hex([refLeaf(Buffer.from('abc'))]), 'leafHash (other length)')
  t.same(hex([leafHash(new Uint8Array(0))]), hex([refLeaf(new Uint8Array(0))]), 'leafHash (empty input)')
  const a = leaves[0] as Buffer
  const b = leaves[1] as Buffer
  t.same(hex([nodeHash(a, b)]), hex([refNode(a, b)]), 'nodeHash (32+32)')
  t.same(hex([nodeHash(Buffer.from('x'), b)]), hex([refNode(Buffer.from('x'), b)]), 'nodeHash (other lengths)')
  for (let n = 0; n <= MAX; n++) {
    if (!rootFromLeafHashes(leaves.slice(0, n)).equals(roots[n] as Buffer)) t.fail(`rootFromLeafHashes(${n})`)
  }
  t.pass('rootFromLeafHashes matches MTH for 0..64 leaves')
})

t.test('root() after each append and rootAt() of every earlier size', async (t) => {
  const tree = new MerkleTree()
  t.same(hex([tree.root()]), hex([roots[0] as Buffer]), 'empty tree')
  const bad: string[] = []
  for (let n = 1; n <= MAX; n++) {
    t.equal(tree.append(leaves[n - 1] as Buffer), n - 1, 'append returns the leaf index')
    t.equal(tree.size, n)
    if (!tree.root().equals(roots[n] as Buffer)) bad.push(`root() at ${n}`)
    for (let s = 0; s <= n; s++) if (!tree.rootAt(s).equals(roots[s] as Buffer)) bad.push(`rootAt(${s}) at ${n}`)
  }
  t.same(bad, [], 'every root equals the recursive MTH')
  const built = new MerkleTree(leaves)
  t.same(hex([built.root()]), hex([roots[MAX] as Buffer]), 'constructor from leaf hashes')
  const viaData = new MerkleTree()
  for (const e of events) viaData.appendData(e)
  t.same(hex([viaData.root()]), hex([roots[MAX] as Buffer]), 'appendData hashes the leaf')
  t.same(hex([built.leaf(5)]), hex([leaves[5] as Buffer]), 'leaf(i)')
})

t.test('inclusion proofs for every size 1..64 and every leaf', async (t) => {
  const tree = new MerkleTree(leaves)
  for (let n = 1; n <= MAX; n++) {
    const d = leaves.slice(0, n)
    const root = roots[n] as Buffer
    const got: string[][] = []
    const want: string[][] = []
    const failures: string[] = []
    for (let i = 0; i < n; i++) {
      const p = tree.inclusionProof(i, n)
      const leaf = leaves[i] as Buffer
      got.push(hex(p))
      want.push(hex(path(i, d)))
      if (!verifyInclusion(i, n, leaf, p, root)) failures.push(`valid proof ${i} rejected`)
      const r = rootFromInclusionProof(i, n, leaf, p)
      if (r === null || !r.equals(root)) failures.push(`rootFromInclusionProof ${i}`)

      // Mutations: each must be rejected.
      for (let j = 0; j < p.length; j++) {
        for (const byte of [0, 31]) {
          if (verifyInclusion(i, n, leaf, flipped(p, j, byte), root)) failures.push(`flip ${i}/${j}/${byte}`)
        }
        if (
          verifyInclusion(
            i,
            n,
            leaf,
            p.filter((_, x) => x !== j),
            root,
          )
        )
          failures.push(`drop ${i}/${j}`)
      }
      const extra = sha(Buffer.from('extra'))
      if (verifyInclusion(i, n, leaf, [...p, extra], root)) failures.push(`append ${i}`)
      if (rootFromInclusionProof(i, n, leaf, [...p, extra]) !== null) failures.push(`root from longer proof ${i}`)
      if (p.length > 0 && rootFromInclusionProof(i, n, leaf, p.slice(1)) !== null) failures.push(`root from shorter proof ${i}`)
      if (verifyInclusion(i, n, leaf, [extra, ...p], root)) failures.push(`prepend ${i}`)
      if (verifyInclusion(i, n, leaf, [...p, root], root)) failures.push(`append root ${i}`)
      if (p.length > 0 && verifyInclusion(i, n, leaf, p.slice(0, -1), root)) failures.push(`truncate ${i}`)
      for (let w = -1; w <= n + 1; w++) {
        if (w !== i && verifyInclusion(w, n, leaf, p, root)) failures.push(`wrong index ${w} for ${i}`)
      }
      for (const w of [i + 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        if (verifyInclusion(w, n, leaf, p, root)) failures.push(`garbage index ${w}`)
      }
      if (verifyInclusion(i, n, leaves[(i + 1) % MAX] as Buffer, p, root)) failures.push(`wrong leaf ${i}`)
      if (verifyInclusion(i, n, leaf, p, roots[n - 1] as Buffer)) failures.push(`wrong root ${i}`)
      if (verifyInclusion(i, n, events[i] as Buffer, p, root)) failures.push(`leaf data instead of leaf hash ${i}`)
    }
    t.same(got, want, `size ${n}: proofs equal PATH(m, D[n]) element by element`)
    t.same(failures, [], `size ${n}: valid proofs verify, mutated ones are rejected`)
  }
})

t.test('consistency proofs for 1 <= m <= n <= 64', async (t) => {
  const tree = new MerkleTree(leaves)
  for (let n = 1; n <= MAX; n++) {
    const d = leaves.slice(0, n)
    const root2 = roots[n] as Buffer
    const got: string[][] = []
    const want: string[][] = []
    const failures: string[] = []
    for (let m = 1; m <= n; m++) {
      const root1 = roots[m] as Buffer
      const p = tree.consistencyProof(m, n)
      got.push(hex(p))
      want.push(hex(proof(m, d)))
      if (!verifyConsistency(m, n, p, root1, root2)) failures.push(`valid proof ${m} rejected`)

      for (let j = 0; j < p.length; j++) {
        for (const byte of [0, 31]) {
          if (verifyConsistency(m, n, flipped(p, j, byte), root1, root2)) failures.push(`flip ${m}/${j}/${byte}`)
        }
        if (
          verifyConsistency(
            m,
            n,
            p.filter((_, x) => x !== j),
            root1,
            root2,
          )
        )
          failures.push(`drop ${m}/${j}`)
      }
      const extra = sha(Buffer.from('extra'))
      if (verifyConsistency(m, n, [...p, extra], root1, root2)) failures.push(`append ${m}`)
      if (verifyConsistency(m, n, [extra, ...p], root1, root2)) failures.push(`prepend ${m}`)
      if (verifyConsistency(m, n, [root1, ...p], root1, root2)) failures.push(`prepend root1 ${m}`)
      if (m < n) {
        if (verifyConsistency(m, n, p, root2, root1)) failures.push(`swapped roots ${m}`)
        if (verifyConsistency(m, n, p, roots[m - 1] as Buffer, root2)) failures.push(`wrong root1 ${m}`)
        if (verifyConsistency(m, n, p, root1, roots[n - 1] as Buffer)) failures.push(`wrong root2 ${m}`)
        // The same proof claimed for another old size (with the roots given) must fail.
        for (let w = 0; w <= n + 1; w++) {
          if (w !== m && verifyConsistency(w, n, p, root1, root2)) failures.push(`wrong size1 ${w} for ${m}`)
        }
      } else {
        if (verifyConsistency(m, n, p, root1, roots[n - 1] as Buffer)) failures.push(`equal sizes, other root ${m}`)
      }
      if (verifyConsistency(n, m - 1, p, root2, roots[m - 1] as Buffer)) failures.push(`size1 > size2 ${m}`)
      for (const w of [m + 0.5, Number.NaN, -1]) {
        if (verifyConsistency(w, n, p, root1, root2)) failures.push(`garbage size1 ${w}`)
      }
    }
    t.same(got, want, `size ${n}: proofs equal PROOF(m, D[n]) element by element`)
    t.same(failures, [], `size ${n}: valid proofs verify, mutated ones are rejected`)
  }
})

t.test('argument checks', async (t) => {
  const tree = new MerkleTree(leaves.slice(0, 5))
  t.throws(() => tree.append(Buffer.alloc(31)), TypeError, 'leaf hash must be 32 bytes')
  t.throws(() => tree.inclusionProof(5, 5), RangeError, 'index >= treeSize')
  t.throws(() => tree.inclusionProof(0, 6), RangeError, 'treeSize > size')
  t.throws(() => tree.inclusionProof(0, 0), RangeError, 'empty tree has no leaves')
  t.throws(() => tree.consistencyProof(0, 3), RangeError, 'size1 = 0')
  t.throws(() => tree.consistencyProof(4, 3), RangeError, 'size1 > size2')
  t.throws(() => tree.consistencyProof(1, 6), RangeError, 'size2 > size')
  t.throws(() => tree.rootAt(6), RangeError, 'rootAt beyond size')
  t.same(tree.consistencyProof(5), [], 'size1 = size2 gives the empty proof')
  t.same(hex(tree.inclusionProof(2)), hex(path(2, leaves.slice(0, 5))), 'treeSize defaults to size')
  const r = tree.root()
  r.fill(0)
  t.same(hex([tree.root()]), hex([roots[5] as Buffer]), 'root() returns a copy')
})

t.test('verifiers never throw on garbage', async (t) => {
  const good = leaves[0] as Buffer
  // Deliberately wrong run-time types, cast through unknown: the verifiers must
  // cope with whatever an untrusted proof file deserialises to.
  const junk: unknown[] = [null, undefined, 'x', '0', {}, [null], [1], ['a'], [Buffer.alloc(3)], Buffer.alloc(0), -1, 1.5, 2 ** 60]
  let threw = 0
  let accepted = 0
  for (const a of junk) {
    for (const call of [
      () => verifyInclusion(a as number, 1, good, [], good),
      () => verifyInclusion(0, a as number, good, [], good),
      () => verifyInclusion(0, 1, a as Buffer, [], good),
      () => verifyInclusion(0, 2, good, a as Buffer[], good),
      () => verifyInclusion(0, 1, good, [], a as Buffer),
      () => verifyConsistency(a as number, 2, [good], good, good),
      () => verifyConsistency(1, a as number, [good], good, good),
      () => verifyConsistency(1, 2, a as Buffer[], good, good),
      () => verifyConsistency(1, 2, [good], a as Buffer, good),
      () => verifyConsistency(1, 2, [good], good, a as Buffer),
      () => rootFromInclusionProof(0, 2, good, a as Buffer[]) !== null,
    ]) {
      try {
        if (call()) accepted++
      } catch {
        threw++
      }
    }
  }
  t.equal(threw, 0, 'no verifier threw')
  t.equal(accepted, 0, 'no garbage accepted')
  t.ok(verifyInclusion(0, 1, good, [], good), 'single-leaf tree: the leaf hash is the root')
})
