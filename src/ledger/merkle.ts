/**
 * RFC 6962 / RFC 9162 (section 2) Merkle tree over the ledger's event hashes.
 *
 * Hashing (SHA-256):
 *   leaf hash  = SHA-256(0x00 || leaf bytes)       (the leaf bytes are the 32-byte event hash)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 *
 * Pure: no I/O, no clocks, no randomness. Only node:crypto.
 *
 * Contents:
 * - `leafHash`, `nodeHash`, `emptyRoot`, `rootFromLeafHashes` (the plain recursive
 *   MTH of RFC 6962 2.1, used as the reference definition).
 * - `MerkleTree`: built incrementally. It keeps every level of perfect subtrees
 *   (level 0 = leaf hashes, level k = roots of the aligned perfect subtrees of 2^k
 *   leaves), so appending is amortised O(1) hashes, and the root of any earlier
 *   size, an inclusion proof or a consistency proof need O(log n) cached-node
 *   lookups plus at most one O(log n) fold along the right edge of the tree.
 * The stand-alone verifiers of the proofs are ./merkle-proofs.ts.
 *
 * Note for callers: an inclusion proof does not by itself authenticate the tree
 * size (for example the proof for leaf 0 of a 3-leaf tree has the same shape as
 * for a 4-leaf tree). The size and root must come from a signed checkpoint.
 */
import { createHash, hash as oneShotHash } from 'node:crypto'

/** Bytes in a SHA-256 hash: every leaf hash and node hash the tree stores. */
export const HASH_SIZE = 32

const LEAF_PREFIX = 0x00
const NODE_PREFIX = 0x01
const LEAF_PREFIX_BYTE = Uint8Array.of(LEAF_PREFIX)

/** Largest tree the class accepts. Far beyond memory (64 bytes a leaf), but keeps all index arithmetic exact. */
const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER

// Scratch buffers for the fixed-size cases. Hashing is synchronous, so sharing
// them within this module is safe.
const leafScratch = Buffer.alloc(1 + HASH_SIZE)
leafScratch[0] = LEAF_PREFIX
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE)
nodeScratch[0] = NODE_PREFIX

function sha256(data: Uint8Array): Buffer {
  return oneShotHash('sha256', data, 'buffer')
}

/** SHA-256 of the empty string: the root of the empty tree (RFC 6962 2.1). */
export function emptyRoot(): Buffer {
  return sha256(new Uint8Array(0))
}

/** Leaf hash: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Buffer {
  if (data.length === HASH_SIZE) {
    leafScratch.set(data, 1)
    return sha256(leafScratch)
  }
  return createHash('sha256').update(LEAF_PREFIX_BYTE).update(data).digest()
}

/**
 * Interior node hash: SHA-256(0x01 || left || right). Accepts inputs of any
 * length (the verifiers hash whatever a proof contains); the 32+32 case, the
 * only one a well-formed tree has, reuses a scratch buffer instead of
 * concatenating.
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeScratch.set(left, 1)
    nodeScratch.set(right, 1 + HASH_SIZE)
    return sha256(nodeScratch)
  }
  const buf = Buffer.allocUnsafe(1 + left.length + right.length)
  buf[0] = NODE_PREFIX
  buf.set(left, 1)
  buf.set(right, 1 + left.length)
  return sha256(buf)
}

/** Largest power of two strictly smaller than n (n >= 2): the split point k of RFC 6962 2.1. */
function splitPoint(n: number): number {
  if (n <= 0x100000000) return 2 ** (31 - Math.clz32(n - 1))
  let k = 0x100000000
  while (k * 2 < n) k *= 2
  return k
}

/**
 * MTH(D[n]) of RFC 6962 2.1, recursively, over already-computed leaf hashes.
 * The reference definition; O(n) hashes.
 */
export function rootFromLeafHashes(hashes: readonly Uint8Array[]): Buffer {
  if (hashes.length === 0) return emptyRoot()
  const mth = (lo: number, hi: number): Buffer => {
    const n = hi - lo
    if (n === 1) return Buffer.from(hashes[lo] as Uint8Array)
    const k = splitPoint(n)
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi))
  }
  return mth(0, hashes.length)
}

// ---------------------------------------------------------------------------
// Storage for one level of the tree: fixed-size 32-byte entries packed in
// chunks, so a million leaves cost 32 MB of bytes and not a million Buffer
// objects, and growth never copies more than one small chunk.

const CHUNK_ENTRIES = 1 << 15 // 1 MiB a chunk
const FIRST_CHUNK_ENTRIES = 8

class HashLevel {
  private readonly chunks: Uint8Array[] = []
  private count = 0

  get length(): number {
    return this.count
  }

