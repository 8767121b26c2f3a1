import type { Db } from './db.js'

export const EXPORT_STATES = ['requested', 'approved', 'rejected'] as const
export type ExportState = (typeof EXPORT_STATES)[number]

/** An export request as the catalog holds it (the workflow is src/export/approvals.ts). */
export interface ExportRequest {
  id: number
  recordingIds: number[]
  reason: string
  recipient: string
  /** The token the request came with (null: a signed-in session). */
  requestedBy: number | null
  /** The requester's account and person (police number; `account:<id>` for a service account). */
  requestedUser: number | null
  requestedPerson: string
  requestedAt: string
  state: ExportState
  decidedBy: number | null
  decidedUser: number | null
  decidedPerson: string | null
  decidedAt: string | null
  decisionReason: string | null
  downloads: number
  /** Downloads the approvals so far allow (each approval adds exports.downloadsPerApproval). */
  allowedDownloads: number
}

type Row = Omit<ExportRequest, 'recordingIds'> & { recordingIds: string }

const SELECT = `SELECT id, recording_ids AS recordingIds, reason, recipient, requested_by AS requestedBy, requested_user AS requestedUser,
  requested_person AS requestedPerson, requested_at AS requestedAt, state, decided_by AS decidedBy, decided_user AS decidedUser,
  decided_person AS decidedPerson, decided_at AS decidedAt, decision_reason AS decisionReason, downloads, allowed_downloads AS allowedDownloads
  FROM export_requests`

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
  r: {
    recordingIds: number[]
    reason: string
    recipient: string
    requestedBy: number | null
    requestedUser: number | null
    requestedPerson: string
    requestedAt: string
  },
): number {
  return Number(
    db
      .prepare(
        "INSERT INTO export_requests (recording_ids, reason, recipient, requested_by, requested_user, requested_person, requested_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'requested')",
      )
      .run(JSON.stringify(r.recordingIds), r.reason, r.recipient, r.requestedBy, r.requestedUser, r.requestedPerson, r.requestedAt).lastInsertRowid,
  )
}

export function setExportDecision(
  db: Db,
  id: number,
  d: {
    state: Exclude<ExportState, 'requested'>
    decidedBy: number | null
    decidedUser: number | null
    decidedPerson: string
    decidedAt: string
    reason: string | null
    /** Downloads this decision adds (0 for a rejection). */
    addDownloads: number
  },
): void {
  db.prepare(
    'UPDATE export_requests SET state = ?, decided_by = ?, decided_user = ?, decided_person = ?, decided_at = ?, decision_reason = ?, allowed_downloads = allowed_downloads + ? WHERE id = ?',
  ).run(d.state, d.decidedBy, d.decidedUser, d.decidedPerson, d.decidedAt, d.reason, d.addDownloads, id)
}

/** Takes one of the downloads the approvals allow; false when none is left. */
export function takeExportDownload(db: Db, id: number): boolean {
  return db.prepare('UPDATE export_requests SET downloads = downloads + 1 WHERE id = ? AND downloads < allowed_downloads').run(id).changes === 1
}

/** Gives back a download whose package could not be built. */
export function returnExportDownload(db: Db, id: number): void {
  db.prepare('UPDATE export_requests SET downloads = downloads - 1 WHERE id = ? AND downloads > 0').run(id)
}
