import { actors, subjects } from '../ledger/events.js'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Db } from '../catalog/db.js'
import {
  type ExportRequest,
  type ExportState,
  getExportRequest,
  insertExportRequest,
  listExportRequests,
  returnExportDownload,
  setExportDecision,
  takeExportDownload,
} from '../catalog/exports.js'
import { getRecording } from '../catalog/recordings.js'
import { getUser } from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { appendEvent } from '../ledger/ledger.js'
import type { Vault } from '../vault/store.js'
import { buildEvidencePackage, type EvidencePackageResult } from './package.js'

/**
 * Export with approval (the four-eyes rule, by person): someone asks
 * (recordings, reason, recipient); a DIFFERENT PERSON (another police
 * number, not just another account or token) with the right to approve
 * approves or rejects; only an approved request becomes an evidence
 * package, downloaded by the person who asked, as many times as the
 * approvals allow (each approval adds `downloadsPerApproval`; once used up,
 * a new approval is needed). Each step is a ledger event in the same
 * transaction as its catalog change. Who may ask or approve is the
 * caller's business (the API checks the rights); this file holds the rules
 * of the workflow itself.
 */
export type { ExportRequest }

/** Who acts: the token (0 under a session), its role, the account and the person behind it, and the ledger's actor. */
export interface Requester {
  id: number
  role: string
  actor: string
  /** The police number, or `account:<id>` for a service account. */
  person: string
  user: { id: number; username: string } | null
}

const personFields = (by: Requester) => (by.user ? { user: by.user.username, person: by.person } : { person: by.person })

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
        requestedBy: by.id || null,
        requestedUser: by.user?.id ?? null,
        requestedPerson: by.person,
        requestedAt: new Date().toISOString(),
      })
      appendEvent(db, {
        type: 'export-requested',
        actor: by.actor,
        subject: subjects.export(id),
        payload: { exportId: id, recordingIds: ids, reason: o.reason, recipient: o.recipient, tokenId: by.id, role: by.role, ...personFields(by) },
      })
      return getExport(db, id)
    })
    .immediate()
}

/**
 * Approves or rejects a request. The decider must be another person than
 * the requester (another police number: a second account of the same
 * person is refused, as is the same token). An approved request whose
 * downloads are used up can be approved again, which allows more.
 */
export function decideExport(
  db: Db,
  by: Requester,
  id: number,
  decision: 'approved' | 'rejected',
  reason: string | null,
  downloadsPerApproval = 1,
): ExportRequest {
  return db
    .transaction(() => {
      const e = getExport(db, id)
      if (e.requestedPerson === by.person || (e.requestedBy !== null && e.requestedBy === by.id))
        throw new BodyvaultError('SELF_APPROVAL', 'the requester cannot decide their own export request, under any account of theirs: another supervisor must')
      const again = e.state === 'approved' && decision === 'approved' && e.downloads >= e.allowedDownloads
      if (e.state !== 'requested' && !again) throw new BodyvaultError('ALREADY_DECIDED', `export request ${id} is already ${e.state}`)
      const add = decision === 'approved' ? downloadsPerApproval : 0
      setExportDecision(db, id, {
        state: decision,
        decidedBy: by.id || null,
        decidedUser: by.user?.id ?? null,
        decidedPerson: by.person,
        decidedAt: new Date().toISOString(),
        reason,
        addDownloads: add,
      })
      appendEvent(db, {
        type: decision === 'approved' ? 'export-approved' : 'export-rejected',
        actor: by.actor,
        subject: subjects.export(id),
        payload: { exportId: id, reason, tokenId: by.id, role: by.role, ...personFields(by), ...(add ? { allowedDownloads: e.allowedDownloads + add } : {}) },
      })
      return getExport(db, id)
    })
    .immediate()
}

/** How the ledger named who asked or approved: a person as `user:<name>`, a service account's token as `token:<id>`. */
function actorFor(db: Db, userId: number | null, tokenId: number | null): string {
  const u = userId === null ? undefined : getUser(db, userId)
  return u?.kind === 'person' ? actors.user(u.username) : actors.token(tokenId ?? 0)
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
  if (e.requestedPerson !== by.person) throw new BodyvaultError('NOT_REQUESTER', `only the person who requested export ${e.id} can download it`)
  // Purged since approval: refused before anything is fetched or written.
  for (const rid of e.recordingIds) requireStored(d.db, rid)
  if (!takeExportDownload(d.db, e.id))
    throw new BodyvaultError(
      'DOWNLOAD_LIMIT',
      `export request ${e.id} was downloaded ${e.downloads} time(s), all its approvals allow: a supervisor must approve it again`,
    )
  try {
    return await buildApproved(d, e, by, client)
  } catch (err) {
    returnExportDownload(d.db, e.id)
    throw err
  }
}

async function buildApproved(d: PackageDeps, e: ExportRequest, by: Requester, client: string): Promise<EvidencePackageResult> {
  // Every original is checked whole (repaired where a good copy exists) before it is packed; the zip re-hashes it as it goes in.
  for (const rid of e.recordingIds) {
    const r = getRecording(d.db, rid)!
    await (await d.openChecked(r.sha256, r.size, 'export')).verify()
  }
  return buildEvidencePackage({
    db: d.db,
    vault: d.vault,
    recordingIds: e.recordingIds,
    requestedBy: actorFor(d.db, e.requestedUser, e.requestedBy),
    // An approved request always has its decider (state checked by the caller).
    approvedBy: actorFor(d.db, e.decidedUser, e.decidedBy),
    reason: e.reason,
    recipient: e.recipient,
    out: join(d.vault.stagingDir, `${process.pid}-export-${e.id}-${randomBytes(6).toString('hex')}.zip`),
    station: d.station,
    actor: by.actor,
    exportPayload: { exportId: e.id, tokenId: by.id, role: by.role, client, ...personFields(by) },
    logger: d.logger,
    ...(d.anchorNow ? { anchor: d.anchorNow } : {}),
  })
}
