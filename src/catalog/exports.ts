import type { Db } from './db.js'

export const EXPORT_STATES = ['requested', 'approved', 'rejected'] as const
export type ExportState = (typeof EXPORT_STATES)[number]

/** An export request as the catalog holds it (the workflow is src/export/approvals.ts). */
export interface ExportRequest {
  id: number
  recordingIds: number[]
  reason: string
  recipient: string
  /** Token ids. */
  requestedBy: number
  requestedAt: string
  state: ExportState
  decidedBy: number | null
  decidedAt: string | null
  decisionReason: string | null
  downloads: number
}

type Row = Omit<ExportRequest, 'recordingIds'> & { recordingIds: string }

const SELECT = `SELECT id, recording_ids AS recordingIds, reason, recipient, requested_by AS requestedBy, requested_at AS requestedAt, state,
  decided_by AS decidedBy, decided_at AS decidedAt, decision_reason AS decisionReason, downloads FROM export_requests`

function fromRow(r: Row): ExportRequest {
  return { ...r, recordingIds: JSON.parse(r.recordingIds) as number[] }
}

export function getExportRequest(db: Db, id: number): ExportRequest | undefined {
  const r = db.prepare(`${SELECT} WHERE id = ?`).get(id) as Row | undefined
  return r ? fromRow(r) : undefined
}

/** The newest `limit` requests, of one state or all. */
export function listExportRequests(db: Db, state?: ExportState, limit = 500): ExportRequest[] {
  const rows = (
    state ? db.prepare(`${SELECT} WHERE state = ? ORDER BY id DESC LIMIT ?`).all(state, limit) : db.prepare(`${SELECT} ORDER BY id DESC LIMIT ?`).all(limit)
  ) as Row[]
  return rows.map(fromRow)
}

export function insertExportRequest(
  db: Db,
  r: { recordingIds: number[]; reason: string; recipient: string; requestedBy: number; requestedAt: string },
): number {
  return Number(
    db
      .prepare("INSERT INTO export_requests (recording_ids, reason, recipient, requested_by, requested_at, state) VALUES (?, ?, ?, ?, ?, 'requested')")
      .run(JSON.stringify(r.recordingIds), r.reason, r.recipient, r.requestedBy, r.requestedAt).lastInsertRowid,
  )
}

export function setExportDecision(
  db: Db,
  id: number,
  d: { state: Exclude<ExportState, 'requested'>; decidedBy: number; decidedAt: string; reason: string | null },
): void {
  db.prepare('UPDATE export_requests SET state = ?, decided_by = ?, decided_at = ?, decision_reason = ? WHERE id = ?').run(
    d.state,
    d.decidedBy,
    d.decidedAt,
    d.reason,
    id,
  )
}

export function countExportDownload(db: Db, id: number): void {
  db.prepare('UPDATE export_requests SET downloads = downloads + 1 WHERE id = ?').run(id)
}
