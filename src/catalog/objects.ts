/**
 * Which vault objects the catalog says are needed, and by whom: a
 * recording's original and its derivatives (proxies, thumbnails). Purge
 * removes a recording's objects that no stored recording still uses;
 * offload uploads every object in use. The one place to extend when a new
 * kind of derived object appears.
 */
import type { Db } from './db.js'

/** One vault object a recording owns: its original, or a derivative (proxy, thumbnail) of the media pipeline. */
export interface OwnedObject {
  sha256: string
  size: number
  /** 'original', or the derivative's kind ('proxy', 'audio-proxy', 'thumbnail'). */
  role: string
}

/** Everything in the vault that belongs to a recording: the original and its derivatives. */
export function objectsOfRecording(db: Db, recordingId: number): OwnedObject[] {
  const r = db.prepare('SELECT sha256, size FROM recordings WHERE id = ?').get(recordingId) as { sha256: string; size: number } | undefined
  if (!r) return []
  const out: OwnedObject[] = [{ sha256: r.sha256, size: r.size, role: 'original' }]
  for (const d of db.prepare('SELECT sha256, size, kind FROM derivatives WHERE recording_id = ? ORDER BY id').all(recordingId) as {
    sha256: string
    size: number
    kind: string
  }[]) {
    out.push({ sha256: d.sha256, size: d.size, role: d.kind })
  }
  return out
}

/**
 * True when a stored (not purged) recording still needs this object, as its
 * original or a derivative; `exceptRecordingId` is not counted (a recording
 * being tombstoned is still 'stored' inside its own transaction).
 */
export function objectInUse(db: Db, sha256: string, exceptRecordingId = 0): boolean {
  if (db.prepare("SELECT 1 FROM recordings WHERE sha256 = ? AND status = 'stored' AND id <> ? LIMIT 1").get(sha256, exceptRecordingId)) return true
  return (
    db
      .prepare("SELECT 1 FROM derivatives d JOIN recordings r ON r.id = d.recording_id WHERE d.sha256 = ? AND r.status = 'stored' AND r.id <> ? LIMIT 1")
      .get(sha256, exceptRecordingId) !== undefined
  )
}

/** Every object stored recordings need, with the recordings that own it (for offload). */
export function objectsInUse(db: Db): Map<string, { size: number; recordingIds: number[] }> {
  const out = new Map<string, { size: number; recordingIds: number[] }>()
  const add = (sha: string, size: number, id: number): void => {
    const o = out.get(sha)
    if (o) o.recordingIds.push(id)
    else out.set(sha, { size, recordingIds: [id] })
  }
  for (const r of db.prepare("SELECT id, sha256, size FROM recordings WHERE status = 'stored' ORDER BY id").iterate() as IterableIterator<{
    id: number
    sha256: string
    size: number
  }>)
    add(r.sha256, r.size, r.id)
  for (const d of db
    .prepare(
      "SELECT d.recording_id AS id, d.sha256, d.size FROM derivatives d JOIN recordings r ON r.id = d.recording_id WHERE r.status = 'stored' ORDER BY d.id",
    )
    .iterate() as IterableIterator<{ id: number; sha256: string; size: number }>)
    add(d.sha256, d.size, d.id)
  return out
}

/** The recordings whose original or a derivative is this object (a ledger subject `object:<sha256>` concerns them). */
export function recordingsWithObject(db: Db, sha256: string): number[] {
  const ids = db.prepare('SELECT id FROM recordings WHERE sha256 = ?').pluck().all(sha256) as number[]
  return [...ids, ...(db.prepare('SELECT recording_id FROM derivatives WHERE sha256 = ?').pluck().all(sha256) as number[])]
}
