import type { Db } from './db.js'
import type { Kind } from '../common/kinds.js'

/** A recording as the catalog holds it. */
export interface Recording {
  id: number
  sha256: string
  size: number
  kind: Kind
  sourcePath: string
  stationId: string
  deviceId: string | null
  officerId: string | null
  recordedAt: string
  recordedOffset: string
  recordedSource: 'filename' | 'file-mtime'
  important: boolean
  category: string | null
  caseNumber: string | null
  profileId: string
  sessionId: number | null
  ingestedAt: string
  eventSeq: number
  status: 'stored' | 'purged'
}

/** The facts an `ingested` ledger event carries (its payload), besides `recordingId`. */
export type IngestFacts = Omit<Recording, 'id' | 'ingestedAt' | 'eventSeq' | 'status'>

/**
 * Catalog column for each recording field: the one mapping between the
 * ledger's payload names and the catalog's columns.
 */
export const COLUMNS: Record<keyof Recording, string> = {
  id: 'id',
  sha256: 'sha256',
  size: 'size',
  kind: 'kind',
  sourcePath: 'source_path',
  stationId: 'station_id',
  deviceId: 'device_id',
  officerId: 'officer_id',
  recordedAt: 'recorded_at',
  recordedOffset: 'recorded_offset',
  recordedSource: 'recorded_source',
  important: 'important',
  category: 'category',
  caseNumber: 'case_number',
  profileId: 'profile_id',
  sessionId: 'session_id',
  ingestedAt: 'ingested_at',
  eventSeq: 'event_seq',
  status: 'status',
}
/** The recording fields in COLUMNS order: the order of recordingRows' values. */
export const FIELDS = Object.keys(COLUMNS) as (keyof Recording)[]
/** The recording columns under their field names, for queries elsewhere in the catalog. */
export const SELECT_COLUMNS = FIELDS.map((f) => `recordings.${COLUMNS[f]} AS "${f}"`).join(', ')
const SELECT = `SELECT ${SELECT_COLUMNS} FROM recordings`

export type RecordingRow = Omit<Recording, 'important'> & { important: number }
type Row = RecordingRow
export function fromRow(r: Row): Recording {
  return { ...r, important: r.important === 1 }
}

export function insertRecording(db: Db, r: Omit<Recording, 'status'>): void {
  const cols = FIELDS.filter((f) => f !== 'status')
  const stmt = db.prepare(`INSERT INTO recordings (${cols.map((f) => COLUMNS[f]).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`)
  stmt.run(...cols.map((f) => (f === 'important' ? (r.important ? 1 : 0) : r[f as Exclude<keyof Recording, 'status'>])))
}

export function getRecording(db: Db, id: number): Recording | undefined {
  const r = db.prepare(`${SELECT} WHERE id = ?`).get(id) as Row | undefined
  return r ? fromRow(r) : undefined
}

/** The recordings one ingest session (a docking) made, in id order. */
export function recordingsOfSession(db: Db, sessionId: number): Recording[] {
  return (db.prepare(`${SELECT} WHERE session_id = ? ORDER BY id`).all(sessionId) as Row[]).map(fromRow)
}

export function allRecordings(db: Db): IterableIterator<Recording> {
  const it = db.prepare(`${SELECT} ORDER BY id`).iterate() as IterableIterator<Row>
  return (function* () {
    for (const r of it) yield fromRow(r)
  })()
}

/** Every recording as its column values in FIELDS order (important as 0/1), by id: for verify's comparison of a million rows, no object per row. */
export function recordingRows(db: Db): IterableIterator<unknown[]> {
  return db.prepare(`${SELECT} ORDER BY id`).raw().iterate() as IterableIterator<unknown[]>
}

/** A recording of this file from this device already in the catalog, if any. */
export function findBySource(db: Db, deviceId: string | null, sourcePath: string, filter: { sha256?: string; size?: number }): Recording | undefined {
  const where = ["coalesce(device_id, '') = coalesce(?, '')", 'source_path = ?']
  const args: (string | number | null)[] = [deviceId, sourcePath]
  if (filter.sha256 !== undefined) {
    where.push('sha256 = ?')
    args.push(filter.sha256)
  }
  if (filter.size !== undefined) {
    where.push('size = ?')
    args.push(filter.size)
  }
  const r = db.prepare(`${SELECT} WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT 1`).get(...args) as Row | undefined
  return r ? fromRow(r) : undefined
}

export function touchDeviceAndOfficer(db: Db, deviceId: string | null, officerId: string | null, at: string): void {
  if (deviceId !== null) {
    db.prepare('INSERT INTO devices (id, first_seen, last_seen) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen').run(
      deviceId,
      at,
      at,
    )
  }
  if (officerId !== null) {
    db.prepare('INSERT INTO officers (id, first_seen, last_seen) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen').run(
      officerId,
      at,
      at,
    )
  }
}

/**
 * Who a docked camera and its officer are, from a `camera-identified`
 * event (devices and officers rows, migration 4): a later identity keeps
 * what it does not say. The rows a rebuild from the bucket restores.
 */
