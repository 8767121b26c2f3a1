import type { Db } from './db.js'

/**
 * Markers (migration 020): a time in a recording and a clerk's note about
 * it. Written only with their `marker-added` ledger event
 * (src/api/markers.ts does both in one transaction).
 */
export interface Marker {
  id: number
  recordingId: number
  positionMs: number
  note: string
  createdBy: string
  createdAt: string
  eventSeq: number
}

const SELECT =
  'SELECT id, recording_id AS recordingId, position_ms AS positionMs, note, created_by AS createdBy, created_at AS createdAt, event_seq AS eventSeq FROM markers'

export function markersOf(db: Db, recordingId: number): Marker[] {
  return db.prepare(`${SELECT} WHERE recording_id = ? ORDER BY position_ms, id`).all(recordingId) as Marker[]
}

/** The id the next marker will have (its event names it before the row exists). */
export function nextMarkerId(db: Db): number {
  return ((db.prepare('SELECT max(id) FROM markers').pluck().get() as number | null) ?? 0) + 1
}

export function insertMarker(db: Db, m: Marker): Marker {
  db.prepare(
    'INSERT INTO markers (id, recording_id, position_ms, note, created_by, created_at, event_seq) VALUES (@id, @recordingId, @positionMs, @note, @createdBy, @createdAt, @eventSeq)',
  ).run(m)
  return m
}