  push(h: Uint8Array): void {
    const c = Math.floor(this.count / CHUNK_ENTRIES)
    const pos = (this.count % CHUNK_ENTRIES) * HASH_SIZE
    let chunk = this.chunks[c]
    if (chunk === undefined) {
      chunk = new Uint8Array((c === 0 ? FIRST_CHUNK_ENTRIES : CHUNK_ENTRIES) * HASH_SIZE)
      this.chunks.push(chunk)
    } else if (pos >= chunk.length) {
      // Only the first chunk starts small and doubles up to the full chunk size.
      const grown = new Uint8Array(Math.min(chunk.length * 2, CHUNK_ENTRIES * HASH_SIZE))
      grown.set(chunk)
      chunk = grown
      this.chunks[c] = chunk
    }
    chunk.set(h, pos)
    this.count++
  }

  /** Appends whole entries (a multiple of 32 bytes) in bulk: full chunks, one copy. */
  pushBytes(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length; ) {
      const c = Math.floor(this.count / CHUNK_ENTRIES)
      const pos = (this.count % CHUNK_ENTRIES) * HASH_SIZE
      let chunk = this.chunks[c]
      if (chunk === undefined || chunk.length < CHUNK_ENTRIES * HASH_SIZE) {
        const full = new Uint8Array(CHUNK_ENTRIES * HASH_SIZE)
        if (chunk) full.set(chunk)
        chunk = full
        this.chunks[c] = chunk
      }
      const n = Math.min(bytes.length - off, chunk.length - pos)
      chunk.set(bytes.subarray(off, off + n), pos)
      off += n
      this.count += n / HASH_SIZE
    }
  }

  /** A view (not a copy) of entry i; the caller guarantees 0 <= i < length. */
  view(i: number): Uint8Array {
    const chunk = this.chunks[Math.floor(i / CHUNK_ENTRIES)]
    if (chunk === undefined || i < 0 || i >= this.count) {
      throw new Error(`merkle: internal error, node ${i} of ${this.count} not stored`)
    }
    const pos = (i % CHUNK_ENTRIES) * HASH_SIZE
    return chunk.subarray(pos, pos + HASH_SIZE)
  }

  /** Bytes allocated by this level. */
  get byteLength(): number {
    let n = 0
    for (const c of this.chunks) n += c.length
    return n
  }
}

function checkSize(name: string, value: number, max: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`merkle: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`)
  }
}

/**
 * Incremental Merkle tree of leaf hashes.
 *
 * `levels[k]` holds the root of every complete, aligned subtree of 2^k leaves
 * (level 0 is the leaf hashes), so `levels[k].length === floor(size / 2^k)` and
 * the whole structure takes about twice the bytes of the leaf hashes. The
 * compact range (frontier) of the current size is the last node of each level k
 * where bit k of the size is set; `root()` folds it. Every subtree that the RFC
 * 6962 recursion for an earlier size visits is either such a stored perfect
 * subtree or lies on that size's right edge, which is again a fold of stored
 * perfect subtrees.
 */
export class MerkleTree {
  private readonly levels: HashLevel[] = [new HashLevel()]
  private n = 0
  private cachedRoot: Buffer | null = null

  /** Optionally start from existing leaf hashes (each 32 bytes), appended in order. */
  constructor(leafHashes?: Iterable<Uint8Array>) {
    if (leafHashes !== undefined) for (const h of leafHashes) this.append(h)
  }

  /**
   * The tree of `n` leaves from its stored levels, computed elsewhere (the ledger audit's workers, each an aligned
   * block): parts[j], laid end to end, must hold exactly the floor(n / 2^j) roots of level j; the levels above the
   * last one given are hashed here. Undefined when a level has not the size it must have.
   */
  static fromLevels(parts: Uint8Array[][], n: number): MerkleTree | undefined {
    checkSize('n', n, MAX_TREE_SIZE)
    const t = new MerkleTree()
    for (let j = 0; n >= 2 ** j; j++) {
      const level = j === 0 ? (t.levels[0] as HashLevel) : new HashLevel()
      if (j > 0) t.levels.push(level)
      const want = Math.floor(n / 2 ** j)
      if (j < parts.length) for (const p of parts[j] ?? []) level.pushBytes(p)
      else {
        const below = t.levels[j - 1] as HashLevel
        for (let i = 0; i < want; i++) level.push(nodeHash(below.view(2 * i), below.view(2 * i + 1)))
      }
      if (level.length !== want) return undefined
    }
    t.n = n
    return t
  }

  /** Number of leaves. */
  get size(): number {
    return this.n
  }

  /** Bytes allocated for stored hashes (all levels). */
  get byteLength(): number {
    let n = 0
    for (const l of this.levels) n += l.byteLength
    return n
  }

