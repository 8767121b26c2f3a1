/**
 * The RFC 6962 Merkle tree over the ledger: leaf i is the i-th event (in seq
 * order, so leaf index = seq - 1), its leaf hash SHA-256(0x00 || the event's
 * 32-byte chain hash).
 *
 * Kept in memory, not in the catalog: a `LedgerTree` reads every event hash
 * once per process (about 1 s per million events), then `sync()` appends only
 * the events added since (by this process or any other writing the same
 * catalog). Nothing is persisted, so there is no second copy of the truth to
 * keep consistent, and a restart costs one sequential read of the hashes.
 * Before appending, `sync()` checks that its last leaf is still the event
 * with that seq and hash; if not (a transaction rolled back, the catalog was
 * replaced), it rebuilds from scratch.
 */
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import { HASH_SIZE, leafHash, MerkleTree } from './merkle.js'

const trees = new WeakMap<Db, LedgerTree>()

/** Leaf hash of an event hash given as 64 hex digits. */
export function eventLeaf(hashHex: string): Buffer {
  const raw = Buffer.from(hashHex, 'hex')
  if (hashHex.length !== 2 * HASH_SIZE || raw.length !== HASH_SIZE)
    throw new BodyvaultError('LEDGER_HASH', `event hash ${JSON.stringify(hashHex.slice(0, 70))} is not 64 lower-case hex digits: run bodyvault verify`)
  return leafHash(raw)
}

export class LedgerTree {
  private tree = new MerkleTree()
  private lastSeq = 0
  private lastHash = ''
  private contiguous = true

  private constructor(private readonly db: Db) {}

  /** The process-wide tree of this catalog connection, synced with the events table. */
  static for(db: Db): LedgerTree {
    let t = trees.get(db)
    if (t === undefined) {
      t = new LedgerTree(db)
      trees.set(db, t)
    }
    t.sync()
    return t
  }

  /** A fresh tree from the stored event hashes, shared with nobody (verify uses this). */
  static build(db: Db): LedgerTree {
    const t = new LedgerTree(db)
    t.sync()
    return t
  }

  /**
   * A fresh tree from the one the ledger audit built (auditLedger's `tree`, of the events through `lastSeq`, the last
   * with the stored hash `lastHash`), then synced like build(): the same tree, without reading and hashing every event
   * hash again. The caller hands only an audit that found nothing wrong (leaves are the stored hashes as they are).
   */
  static fromAudit(db: Db, audit: { tree: MerkleTree; lastSeq: number; lastHash: string }): LedgerTree {
    const t = new LedgerTree(db)
    t.tree = audit.tree
    t.lastSeq = audit.lastSeq
    t.lastHash = audit.lastHash
    t.contiguous = audit.lastSeq === audit.tree.size
    t.sync()
    return t
  }

  get size(): number {
    return this.tree.size
  }

  /** Appends the events added since the last sync. Returns the tree size. */
  sync(): number {
    if (this.lastSeq > 0) {
      const h = this.db.prepare('SELECT hash FROM events WHERE seq = ?').pluck().get(this.lastSeq) as string | undefined
      if (h !== this.lastHash) this.reset()
    }
    const rows = this.db.prepare('SELECT seq, hash FROM events WHERE seq > ? ORDER BY seq').raw().iterate(this.lastSeq) as IterableIterator<[number, string]>
    for (const [seq, hash] of rows) {
      if (seq !== this.lastSeq + 1) this.contiguous = false
      this.tree.append(eventLeaf(hash))
      this.lastSeq = seq
      this.lastHash = hash
    }
    return this.tree.size
  }

  private reset(): void {
    this.tree = new MerkleTree()
    this.lastSeq = 0
    this.lastHash = ''
    this.contiguous = true
  }

  root(): Buffer {
    return this.tree.root()
  }

  rootAt(size: number): Buffer {
    return this.tree.rootAt(size)
  }

  /** Leaf hash at `index` (seq - 1). */
  leaf(index: number): Buffer {
    return this.tree.leaf(index)
  }

  /** Leaf index of the event `seq`. Throws when the ledger has gaps (then indexes and seqs disagree). */
  indexOf(seq: number): number {
    if (!this.contiguous) throw new BodyvaultError('LEDGER_GAP', 'the ledger has missing event numbers, so proofs cannot be made: run bodyvault verify')
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > this.tree.size)
      throw new BodyvaultError('LEDGER_NO_EVENT', `no event ${seq} in the ledger (it has ${this.tree.size})`)
    return seq - 1
  }

  /** Inclusion proof of event `seq` in the tree of the first `treeSize` events. */
  inclusionProof(seq: number, treeSize: number = this.size): Buffer[] {
    const index = this.indexOf(seq)
    if (index >= treeSize) throw new BodyvaultError('LEDGER_NO_EVENT', `event ${seq} is not covered by a tree of ${treeSize} events`)
    return this.tree.inclusionProof(index, treeSize)
  }

  /** Consistency proof from the tree of `size1` events to that of `size2` (default: now). */
  consistencyProof(size1: number, size2: number = this.size): Buffer[] {
    return this.tree.consistencyProof(size1, size2)
  }
}
