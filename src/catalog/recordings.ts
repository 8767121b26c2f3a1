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
const FIELDS = Object.keys(COLUMNS) as (keyof Recording)[]
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

export function allRecordings(db: Db): IterableIterator<Recording> {
  const it = db.prepare(`${SELECT} ORDER BY id`).iterate() as IterableIterator<Row>
  return (function* () {
    for (const r of it) yield fromRow(r)
  })()
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