  /**
   * Append one leaf hash (32 bytes, i.e. already `leafHash(eventHash)`).
   * Amortised O(1) node hashes, O(log n) worst case. Returns the new leaf's index.
   */
  append(leaf: Uint8Array): number {
    if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_SIZE) {
      throw new TypeError(`merkle: a leaf hash must be ${HASH_SIZE} bytes`)
    }
    if (this.n >= MAX_TREE_SIZE) throw new RangeError('merkle: tree is full')
    const index = this.n
    ;(this.levels[0] as HashLevel).push(leaf)
    // Each time the new node is a right child, its parent's subtree is complete.
    let i = index
    let k = 0
    while (i % 2 === 1) {
      const level = this.levels[k] as HashLevel
      const parent = nodeHash(level.view(i - 1), level.view(i))
      let up = this.levels[k + 1]
      if (up === undefined) {
        up = new HashLevel()
        this.levels.push(up)
      }
      up.push(parent)
      i = (i - 1) / 2
      k++
    }
    this.n++
    this.cachedRoot = null
    return index
  }

  /** Convenience: append `leafHash(data)` (data = the 32-byte event hash). Returns the leaf index. */
  appendData(data: Uint8Array): number {
    return this.append(leafHash(data))
  }

  /** Copy of the leaf hash at `index`. */
  leaf(index: number): Buffer {
    checkSize('index', index, this.n - 1)
    return Buffer.from((this.levels[0] as HashLevel).view(index))
  }

  /** Root of the current tree. O(log n), cached until the next append. */
  root(): Buffer {
    if (this.cachedRoot === null) this.cachedRoot = this.subtreeRoot(0, this.n)
    return Buffer.from(this.cachedRoot)
  }

  /** Root of the tree made of the first `size` leaves (0 <= size <= this.size). O(log n). */
  rootAt(size: number): Buffer {
    checkSize('size', size, this.n)
    if (size === this.n) return this.root()
    return this.subtreeRoot(0, size)
  }

  /**
   * Inclusion proof (audit path, RFC 6962 2.1.1 / RFC 9162 2.1.3.1) of leaf
   * `index` in the tree of the first `treeSize` leaves; elements ordered from the
   * leaf's sibling up to the root's child.
   */
  inclusionProof(index: number, treeSize: number = this.n): Buffer[] {
    checkSize('treeSize', treeSize, this.n, 1)
    checkSize('index', index, treeSize - 1)
    // Walk PATH(m, D[lo:hi]) top-down, collecting siblings; reverse at the end.
    const top: Buffer[] = []
    let lo = 0
    let hi = treeSize
    while (hi - lo > 1) {
      const k = splitPoint(hi - lo)
      if (index < lo + k) {
        top.push(this.subtreeRoot(lo + k, hi))
        hi = lo + k
      } else {
        top.push(this.subtreeRoot(lo, lo + k))
        lo += k
      }
    }
    return top.reverse()
  }

  /**
   * Consistency proof (RFC 6962 2.1.2 / RFC 9162 2.1.4.1) that the tree of
   * `size1` leaves is a prefix of the tree of `size2` leaves, for
   * 1 <= size1 <= size2 <= this.size. Empty when size1 === size2. (A proof from
   * the empty tree is not defined; the verifier rejects size1 === 0.)
   */
  consistencyProof(size1: number, size2: number = this.n): Buffer[] {
    checkSize('size2', size2, this.n, 1)
    checkSize('size1', size1, size2, 1)
    // Walk SUBPROOF(m, D[lo:hi], b) top-down; reverse at the end.
    const top: Buffer[] = []
    let lo = 0
    let hi = size2
    let startFromOldRoot = true // the "b" flag of RFC 6962 2.1.2
    for (;;) {
      const n = hi - lo
      const m = size1 - lo
      if (m === n) {
        if (!startFromOldRoot) top.push(this.subtreeRoot(lo, hi))
        break
      }
      const k = splitPoint(n)
      if (m <= k) {
        top.push(this.subtreeRoot(lo + k, hi))
        hi = lo + k
      } else {
        top.push(this.subtreeRoot(lo, lo + k))
        lo += k
        startFromOldRoot = false
      }
    }
    return top.reverse()
  }

  /**
   * MTH(D[lo:hi]) from stored nodes. Requires lo to be a multiple of a power of
   * two >= hi - lo (true of every range the RFC recursion visits) and hi <= size.
   * Then D[lo:hi] splits into the perfect subtrees given by the binary digits of
   * hi - lo, largest first, and the MTH is their right-to-left fold.
   */
  private subtreeRoot(lo: number, hi: number): Buffer {
    const n = hi - lo
    if (n === 0) return emptyRoot()
    const pieces: Uint8Array[] = []
    let pos = lo
    // width = 2^k, the largest power of two <= n.
    let width = 1
    let k = 0
    while (width * 2 <= n) {
      width *= 2
      k++
    }
    while (pos < hi) {
      if (pos + width <= hi) {
        if (pos % width !== 0) throw new Error('merkle: internal error, unaligned subtree')
        const level = this.levels[k]
        if (level === undefined) throw new Error(`merkle: internal error, level ${k} missing`)
        pieces.push(level.view(pos / width))
        pos += width
      }
      width /= 2
      k--
    }
    let acc: Buffer = Buffer.from(pieces[pieces.length - 1] as Uint8Array)
    for (let j = pieces.length - 2; j >= 0; j--) acc = nodeHash(pieces[j] as Uint8Array, acc)
    return acc
  }
}
