/**
 * The anchors' tables (migration 011): co-signatures of this station's
 * checkpoints, how far each anchor (the bucket, each witness) got, and, as a
 * witness, the latest checkpoint co-signed for each other station's log.
 * src/anchor/ uses them; src/ledger/checkpoint.ts writes the checkpoints.
 */
import type { Db } from './db.js'

export interface StoredCosignature {
  checkpointId: number
  /** The co-signer's key name. */
  witness: string
  keyId: string
  /** POSIX seconds, from the co-signature. */
  timestamp: number
  /** The signature line as received ("— name base64"). */
  line: string
  receivedAt: string
}

const COSIG = 'SELECT checkpoint_id AS checkpointId, witness, key_id AS keyId, timestamp, line, received_at AS receivedAt FROM checkpoint_cosignatures'

/** Stores a co-signature; a second copy of the same one is ignored. */
export function addCosignature(db: Db, c: StoredCosignature): void {
  db.prepare('INSERT OR IGNORE INTO checkpoint_cosignatures (checkpoint_id, witness, key_id, timestamp, line, received_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    c.checkpointId,
    c.witness,
    c.keyId,
    c.timestamp,
    c.line,
    c.receivedAt,
  )
}

export function cosignaturesOf(db: Db, checkpointId: number): StoredCosignature[] {
  return db.prepare(`${COSIG} WHERE checkpoint_id = ? ORDER BY witness, key_id`).all(checkpointId) as StoredCosignature[]
}

export function allCosignatures(db: Db): StoredCosignature[] {
  return db.prepare(`${COSIG} ORDER BY checkpoint_id, witness`).all() as StoredCosignature[]
}

export interface AnchorProgress {
  /** "bucket" or "witness:<name>". */
  target: string
  /** Bucket: every checkpoint up to this id is uploaded. Witness: the checkpoint it last co-signed. */
  checkpointId: number | null
  treeSize: number | null
  rootHash: string | null
  attempts: number
  lastError: string | null
  nextAttemptAt: string | null
  updatedAt: string
}

const PROGRESS =
  'SELECT target, checkpoint_id AS checkpointId, tree_size AS treeSize, root_hash AS rootHash, attempts, last_error AS lastError, next_attempt_at AS nextAttemptAt, updated_at AS updatedAt FROM anchor_progress'

export function anchorProgress(db: Db, target: string): AnchorProgress | undefined {
  return db.prepare(`${PROGRESS} WHERE target = ?`).get(target) as AnchorProgress | undefined
}

export function allAnchorProgress(db: Db): AnchorProgress[] {
  return db.prepare(`${PROGRESS} ORDER BY target`).all() as AnchorProgress[]
}

/** The anchor holds this checkpoint now: errors cleared. */
export function anchorReached(db: Db, target: string, c: { id: number; treeSize: number; rootHash: string }, now: Date): void {
  db.prepare(
    `INSERT INTO anchor_progress (target, checkpoint_id, tree_size, root_hash, attempts, last_error, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, 0, NULL, NULL, ?)
     ON CONFLICT (target) DO UPDATE SET checkpoint_id = excluded.checkpoint_id, tree_size = excluded.tree_size, root_hash = excluded.root_hash,
       attempts = 0, last_error = NULL, next_attempt_at = NULL, updated_at = excluded.updated_at`,
  ).run(target, c.id, c.treeSize, c.rootHash, now.toISOString())
}

/** An attempt failed: the error and when to try again (what was reached stays). */
export function anchorFailed(db: Db, target: string, error: string, next: Date, now: Date): void {
  db.prepare(
    `INSERT INTO anchor_progress (target, attempts, last_error, next_attempt_at, updated_at) VALUES (?, 1, ?, ?, ?)
     ON CONFLICT (target) DO UPDATE SET attempts = attempts + 1, last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at`,
  ).run(target, error, next.toISOString(), now.toISOString())
}

/** As a witness: what this station co-signed last for one origin, and what it refused last. */
export interface WitnessedLog {
  origin: string
  treeSize: number
  rootHash: string
  /** The checkpoint as co-signed: the log's note with this station's co-signature line. */
  note: string
  updatedAt: string
  refusedSize: number | null
  refusedRoot: string | null
  refusedAt: string | null
}

const WITNESSED =
  'SELECT origin, tree_size AS treeSize, root_hash AS rootHash, note, updated_at AS updatedAt, refused_size AS refusedSize, refused_root AS refusedRoot, refused_at AS refusedAt FROM witnessed_logs'

export function witnessedLog(db: Db, origin: string): WitnessedLog | undefined {
  return db.prepare(`${WITNESSED} WHERE origin = ?`).get(origin) as WitnessedLog | undefined
}

export function allWitnessedLogs(db: Db): WitnessedLog[] {
  return db.prepare(`${WITNESSED} ORDER BY origin`).all() as WitnessedLog[]
}

/** Records the newly co-signed checkpoint of an origin (call inside the transaction that checked the old one). */
export function setWitnessedLog(db: Db, w: { origin: string; treeSize: number; rootHash: string; note: string }, now: Date): void {
  db.prepare(
    `INSERT INTO witnessed_logs (origin, tree_size, root_hash, note, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (origin) DO UPDATE SET tree_size = excluded.tree_size, root_hash = excluded.root_hash, note = excluded.note, updated_at = excluded.updated_at`,
  ).run(w.origin, w.treeSize, w.rootHash, w.note, now.toISOString())
}

/** Remembers the last refused checkpoint of an origin (so that a log retrying it is recorded once). */
export function setWitnessRefused(db: Db, origin: string, treeSize: number, rootHash: string, now: Date): void {
  db.prepare('UPDATE witnessed_logs SET refused_size = ?, refused_root = ?, refused_at = ? WHERE origin = ?').run(treeSize, rootHash, now.toISOString(), origin)
}
