/**
 * Stand-alone verifiers of RFC 9162 (section 2.1.3.2 and 2.1.4.2) inclusion
 * and consistency proofs over the ledger's Merkle tree (./merkle.ts makes
 * them). Pure; independent of MerkleTree, so a package checker trusts only
 * this file and the hashing.
 *
 * Note for callers: an inclusion proof does not by itself authenticate the tree
 * size (for example the proof for leaf 0 of a 3-leaf tree has the same shape as
 * for a 4-leaf tree). The size and root must come from a signed checkpoint.
 */
import { HASH_SIZE, nodeHash } from './merkle.js'

// Verifiers (RFC 9162 2.1.3.2 and 2.1.4.2). Independent of MerkleTree. They
// accept `unknown`-shaped garbage at run time and answer false, never throw.
// Sizes are plain safe integers; "right shift" is floor(x / 2) so they stay
// exact beyond 32 bits. Beyond the RFC steps, every hash that enters a
// computation (leaf hash, proof element, root compared to a computed root) must
// be 32 bytes, the SHA-256 size; anything else is malformed and rejected.

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/** A SHA-256 hash: exactly 32 bytes. Every node of the tree, so every proof element, is one. */
function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === HASH_SIZE
}

function isHashList(x: unknown): x is Uint8Array[] {
  return Array.isArray(x) && x.every(isHash)
}

function bytesEqual(a: unknown, b: unknown): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false
  return Buffer.compare(a, b) === 0
}

const odd = (x: number): boolean => x % 2 === 1
const half = (x: number): number => Math.floor(x / 2)

function isPowerOfTwo(x: number): boolean {
  if (x < 1) return false
  while (x % 2 === 0) x /= 2
  return x === 1
}

/**
 * The root that `proof` yields for `leaf` at `leafIndex` in a tree of `treeSize`
 * leaves (RFC 9162 2.1.3.2 steps 1-5 without the final comparison), or null if
 * the inputs are malformed or the proof has too many or too few elements.
 */
export function rootFromInclusionProof(leafIndex: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Buffer | null {
  try {
    if (!isIndex(leafIndex) || !isIndex(treeSize) || !isHash(leaf) || !isHashList(proof)) return null
    // 1. leaf_index must be < tree_size.
    if (leafIndex >= treeSize) return null
    // 2.-3.
    let fn = leafIndex
    let sn = treeSize - 1
    let r: Buffer = Buffer.from(leaf)
    // 4.
    for (const p of proof) {
      if (sn === 0) return null // more elements than the path has
      if (odd(fn) || fn === sn) {
        r = nodeHash(p, r)
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn)
            sn = half(sn)
          }
        }
      } else {
        r = nodeHash(r, p)
      }
      fn = half(fn)
      sn = half(sn)
    }
    // 5. sn must have reached 0 (no missing elements).
    if (sn !== 0) return null
    return r
  } catch {
    return null
  }
}

/**
 * RFC 9162 2.1.3.2: true iff `proof` shows `leaf` (a leaf hash) at `leafIndex`
 * in the tree of `treeSize` leaves whose root is `root`. Never throws.
 */
export function verifyInclusion(leafIndex: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromInclusionProof(leafIndex, treeSize, leaf, proof)
  return r !== null && isHash(root) && bytesEqual(r, root)
}

/**
 * RFC 9162 2.1.4.2: true iff `proof` shows that the tree of `size1` leaves with
 * root `root1` is a prefix of the tree of `size2` leaves with root `root2`.
 * Rejects size1 > size2, and size1 === 0 (nothing to prove about the empty
 * tree; RFC 9162 defines the proof for 0 < first). When size1 === size2 the
 * proof must be empty and the roots equal. Never throws.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  try {
    if (!isIndex(size1) || !isIndex(size2) || !isHashList(proof)) return false
    if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) return false
    if (size1 > size2) return false
    if (size1 === 0) return false
    // Same size: the trees are consistent iff the roots are the same bytes (compared
    // as opaque values, as RFC 9162 says; no proof may be given).
    if (size1 === size2) return proof.length === 0 && bytesEqual(root1, root2)
    if (!isHash(root1) || !isHash(root2)) return false
    // 1. An empty path proves nothing.
    if (proof.length === 0) return false
    // 2. If first is an exact power of 2, prepend first_hash.
    const path: readonly Uint8Array[] = isPowerOfTwo(size1) ? [root1, ...proof] : proof
    // 3.
    let fn = size1 - 1
    let sn = size2 - 1
    // 4.
    while (odd(fn)) {
      fn = half(fn)
      sn = half(sn)
    }
    // 5.
    let fr: Buffer = Buffer.from(path[0] as Uint8Array)
    let sr: Buffer = fr
    // 6.
    for (let i = 1; i < path.length; i++) {
      const c = path[i] as Uint8Array
      if (sn === 0) return false // too many elements
      if (odd(fn) || fn === sn) {
        fr = nodeHash(c, fr)
        sr = nodeHash(c, sr)
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn)
            sn = half(sn)
          }
        }
      } else {
        sr = nodeHash(sr, c)
      }
      fn = half(fn)
      sn = half(sn)
    }
    // 7.
    return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2)
  } catch {
    return false
  }
}
