import { actors, subjects } from '../ledger/events.js'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Db } from '../catalog/db.js'
import {
  countExportDownload,
  type ExportRequest,
  type ExportState,
  getExportRequest,
  insertExportRequest,
  listExportRequests,
  setExportDecision,
} from '../catalog/exports.js'
import { getRecording } from '../catalog/recordings.js'
import { BodyvaultError } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { appendEvent } from '../ledger/ledger.js'
import type { Vault } from '../vault/store.js'
import { buildEvidencePackage, type EvidencePackageResult } from './package.js'

/**
 * Export with approval (the four-eyes rule): someone asks (recordings,
 * reason, recipient); a DIFFERENT principal with the right to approve
 * approves or rejects; only an approved request becomes an evidence
 * package. Each step is a ledger event in the same transaction as its
 * catalog change. Who may ask or approve is the caller's business (the API
 * checks the rights); this file holds the rules of the workflow itself.
 */
export type { ExportRequest }

/** Who acts: a token id and its role, as the ledger names them (`token:<id>`). */
export interface Requester {
  id: number
  role: string
}

export function getExport(db: Db, id: number): ExportRequest {
  const e = getExportRequest(db, id)
  if (!e) throw new BodyvaultError('EXPORT_NOT_FOUND', `no export request ${id}`)
  return e
}

export function listExports(db: Db, state?: ExportState): ExportRequest[] {
  return listExportRequests(db, state)
}

/** A purged recording is refused the same way everywhere: RECORDING_PURGED. */
function requireStored(db: Db, id: number): void {
  const r = getRecording(db, id)
  if (!r) throw new BodyvaultError('RECORDING_NOT_FOUND', `no recording ${id}`)
  if (r.status !== 'stored') throw new BodyvaultError('RECORDING_PURGED', `recording ${id} was purged under its retention rule and cannot be exported`)
}

export function requestExport(db: Db, by: Requester, o: { recordingIds: number[]; reason: string; recipient: string }): ExportRequest {
  const ids = [...new Set(o.recordingIds)].sort((a, b) => a - b)
  return db
    .transaction(() => {
      for (const id of ids) requireStored(db, id)
      const id = insertExportRequest(db, {
        recordingIds: ids,
        reason: o.reason,
        recipient: o.recipient,
        requestedBy: by.id,
        requestedAt: new Date().toISOString(),
      })
      appendEvent(db, {
        type: 'export-requested',
        actor: actors.token(by.id),
        subject: subjects.export(id),
        payload: { exportId: id, recordingIds: ids, reason: o.reason, recipient: o.recipient, tokenId: by.id, role: by.role },
      })
      return getExport(db, id)
    })
    .immediate()
}

export function decideExport(db: Db, by: Requester, id: number, decision: 'approved' | 'rejected', reason: string | null): ExportRequest {
  return db
    .transaction(() => {
      const e = getExport(db, id)
      if (e.requestedBy === by.id) throw new BodyvaultError('SELF_APPROVAL', 'the requester cannot decide its own export request: another supervisor must')
      if (e.state !== 'requested') throw new BodyvaultError('ALREADY_DECIDED', `export request ${id} is already ${e.state}`)
      setExportDecision(db, id, { state: decision, decidedBy: by.id, decidedAt: new Date().toISOString(), reason })
      appendEvent(db, {
        type: decision === 'approved' ? 'export-approved' : 'export-rejected',
        actor: actors.token(by.id),
        subject: subjects.export(id),
        payload: { exportId: id, reason, tokenId: by.id, role: by.role },
      })
      return getExport(db, id)
    })
    .immediate()
}

export interface PackageDeps {
  db: Db
  vault: Vault
  station: { id: string; name: string; timezone: string }
  logger: Logger
  /** Opens a vault object checked block by block (fetched back from S3 if it was evicted; repaired or refused if bad): src/fixity/. */
  openChecked(sha256: string, size: number, where?: string): Promise<{ verify(): Promise<void> }>
  /** Takes the package's checkpoint to the witnesses first, so that their co-signatures go with it (the station's anchorNow). */
  anchorNow?: () => Promise<void>
}

/**
 * The evidence package of an approved request, built in the vault's staging
 * folder under this process's pid (so a crash leaves nothing that outlives
 * the next start); the caller sends it and removes it. Each recording gets
 * an `exported` event naming the request, the downloader and `client`.
 */
export async function packageApprovedExport(d: PackageDeps, id: number, by: Requester, client: string): Promise<EvidencePackageResult> {
  const e = getExport(d.db, id)
  if (e.state !== 'approved') throw new BodyvaultError('NOT_APPROVED', `export request ${e.id} is ${e.state}: only an approved request can be downloaded`)
  // Purged since approval: refused before anything is fetched or written.
  for (const rid of e.recordingIds) requireStored(d.db, rid)
  // Every original is checked whole (repaired where a good copy exists) before it is packed; the zip re-hashes it as it goes in.
  for (const rid of e.recordingIds) {
    const r = getRecording(d.db, rid)!
    await (await d.openChecked(r.sha256, r.size, 'export')).verify()
  }
  const pkg = await buildEvidencePackage({
    db: d.db,
    vault: d.vault,
    recordingIds: e.recordingIds,
    requestedBy: actors.token(e.requestedBy),
    // An approved request always has its decider (state checked above).
    approvedBy: actors.token(e.decidedBy!),
    reason: e.reason,
    recipient: e.recipient,
    out: join(d.vault.stagingDir, `${process.pid}-export-${e.id}-${randomBytes(6).toString('hex')}.zip`),
    station: d.station,
    actor: actors.token(by.id),
    exportPayload: { exportId: e.id, tokenId: by.id, role: by.role, client },
    logger: d.logger,
    ...(d.anchorNow ? { anchor: d.anchorNow } : {}),
  })
  countExportDownload(d.db, e.id)
  return pkg
}
