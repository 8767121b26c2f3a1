/**
 * Signed checkpoints of the ledger's Merkle tree (table checkpoints,
 * migration 005; append-only like events). src/ledger/checkpoint.ts signs
 * them and checks them against the tree.
 */
import type { Db } from './db.js'

export interface Checkpoint {
  id: number
  treeSize: number
  /** Root hash, lower-case hex. */
  rootHash: string
  origin: string
  /** Key id of the signing key, 8 hex digits. */
  keyId: string
  /** The signed note, as written. */
  note: string
  createdAt: string
}

const SELECT = 'SELECT id, tree_size AS treeSize, root_hash AS rootHash, origin, key_id AS keyId, note, created_at AS createdAt FROM checkpoints'

export function latestCheckpoint(db: Db): Checkpoint | undefined {
  return db.prepare(`${SELECT} ORDER BY id DESC LIMIT 1`).get() as Checkpoint | undefined
}

/** The newest checkpoint of at least `minSize` leaves that a witness co-signed, if any (the proof the clerks' page checks, src/api/proof.ts). */
export function latestCosignedCheckpoint(db: Db, minSize: number): Checkpoint | undefined {
  return db.prepare(`${SELECT} WHERE tree_size >= ? AND id IN (SELECT checkpoint_id FROM checkpoint_cosignatures) ORDER BY id DESC LIMIT 1`).get(minSize) as
    | Checkpoint
    | undefined
}

export function listCheckpoints(db: Db): Checkpoint[] {
  return db.prepare(`${SELECT} ORDER BY id`).all() as Checkpoint[]
}

export function getCheckpoint(db: Db, id: number): Checkpoint | undefined {
  return db.prepare(`${SELECT} WHERE id = ?`).get(id) as Checkpoint | undefined
}

/** Stores a signed checkpoint; returns it with its id. */
export function insertCheckpoint(db: Db, c: Omit<Checkpoint, 'id'>): Checkpoint {
  const id = Number(
    db
      .prepare('INSERT INTO checkpoints (tree_size, root_hash, origin, key_id, note, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(c.treeSize, c.rootHash, c.origin, c.keyId, c.note, c.createdAt).lastInsertRowid,
  )
  return { id, ...c }
}
