/**
 * The ingest sessions store: one row per docking of a camera volume
 * (`ingest_sessions`), the volumes a station has seen and the keys that
 * identify them (`volumes`, `volume_keys`), and which file of which volume
 * became which recording (`volume_files`: raw name + SHA-256). Only SQL
 * here; src/ingest decides what to record and when.
 */
import type { Db } from './db.js'

/** A file that was listed with a reason rather than ingested (unrecognised, skipped, failed). */
export interface ListedFile {
  sourcePath: string
  reason: string
}

export interface SessionStart {
  sourceRoot: string
  profileId: string
  deviceId: string | null
  volumeId: number | null
  volumeKey: string | null
  filesSeen: number
  pid: number
  startedAt: string
}

/** Opens a session row in state `running`; returns its id. */
export function startSession(db: Db, s: SessionStart): number {
  return Number(
    db
      .prepare(
        `INSERT INTO ingest_sessions (source_root, profile_id, device_id, volume_id, volume_key, pid, started_at, state, files_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
      )
      .run(s.sourceRoot, s.profileId, s.deviceId, s.volumeId, s.volumeKey, s.pid, s.startedAt, s.filesSeen).lastInsertRowid,
  )
}

export interface SessionEnd {
  endedAt: string
  state: 'complete' | 'incomplete'
  filesSeen: number
  ingested: number
  present: number
  skipped: number
  bytesIngested: number
  failures: { sourcePath: string; error: string }[]
  unrecognised: ListedFile[]
  passes: number
  listedAt: string | null
}

/** Closes a session row (the caller commits it with the session's ledger event). */
export function endSession(db: Db, id: number, e: SessionEnd): void {
  db.prepare(
    `UPDATE ingest_sessions SET ended_at = ?, state = ?, files_seen = ?, files_ingested = ?, files_present = ?, files_skipped = ?, files_failed = ?,
       bytes_ingested = ?, failures = ?, files_unrecognised = ?, unrecognised = ?, passes = ?, listed_at = ? WHERE id = ?`,
  ).run(
    e.endedAt,
    e.state,
    e.filesSeen,
    e.ingested,
    e.present,
    e.skipped,
    e.failures.length,
    e.bytesIngested,
    JSON.stringify(e.failures),
    e.unrecognised.length,
    JSON.stringify(e.unrecognised),
    e.passes,
    e.listedAt,
    id,
  )
}

/** Sessions still `running`: id and the process that runs them. */
export function runningSessions(db: Db): { id: number; pid: number }[] {
  return db.prepare("SELECT id, pid FROM ingest_sessions WHERE state = 'running'").all() as { id: number; pid: number }[]
}

/** Ends a session whose process is gone as `incomplete`, saying so. */
export function abandonSession(db: Db, id: number, at: string): void {
  db.prepare("UPDATE ingest_sessions SET state = 'incomplete', ended_at = ?, failures = ? WHERE id = ? AND state = 'running'").run(
    at,
    JSON.stringify([{ sourcePath: '', error: 'the ingest process ended before the session finished' }]),
    id,
  )
}

export interface SessionRow {
  id: number
  sourceRoot: string
  profileId: string
  deviceId: string | null
  volumeId: number | null
  volumeKey: string | null
  state: 'running' | 'complete' | 'incomplete'
  startedAt: string
  endedAt: string | null
  filesSeen: number
  filesIngested: number
  filesPresent: number
  filesSkipped: number
  filesFailed: number
  filesUnrecognised: number
  bytesIngested: number
  passes: number
  listedAt: string | null
  failures: { sourcePath: string; error: string }[]
  unrecognised: ListedFile[]
}

export function getSession(db: Db, id: number): SessionRow | undefined {
  const r = db
    .prepare(
      `SELECT id, source_root AS sourceRoot, profile_id AS profileId, device_id AS deviceId, volume_id AS volumeId, volume_key AS volumeKey, state,
         started_at AS startedAt, ended_at AS endedAt, files_seen AS filesSeen, files_ingested AS filesIngested, files_present AS filesPresent,
         files_skipped AS filesSkipped, files_failed AS filesFailed, files_unrecognised AS filesUnrecognised, bytes_ingested AS bytesIngested,
         passes, listed_at AS listedAt, failures, unrecognised
       FROM ingest_sessions WHERE id = ?`,
    )
    .get(id) as (Omit<SessionRow, 'failures' | 'unrecognised'> & { failures: string; unrecognised: string }) | undefined
  if (!r) return undefined
  return { ...r, failures: JSON.parse(r.failures) as SessionRow['failures'], unrecognised: JSON.parse(r.unrecognised) as ListedFile[] }
}

// ------------------------------------------------------------ volumes

/**
 * The volume known by any of `keys` (strongest first), creating it when
 * none is known; keys it did not carry yet are added to it. A key already
 * tied to another volume stays there (two cameras are never merged).
 */
export function volumeForKeys(db: Db, keys: readonly string[], at: string): { id: number; added: string[] } {
  return db
    .transaction(() => {
      const find = db.prepare('SELECT volume_id AS id FROM volume_keys WHERE key = ?')
      let id: number | undefined
      for (const k of keys) {
        id = (find.get(k) as { id: number } | undefined)?.id
        if (id !== undefined) break
      }
      if (id === undefined) id = Number(db.prepare('INSERT INTO volumes (first_seen, last_seen) VALUES (?, ?)').run(at, at).lastInsertRowid)
      else db.prepare('UPDATE volumes SET last_seen = ? WHERE id = ?').run(at, id)
      const add = db.prepare('INSERT INTO volume_keys (key, volume_id, first_seen) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING')
      const added = keys.filter((k) => add.run(k, id, at).changes > 0)
      return { id, added }
    })
    .immediate()
}

/** Every key of a volume, oldest first. */
export function volumeKeys(db: Db, volumeId: number): string[] {
  return (db.prepare('SELECT key FROM volume_keys WHERE volume_id = ? ORDER BY first_seen, key').all(volumeId) as { key: string }[]).map((r) => r.key)
}

export interface VolumeFile {
  rawPath: string
  sha256: string
  size: number
  recordingId: number
  sessionId: number
}

/** What earlier dockings recorded of this raw path on this volume (optionally of one size or hash), newest first, stored recordings only. */
export function knownVolumeFiles(db: Db, volumeId: number, rawPath: string, filter: { size?: number; sha256?: string } = {}): VolumeFile[] {
  const where = ['f.volume_id = ?', 'f.raw_path = ?', "r.status = 'stored'"]
  const args: (string | number)[] = [volumeId, rawPath]
  if (filter.size !== undefined) {
    where.push('f.size = ?')
    args.push(filter.size)
  }
  if (filter.sha256 !== undefined) {
    where.push('f.sha256 = ?')
    args.push(filter.sha256)
  }
  return db
    .prepare(
      `SELECT f.raw_path AS rawPath, f.sha256, f.size, f.recording_id AS recordingId, f.session_id AS sessionId
       FROM volume_files f JOIN recordings r ON r.id = f.recording_id WHERE ${where.join(' AND ')} ORDER BY f.session_id DESC`,
    )
    .all(...args) as VolumeFile[]
}

/** Remembers that this raw path of this volume, with this hash, is that recording (kept if already known). */
export function rememberVolumeFile(db: Db, volumeId: number, f: VolumeFile): void {
  db.prepare(
    `INSERT INTO volume_files (volume_id, raw_path, sha256, size, recording_id, session_id) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(volume_id, raw_path, sha256) DO NOTHING`,
  ).run(volumeId, f.rawPath, f.sha256, f.size, f.recordingId, f.sessionId)
}

/** The raw name (base64 of the bytes under the volume root) a recording was ingested from, if the station recorded it. */
export function rawPathOf(db: Db, recordingId: number): string | undefined {
  return (db.prepare('SELECT raw_path AS p FROM volume_files WHERE recording_id = ? LIMIT 1').get(recordingId) as { p: string } | undefined)?.p
}

/**
 * A session as a catalog rebuilt from the bucket restores it (from its
 * `ingest-session-ended` event, or a placeholder for a session whose end the
 * ledger never saw).
 */
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
