import type { Db } from '../catalog/db.js'
import { getRecording } from '../catalog/recordings.js'
import { appendEvent } from '../ledger/ledger.js'
import { ApiError } from './errors.js'
import type { Token } from './tokens.js'

/**
 * Export requests: a clerk asks (recordings, reason, recipient); a
 * DIFFERENT token with the supervisor role approves or rejects; only an
 * approved request can be downloaded. Each step is a ledger event in the
 * same transaction as its catalog change.
 */
export interface ExportRequest {
  id: number
  recordingIds: number[]
  reason: string
  recipient: string
  requestedBy: number
  requestedAt: string
  state: 'requested' | 'approved' | 'rejected'
  decidedBy: number | null
  decidedAt: string | null
  decisionReason: string | null
  downloads: number
}

const SELECT = `SELECT id, recording_ids AS recordingIds, reason, recipient, requested_by AS requestedBy, requested_at AS requestedAt, state,
  decided_by AS decidedBy, decided_at AS decidedAt, decision_reason AS decisionReason, downloads FROM export_requests`

function fromRow(r: Omit<ExportRequest, 'recordingIds'> & { recordingIds: string }): ExportRequest {
  return { ...r, recordingIds: JSON.parse(r.recordingIds) as number[] }
}

export function getExport(db: Db, id: number): ExportRequest {
  const r = db.prepare(`${SELECT} WHERE id = ?`).get(id) as (Omit<ExportRequest, 'recordingIds'> & { recordingIds: string }) | undefined
  if (!r) throw new ApiError(404, 'EXPORT_NOT_FOUND', `no export request ${id}`)
  return fromRow(r)
}

export function listExports(db: Db, state?: string): ExportRequest[] {
  const rows = (
    state ? db.prepare(`${SELECT} WHERE state = ? ORDER BY id DESC LIMIT 500`).all(state) : db.prepare(`${SELECT} ORDER BY id DESC LIMIT 500`).all()
  ) as (Omit<ExportRequest, 'recordingIds'> & { recordingIds: string })[]
  return rows.map(fromRow)
}

export function requestExport(db: Db, by: Token, o: { recordingIds: number[]; reason: string; recipient: string }): ExportRequest {
  const ids = [...new Set(o.recordingIds)].sort((a, b) => a - b)
  return db
    .transaction(() => {
      for (const id of ids) {
        const r = getRecording(db, id)
        if (!r) throw new ApiError(404, 'RECORDING_NOT_FOUND', `no recording ${id}`)
        if (r.status !== 'stored') throw new ApiError(409, 'PURGED', `recording ${id} was purged and cannot be exported`)
      }
      const at = new Date().toISOString()
      const id = Number(
        db
          .prepare("INSERT INTO export_requests (recording_ids, reason, recipient, requested_by, requested_at, state) VALUES (?, ?, ?, ?, ?, 'requested')")
          .run(JSON.stringify(ids), o.reason, o.recipient, by.id, at).lastInsertRowid,
      )
      appendEvent(db, {
        type: 'export-requested',
        actor: `token:${by.id}`,
        subject: `export:${id}`,
        payload: { exportId: id, recordingIds: ids, reason: o.reason, recipient: o.recipient, tokenId: by.id, role: by.role },
      })
      return getExport(db, id)
    })
    .immediate()
}

export function decideExport(db: Db, by: Token, id: number, decision: 'approved' | 'rejected', reason: string | null): ExportRequest {
  return db
    .transaction(() => {
      const e = getExport(db, id)
      if (e.requestedBy === by.id) throw new ApiError(403, 'SELF_APPROVAL', 'the requester cannot decide its own export request: another supervisor must')
      if (e.state !== 'requested') throw new ApiError(409, 'ALREADY_DECIDED', `export request ${id} is already ${e.state}`)
      const at = new Date().toISOString()
      db.prepare('UPDATE export_requests SET state = ?, decided_by = ?, decided_at = ?, decision_reason = ? WHERE id = ?').run(decision, by.id, at, reason, id)
      appendEvent(db, {
        type: decision === 'approved' ? 'export-approved' : 'export-rejected',
        actor: `token:${by.id}`,
        subject: `export:${id}`,
        payload: { exportId: id, reason, tokenId: by.id, role: by.role },
      })
      return getExport(db, id)
    })
    .immediate()
}

/** Counts a download (the evidence package builder writes the `exported` events). */
export function countDownload(db: Db, id: number): void {
  db.prepare('UPDATE export_requests SET downloads = downloads + 1 WHERE id = ?').run(id)
}
