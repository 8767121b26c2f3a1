/**
 * Findings for people: raised by the station (a name/assignment conflict at
 * ingest, reconciliation after a docking) and resolved only by a clerk or
 * a supervisor, never by the station. Each is its row and its ledger event
 * in one transaction.
 */
import type { Db } from '../catalog/db.js'
import { type Finding, getFinding, insertFinding, type NewFinding, resolveFinding as markResolved } from '../catalog/findings.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'

/** Raises a finding inside the caller's transaction. */
export function raiseFinding(db: Db, actor: string, f: NewFinding): number {
  const findingId = insertFinding(db, f)
  appendEvent(db, {
    type: 'finding-raised',
    actor,
    subject: subjects.finding(findingId),
    payload: {
      findingId,
      kind: f.kind,
      code: f.code,
      deviceNumber: f.deviceNumber,
      recordingId: f.recordingId,
      sessionId: f.sessionId,
      message: f.message,
      detail: f.detail,
    },
    at: new Date(f.foundAt),
  })
  return findingId
}

/** A person closes a finding, saying what they found (the officer really was..., the camera was reset...). */
export function resolveFinding(ctx: { db: Db; actor: string; now: Date }, id: number, resolution: string): Finding {
  const { db } = ctx
  return db
    .transaction(() => {
      const f = getFinding(db, id)
      if (!f) throw new BodyvaultError('FINDING_NOT_FOUND', `finding ${id} does not exist (bodyvault finding list)`)
      if (f.resolvedAt) throw new BodyvaultError('FINDING_RESOLVED', `finding ${id} was resolved on ${f.resolvedAt} by ${f.resolvedBy}`)
      const text = resolution.trim()
      if (text.length < 2) throw new BodyvaultError('REASON_REQUIRED', 'say how the finding was resolved (--resolution TEXT)')
      markResolved(db, id, { at: ctx.now.toISOString(), by: ctx.actor, resolution: text })
      appendEvent(db, { type: 'finding-resolved', actor: ctx.actor, subject: subjects.finding(id), payload: { findingId: id, resolution: text }, at: ctx.now })
      return getFinding(db, id)!
    })
    .immediate()
}
