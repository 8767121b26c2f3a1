/**
 * Ingest sessions as a catalog rebuilt from the bucket restores them (from
 * their `ingest-session-ended` events, or a placeholder for a session whose
 * end the ledger never saw). The ingest_sessions table's own store belongs
 * with ingest; this is the one write a rebuild makes to it.
 */
import type { Db } from './db.js'

export interface RestoredSession {
  id: number
  sourceRoot: string
  profileId: string
  deviceId: string | null
  startedAt: string
  endedAt: string | null
  state: 'complete' | 'incomplete'
  filesIngested: number
  filesPresent: number
  filesSkipped: number
  filesFailed: number
  bytesIngested: number
}

export function restoreIngestSession(db: Db, s: RestoredSession): void {
  db.prepare(`INSERT INTO ingest_sessions (id, source_root, profile_id, device_id, pid, started_at, ended_at, state, files_ingested, files_present, files_skipped, files_failed, bytes_ingested)
    VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    s.id,
    s.sourceRoot,
    s.profileId,
    s.deviceId,
    s.startedAt,
    s.endedAt,
    s.state,
    s.filesIngested,
    s.filesPresent,
    s.filesSkipped,
    s.filesFailed,
    s.bytesIngested,
  )
}