export function recordCameraIdentity(
  db: Db,
  c: {
    deviceId: string | null
    officerId: string | null
    officerName: string | null
    unitCode: string | null
    unitName: string | null
    profileId: string
    usbId: string | null
    usbSerial: string | null
    at: string
  },
): void {
  if (c.deviceId)
    db.prepare(`INSERT INTO devices (id, first_seen, last_seen, profile_id, usb_id, usb_serial) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), profile_id = excluded.profile_id,
        usb_id = coalesce(excluded.usb_id, usb_id), usb_serial = coalesce(excluded.usb_serial, usb_serial)`).run(
      c.deviceId,
      c.at,
      c.at,
      c.profileId,
      c.usbId,
      c.usbSerial,
    )
  if (c.officerId)
    db.prepare(`INSERT INTO officers (id, first_seen, last_seen, name, unit_code, unit_name) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), name = coalesce(excluded.name, name),
        unit_code = coalesce(excluded.unit_code, unit_code), unit_name = coalesce(excluded.unit_name, unit_name)`).run(
      c.officerId,
      c.at,
      c.at,
      c.officerName,
      c.unitCode,
      c.unitName,
    )
}

/** The id the next recording gets (ids are dense and never reused: a purged recording keeps its row). */
export function nextRecordingId(db: Db): number {
  return (db.prepare('SELECT coalesce(max(id), 0) AS m FROM recordings').get() as { m: number }).m + 1
}

/** Ids of the recordings still stored (not purged), in id order. */
export function storedRecordingIds(db: Db): number[] {
  return db.prepare("SELECT id FROM recordings WHERE status = 'stored' ORDER BY id").pluck().all() as number[]
}

/** Ids of the purged recordings (their tombstones are in the ledger). */
export function purgedRecordingIds(db: Db): number[] {
  return db.prepare("SELECT id FROM recordings WHERE status = 'purged'").pluck().all() as number[]
}

export function purgedCount(db: Db): number {
  return db.prepare("SELECT count(*) FROM recordings WHERE status = 'purged'").pluck().get() as number
}

/**
 * The recordings whose status is not 'stored' (purged), by id: what media's check asks (a derivative of such a
 * recording need not exist). Only these come back: the whole table's statuses in a Map cost verify 1.5 to 2.4 s
 * for a million recordings, this one scan in SQLite about 0.35 CPU-s.
 */
export function recordingsNotStored(db: Db): Map<number, Recording['status']> {
  return new Map(db.prepare("SELECT id, status FROM recordings WHERE status IS NOT 'stored'").raw().all() as [number, Recording['status']][])
}

/** What the retention rule reads of a recording. */
export type RetentionFacts = Pick<Recording, 'id' | 'sha256' | 'size' | 'category' | 'caseNumber' | 'recordedAt' | 'important'>

/** The stored recordings with the facts the retention rule reads, in id order. */
export function recordingsForRetention(db: Db): RetentionFacts[] {
  return (
    db
      .prepare(
        "SELECT id, sha256, size, category, case_number AS caseNumber, recorded_at AS recordedAt, important FROM recordings WHERE status = 'stored' ORDER BY id",
      )
      .all() as (Omit<RetentionFacts, 'important'> & { important: number })[]
  ).map((r) => ({ ...r, important: r.important === 1 }))
}

/** Stored footage without a category: kept for the longest non-case period, counted for the statistics. */
export function uncategorisedCount(db: Db): number {
  return db.prepare("SELECT count(*) FROM recordings WHERE status = 'stored' AND category IS NULL AND important = 0").pluck().get() as number
}

/** When the first stored recording with these bytes was ingested (how long the local copy has been cached). */
export function firstIngestOf(db: Db, sha256: string): string | undefined {
  return (db.prepare("SELECT min(ingested_at) FROM recordings WHERE sha256 = ? AND status = 'stored'").pluck().get(sha256) as string | null) ?? undefined
}

export function setRecordingImportant(db: Db, id: number, important: boolean): void {
  db.prepare('UPDATE recordings SET important = ? WHERE id = ?').run(important ? 1 : 0, id)
}

export function setRecordingCategory(db: Db, id: number, category: string | null): void {
  db.prepare('UPDATE recordings SET category = ? WHERE id = ?').run(category, id)
}

/** recordings.case_number: the earliest-linked case still linked (catalog/cases.ts primaryCaseOf), or null. */
export function setRecordingCaseNumber(db: Db, id: number, caseNumber: string | null): void {
  db.prepare('UPDATE recordings SET case_number = ? WHERE id = ?').run(caseNumber, id)
}

/** A recording's status: 'purged' when its tombstone is written (or a catalog is rebuilt from the ledger). */
export function setRecordingStatus(db: Db, id: number, status: Recording['status']): void {
  db.prepare('UPDATE recordings SET status = ? WHERE id = ?').run(status, id)
}

export function recordingExists(db: Db, id: number): boolean {
  return db.prepare('SELECT 1 FROM recordings WHERE id = ?').get(id) !== undefined
}

export function countRecordings(db: Db): number {
  return db.prepare('SELECT count(*) FROM recordings').pluck().get() as number
}
