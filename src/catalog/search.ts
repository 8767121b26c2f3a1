import { type Db, prepared } from './db.js'
import { fromRow, SELECT_COLUMNS, type Recording, type RecordingRow } from './recordings.js'

/** Sort keys a search may use; a leading '-' is descending. */
export const SORTS = ['recordedAt', '-recordedAt', 'ingestedAt', '-ingestedAt'] as const
export type Sort = (typeof SORTS)[number]

export interface SearchQuery {
  officerId?: string | undefined
  deviceId?: string | undefined
  stationId?: string | undefined
  /** A category, or null for uncategorised footage. */
  category?: string | null | undefined
  caseNumber?: string | undefined
  important?: boolean | undefined
  kind?: string | undefined
  /** Inclusive lower bound on recorded_at (UTC ISO). */
  from?: string | undefined
  /** Exclusive upper bound on recorded_at (UTC ISO). */
  to?: string | undefined
  /** Words of the original file path, the last one by its start (case-insensitive). */
  text?: string | undefined
  sort?: Sort | undefined
  limit?: number | undefined
  cursor?: string | undefined
}

export class BadCursorError extends Error {}

const SORT_COLUMN = { recordedAt: 'recorded_at', ingestedAt: 'ingested_at' } as const

interface Cursor {
  s: Sort
  v: string
  id: number
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url')
}

function decodeCursor(text: string, sort: Sort): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor
    if (c.s !== sort || typeof c.v !== 'string' || !Number.isInteger(c.id)) throw new Error('mismatch')
    return c
  } catch {
    throw new BadCursorError('cursor is not one this search returned (or the sort changed): start again without it')
  }
}

/**
 * The one search over recordings: filters, a stable sort (the sort column,
 * then id) and keyset pagination with an opaque cursor, so a page costs the
 * same at any depth. Text matches words of the original file name (the
 * last one by its start) through the FTS5 index.
 */
export function searchRecordings(db: Db, q: SearchQuery): { items: Recording[]; nextCursor: string | null } {
  const sort: Sort = q.sort ?? '-recordedAt'
  const desc = sort.startsWith('-')
  const col = SORT_COLUMN[(desc ? sort.slice(1) : sort) as keyof typeof SORT_COLUMN]
  const where: string[] = []
  const args: (string | number)[] = []
  const eq = (column: string, v: string | number | undefined): void => {
    if (v === undefined) return
    where.push(`recordings.${column} = ?`)
    args.push(v)
  }
  eq('officer_id', q.officerId)
  eq('device_id', q.deviceId)
  eq('station_id', q.stationId)
  eq('kind', q.kind)
  if (q.caseNumber !== undefined) {
    // Any linked case, not only the recording's first one.
    where.push('recordings.id IN (SELECT recording_id FROM case_links WHERE case_number = ?)')
    args.push(q.caseNumber)
  }
  if (q.important !== undefined) eq('important', q.important ? 1 : 0)
  if (q.category === null) where.push('recordings.category IS NULL')
  else eq('category', q.category)
  if (q.from !== undefined) {
    where.push('recordings.recorded_at >= ?')
    args.push(q.from)
  }
  if (q.to !== undefined) {
    where.push('recordings.recorded_at < ?')
    args.push(q.to)
  }
  if (q.text !== undefined && q.text !== '') {
    if (/[\p{L}\p{N}]/u.test(q.text)) {
      // The words of the text, in order, the last one as a prefix: "A1B2C3D_0123" finds
      // A1B2C3D_012345_..., "20261120" finds every name of that day.
      where.push('recordings.id IN (SELECT rowid FROM recordings_name WHERE recordings_name MATCH ?)')
      args.push(`"${q.text.replace(/"/g, '""')}" *`)
    } else {
      where.push("recordings.source_path LIKE ? ESCAPE '\\'")
      args.push(`%${q.text.replace(/[\\%_]/g, (c) => '\\' + c)}%`)
    }
  }
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor, sort)
    where.push(`(recordings.${col}, recordings.id) ${desc ? '<' : '>'} (?, ?)`)
    args.push(c.v, c.id)
  }
  const limit = q.limit ?? 50
  const dir = desc ? 'DESC' : 'ASC'
  const sql = `SELECT ${SELECT_COLUMNS} FROM recordings${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY recordings.${col} ${dir}, recordings.id ${dir} LIMIT ?`
  const rows = (prepared(db, sql).all(...args, limit + 1) as RecordingRow[]).map(fromRow)
  const more = rows.length > limit
  const items = more ? rows.slice(0, limit) : rows
  const last = items[items.length - 1]
  const field = (desc ? sort.slice(1) : sort) as 'recordedAt' | 'ingestedAt'
  return { items, nextCursor: more && last ? encodeCursor({ s: sort, v: last[field], id: last.id }) : null }
}
