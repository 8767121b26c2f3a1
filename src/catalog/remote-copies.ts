/**
 * What the bucket holds, as far as the station knows (tables
 * offload_objects, offload_manifests and offload_state, migration 003):
 * each object's remote copy (key, version, lock, whether the local cache
 * copy was evicted), which manifest was uploaded up to which event, and how
 * far the ledger segments and the manifest scan have come. A verified copy
 * is backed by its `offloaded` event (src/offload/check.ts compares them).
 */
import type { Db } from './db.js'

/** A remote copy as the offload worker reconciles it with what the catalog needs. */
export interface RemoteCopyState {
  sha256: string
  verifiedAt: string | null
  deletedAt: string | null
  retainUntil: string | null
  legalHold: number
}

/** A verified, not deleted, remote copy. */
export interface VerifiedCopy {
  key: string
  versionId: string
  size: number
  retainUntil: string | null
  legalHold: number
}

/** A verified, not deleted, remote copy with its lock and its local cache state. */
export interface CachedCopy {
  sha256: string
  size: number
  versionId: string
  retainUntil: string | null
  legalHold: number
  cachedSince: string | null
  evictedAt: string | null
}

const LIVE = 'verified_at IS NOT NULL AND deleted_at IS NULL'

export function remoteCopyStates(db: Db): RemoteCopyState[] {
  return db
    .prepare('SELECT sha256, verified_at AS verifiedAt, deleted_at AS deletedAt, retain_until AS retainUntil, legal_hold AS legalHold FROM offload_objects')
    .all() as RemoteCopyState[]
}

export function verifiedCopy(db: Db, sha256: string): VerifiedCopy | undefined {
  return db
    .prepare(
      `SELECT key, version_id AS versionId, size, retain_until AS retainUntil, legal_hold AS legalHold FROM offload_objects WHERE sha256 = ? AND ${LIVE}`,
    )
    .get(sha256) as VerifiedCopy | undefined
}

/** A remote copy not deleted yet (verified or not): what a purge must have deleted. */
export function undeletedCopy(db: Db, sha256: string): { key: string; versionId: string } | undefined {
  return db.prepare('SELECT key, version_id AS versionId FROM offload_objects WHERE sha256 = ? AND deleted_at IS NULL').get(sha256) as
    | { key: string; versionId: string }
    | undefined
}

/** The version of the verified remote copy (deleted or not), for a manifest. */
export function verifiedVersionId(db: Db, sha256: string): string | null {
  return (db.prepare('SELECT version_id FROM offload_objects WHERE sha256 = ? AND verified_at IS NOT NULL').pluck().get(sha256) as string | undefined) ?? null
}

/** An upload finished (not yet read back: not verified). */
export function recordUpload(db: Db, u: { sha256: string; size: number; key: string; versionId: string; uploadedAt: string }): void {
  db.prepare(`INSERT INTO offload_objects (sha256, size, key, version_id, uploaded_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(sha256) DO UPDATE SET size = excluded.size, key = excluded.key, version_id = excluded.version_id, uploaded_at = excluded.uploaded_at, verified_at = NULL, deleted_at = NULL, evicted_at = NULL`).run(
    u.sha256,
    u.size,
    u.key,
    u.versionId,
    u.uploadedAt,
  )
}

/** Read back, hashed and its lock checked (in the transaction of its `offloaded` event). */
export function markCopyVerified(db: Db, sha256: string, v: { verifiedAt: string; retainUntil: string | null; legalHold: boolean; cachedSince: string }): void {
  db.prepare('UPDATE offload_objects SET verified_at = ?, retain_until = ?, legal_hold = ?, cached_since = ? WHERE sha256 = ?').run(
    v.verifiedAt,
    v.retainUntil,
    v.legalHold ? 1 : 0,
    v.cachedSince,
    sha256,
  )
}

export function setCopyRetainUntil(db: Db, sha256: string, retainUntil: string): void {
  db.prepare('UPDATE offload_objects SET retain_until = ? WHERE sha256 = ?').run(retainUntil, sha256)
}

export function setCopyLegalHold(db: Db, sha256: string, on: boolean): void {
  db.prepare('UPDATE offload_objects SET legal_hold = ? WHERE sha256 = ?').run(on ? 1 : 0, sha256)
}

export function markCopyDeleted(db: Db, sha256: string, at: string): void {
  db.prepare('UPDATE offload_objects SET deleted_at = ? WHERE sha256 = ?').run(at, sha256)
}

/** Verified remote copies with their local cache state: what eviction may drop. */
export function cachedCopies(db: Db): CachedCopy[] {
  return db
    .prepare(
      `SELECT sha256, size, version_id AS versionId, retain_until AS retainUntil, legal_hold AS legalHold, cached_since AS cachedSince, evicted_at AS evictedAt FROM offload_objects WHERE ${LIVE}`,
    )
    .all() as CachedCopy[]
}

/** The local copy was dropped (in the transaction of its `evicted` event). */
export function markEvicted(db: Db, sha256: string, at: string): void {
  db.prepare('UPDATE offload_objects SET evicted_at = ?, cached_since = NULL WHERE sha256 = ?').run(at, sha256)
}

