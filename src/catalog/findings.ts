import type { Db } from './db.js'

/**
 * Findings (migration 015): what a clerk or a supervisor must look at and
 * that the station never resolves by itself: a recording whose camera
 * names one officer while the device's assignment names another
 * (`officer-conflict`), and what a camera should have handed over but did
 * not (`reconciliation`: counter gaps and repeats, recordings dated before
 * the previous docking, a clock far from the station's).
 */
export type FindingKind = 'officer-conflict' | 'reconciliation'
export type Finding = {
  id: number
  kind: FindingKind
  code: string
  deviceNumber: string | null
  recordingId: number | null
  sessionId: number | null
  message: string
  detail: Record<string, unknown>
  foundAt: string
  resolvedAt: string | null
  resolvedBy: string | null
  resolution: string | null
}
export type NewFinding = Pick<Finding, 'kind' | 'code' | 'deviceNumber' | 'recordingId' | 'sessionId' | 'message' | 'detail' | 'foundAt'>

const SELECT = `SELECT id, kind, code, device_number AS deviceNumber, recording_id AS recordingId, session_id AS sessionId, message, detail,
  found_at AS foundAt, resolved_at AS resolvedAt, resolved_by AS resolvedBy, resolution FROM findings`
type Row = Omit<Finding, 'detail'> & { detail: string }
const fromRow = (r: Row): Finding => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> })

export function insertFinding(db: Db, f: NewFinding): number {
  return Number(
    db
      .prepare(`INSERT INTO findings (kind, code, device_number, recording_id, session_id, message, detail, found_at)
      VALUES (@kind, @code, @deviceNumber, @recordingId, @sessionId, @message, @detail, @foundAt)`)
      .run({ ...f, detail: JSON.stringify(f.detail) }).lastInsertRowid,
  )
}

export function getFinding(db: Db, id: number): Finding | undefined {
  const r = db.prepare(`${SELECT} WHERE id = ?`).get(id) as Row | undefined
  return r ? fromRow(r) : undefined
}

export function listFindings(db: Db, q: { kind?: FindingKind | undefined; open?: boolean | undefined; recordingId?: number | undefined } = {}): Finding[] {
  const where: string[] = []
  const args: (string | number)[] = []
  if (q.kind !== undefined) {
    where.push('kind = ?')
    args.push(q.kind)
  }
  if (q.open === true) where.push('resolved_at IS NULL')
  if (q.open === false) where.push('resolved_at IS NOT NULL')
  if (q.recordingId !== undefined) {
    where.push('recording_id = ?')
    args.push(q.recordingId)
  }
  return (db.prepare(`${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`).all(...args) as Row[]).map(fromRow)
}

export function resolveFinding(db: Db, id: number, r: { at: string; by: string; resolution: string }): void {
  db.prepare('UPDATE findings SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ?').run(r.at, r.by, r.resolution, id)
}

/** Open findings by kind and code: what `status` shows. */
export function openFindingCounts(db: Db): { kind: FindingKind; code: string; open: number }[] {
  return db.prepare('SELECT kind, code, count(*) AS open FROM findings WHERE resolved_at IS NULL GROUP BY kind, code ORDER BY kind, code').all() as {
    kind: FindingKind
    code: string
    open: number
  }[]
}