/** True when the local copy was dropped on the record (an `evicted` event; a verified remote copy holds it): its absence is no fault. */
export function localCopyEvicted(db: Db, sha256: string): boolean {
  return db.prepare(`SELECT 1 FROM offload_objects WHERE sha256 = ? AND evicted_at IS NOT NULL AND ${LIVE}`).get(sha256) !== undefined
}

/** The local copy is back (fetched from the bucket and re-verified). */
export function markFetchedBack(db: Db, sha256: string, at: string): void {
  db.prepare('UPDATE offload_objects SET evicted_at = NULL, cached_since = ? WHERE sha256 = ?').run(at, sha256)
}

/** Every verified remote copy, deleted or not (verify compares them with the ledger). */
export function verifiedCopies(db: Db): { sha256: string; key: string; versionId: string; deletedAt: string | null }[] {
  return db.prepare('SELECT sha256, key, version_id AS versionId, deleted_at AS deletedAt FROM offload_objects WHERE verified_at IS NOT NULL').all() as {
    sha256: string
    key: string
    versionId: string
    deletedAt: string | null
  }[]
}

/**
 * A remote copy as the ledger left it, for a catalog rebuilt from the
 * bucket: evicted (no local copy yet), or, with `evictedAt` null, a local
 * copy on the record since `now` (one with an open fixity finding).
 */
export function restoreCopy(
  db: Db,
  c: {
    sha256: string
    size: number
    key: string
    versionId: string
    verifiedAt: string
    retainUntil: string | null
    legalHold: boolean
    evictedAt: string | null
    deletedAt: string | null
    now: string
  },
): void {
  db.prepare(
    `INSERT INTO offload_objects (sha256, size, key, version_id, uploaded_at, verified_at, retain_until, legal_hold, cached_since, evicted_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    c.sha256,
    c.size,
    c.key,
    c.versionId,
    c.verifiedAt,
    c.verifiedAt,
    c.retainUntil,
    c.legalHold ? 1 : 0,
    c.evictedAt === null ? c.now : null,
    c.evictedAt,
    c.deletedAt,
  )
}

/** Counts for `bodyvault offload status`. */
export function remoteCopyCounts(db: Db): { verified: number; evicted: number; evictedBytes: number; deleted: number; held: number } {
  const o = db
    .prepare(
      'SELECT sum(verified_at IS NOT NULL AND deleted_at IS NULL) AS verified, sum(evicted_at IS NOT NULL AND deleted_at IS NULL) AS evicted, sum(deleted_at IS NOT NULL) AS deleted, sum(legal_hold) AS held, coalesce(sum(CASE WHEN evicted_at IS NOT NULL AND deleted_at IS NULL THEN size END), 0) AS evictedBytes FROM offload_objects',
    )
    .get() as Record<string, number | null>
  return { verified: o.verified ?? 0, evicted: o.evicted ?? 0, evictedBytes: o.evictedBytes ?? 0, deleted: o.deleted ?? 0, held: o.held ?? 0 }
}

// ---------------------------------------------------------------------------
// manifests

/** The newest event the uploaded manifest of this recording holds (undefined: never uploaded). */
export function manifestUploadedThrough(db: Db, recordingId: number): number | undefined {
  return db.prepare('SELECT event_seq FROM offload_manifests WHERE recording_id = ?').pluck().get(recordingId) as number | undefined
}

export function recordManifestUpload(db: Db, recordingId: number, eventSeq: number, at: string): void {
  db.prepare(
    'INSERT INTO offload_manifests (recording_id, event_seq, uploaded_at) VALUES (?, ?, ?) ON CONFLICT(recording_id) DO UPDATE SET event_seq = excluded.event_seq, uploaded_at = excluded.uploaded_at',
  ).run(recordingId, eventSeq, at)
}

/** Recordings (stored or purged) whose manifest was never uploaded. */
export function recordingsWithoutManifest(db: Db): number[] {
  return db
    .prepare('SELECT r.id FROM recordings r LEFT JOIN offload_manifests m ON m.recording_id = r.id WHERE m.recording_id IS NULL')
    .pluck()
    .all() as number[]
}

// ---------------------------------------------------------------------------
// how far the bucket has come

function mark(db: Db, key: string): number {
  return Number((db.prepare('SELECT value FROM offload_state WHERE key = ?').pluck().get(key) as string | undefined) ?? 0)
}

function setMark(db: Db, key: string, seq: number): void {
  db.prepare('INSERT INTO offload_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, String(seq))
}

/** The last event in the uploaded ledger segments (0: none). */
export const ledgerUploadedThrough = (db: Db): number => mark(db, 'ledger.uploadedThrough')
export const setLedgerUploadedThrough = (db: Db, seq: number): void => setMark(db, 'ledger.uploadedThrough', seq)
/** The last event whose subjects were scanned for manifests to upload (0: none). */
export const manifestsScannedThrough = (db: Db): number => mark(db, 'manifest.scannedThrough')
export const setManifestsScannedThrough = (db: Db, seq: number): void => setMark(db, 'manifest.scannedThrough', seq)
