import {
  deleteCaseLink,
  getCase,
  getHold,
  insertCase,
  insertCaseLink,
  insertHold,
  isLinked,
  markCaseClosed,
  markCaseOpen,
  markHoldReleased,
  nextHoldId,
  primaryCaseOf,
  recordingsOfCase,
  type CaseRow,
  type HoldRow,
} from '../catalog/cases.js'
import type { Db } from '../catalog/db.js'
import { getRecording, setRecordingCaseNumber, setRecordingCategory, setRecordingImportant, type Recording } from '../catalog/recordings.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects, type ViaField } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { recomputeDeadline, type Ctx } from './deadlines.js'
import type { Decision } from './policy.js'

/**
 * What clerks and supervisors change: cases, case links, categories and
 * legal holds. Every change is ONE immediate SQLite transaction holding the
 * catalog change, its ledger event and, when the recording's deadline
 * moved, a `retention-changed` event (./deadlines.ts): the ledger and the
 * catalog never disagree, and every deadline change is on the record.
 */

/** Input errors: exit code 2 (the argument is wrong), with a stable code. */
function bad(code: string, message: string): BodyvaultError {
  return new BodyvaultError(code, message, 2)
}

function requireRecording(db: Db, id: number): Recording {
  const r = getRecording(db, id)
  if (!r) throw bad('RECORDING_NOT_FOUND', `recording ${id} is not in the catalog (bodyvault recordings lists them)`)
  if (r.status === 'purged') throw bad('RECORDING_PURGED', `recording ${id} was purged (its tombstone is in the ledger): it can no longer be changed`)
  return r
}

function requireCase(db: Db, number: string): CaseRow {
  const c = getCase(db, number)
  if (!c) throw bad('CASE_NOT_FOUND', `case ${number} does not exist: create it first (bodyvault case create ${number} --type TYPE)`)
  return c
}

function requireReason(reason: string | undefined, what: string): string {
  const r = reason?.trim() ?? ''
  if (r.length === 0) throw bad('REASON_REQUIRED', `${what} needs a reason (--reason TEXT): it goes into the ledger`)
  if (r.length > 2000) throw bad('REASON_TOO_LONG', 'the reason is longer than 2000 characters')
  return r
}

function notAfterNow(iso: string, now: Date, what: string): void {
  if (new Date(iso).getTime() > now.getTime() + 60_000) throw bad('DATE_IN_FUTURE', `${what} ${iso} is in the future`)
}

const CASE_NUMBER = /^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff()（）〔〕[\]._/-]{0,63}$/

export function createCase(ctx: Ctx, c: { number: string; type: string; title?: string | null; openedAt?: string | null }): CaseRow {
  const { db } = ctx
  if (!CASE_NUMBER.test(c.number))
    throw bad('CASE_NUMBER_INVALID', `case number "${c.number}" is not valid: 1-64 letters, digits, CJK characters, brackets, . _ / -`)
  if (!ctx.policy.caseTypes[c.type])
    throw bad(
      'CASE_TYPE_UNKNOWN',
      `case type "${c.type}" is not configured; known types: ${Object.keys(ctx.policy.caseTypes).join(', ')} (config retention.caseTypes)`,
    )
  const openedAt = c.openedAt ?? ctx.now.toISOString()
  notAfterNow(openedAt, ctx.now, 'the opening date')
  return db
    .transaction(() => {
      if (getCase(db, c.number)) throw bad('CASE_EXISTS', `case ${c.number} already exists`)
      appendEvent(db, {
        type: 'case-created',
        actor: ctx.actor,
        subject: subjects.case(c.number),
        at: ctx.now,
        payload: { caseNumber: c.number, type: c.type, title: c.title ?? null, openedAt },
      })
      insertCase(db, { number: c.number, type: c.type, title: c.title ?? null, status: 'open', openedAt, openedBy: ctx.actor, closedAt: null, closedBy: null })
      return requireCase(db, c.number)
    })
    .immediate()
}

/** Closes a case: its footage now keeps until closing date + the archive period of its type. */
export function closeCase(ctx: Ctx, number: string, o: { closedAt?: string | null; reason?: string }): { case: CaseRow; changed: number[] } {
  const { db } = ctx
  const closedAt = o.closedAt ?? ctx.now.toISOString()
  notAfterNow(closedAt, ctx.now, 'the closing date')
  return db
    .transaction(() => {
      const c = requireCase(db, number)
      if (c.status === 'closed') throw bad('CASE_CLOSED', `case ${number} is already closed (on ${c.closedAt})`)
      if (closedAt < c.openedAt) throw bad('DATE_ORDER', `the closing date ${closedAt} is before the case was opened (${c.openedAt})`)
      appendEvent(db, {
        type: 'case-closed',
        actor: ctx.actor,
        subject: subjects.case(number),
        at: ctx.now,
        payload: { caseNumber: number, closedAt, reason: o.reason?.trim() || null },
      })
      markCaseClosed(db, number, closedAt, ctx.actor)
      const changed = recordingsOfCase(db, number).filter((id) => recomputeDeadline(ctx, id).changed)
      return { case: requireCase(db, number), changed }
    })
    .immediate()
}

/** Reopens a closed case (a retrial, a review): its footage is kept indefinitely again. */
export function reopenCase(ctx: Ctx, number: string, reason: string | undefined): { case: CaseRow; changed: number[] } {
  const { db } = ctx
  const why = requireReason(reason, 'reopening a case')
  return db
    .transaction(() => {
      const c = requireCase(db, number)
      if (c.status === 'open') throw bad('CASE_OPEN', `case ${number} is open`)
      appendEvent(db, { type: 'case-reopened', actor: ctx.actor, subject: subjects.case(number), at: ctx.now, payload: { caseNumber: number, reason: why } })
      markCaseOpen(db, number)
      const changed = recordingsOfCase(db, number).filter((id) => recomputeDeadline(ctx, id).changed)
      return { case: requireCase(db, number), changed }
    })
    .immediate()
}

export function linkRecordings(ctx: Ctx, number: string, recordingIds: readonly number[], reason?: string, via: ViaField = {}): { linked: number[] } {
  const { db } = ctx
  return db
    .transaction(() => {
      requireCase(db, number)
      for (const id of recordingIds) {
        requireRecording(db, id)
        if (isLinked(db, id, number)) throw bad('LINK_EXISTS', `recording ${id} is already linked to case ${number}`)
        insertCaseLink(db, { recordingId: id, caseNumber: number, linkedAt: ctx.now.toISOString(), linkedBy: ctx.actor })
        const primary = primaryCaseOf(db, id)
        appendEvent(db, {
          type: 'case-linked',
          actor: ctx.actor,
          subject: subjects.recording(id),
          at: ctx.now,
          payload: { recordingId: id, caseNumber: number, reason: reason?.trim() || null, recordingCaseNumber: primary, ...via },
        })
        setRecordingCaseNumber(db, id, primary)
        recomputeDeadline(ctx, id)
      }
      return { linked: [...recordingIds] }
    })
    .immediate()
}

export function unlinkRecording(ctx: Ctx, number: string, recordingId: number, reason: string | undefined): void {
  const { db } = ctx
  const why = requireReason(reason, 'unlinking a recording from a case')
  db.transaction(() => {
    requireCase(db, number)
    requireRecording(db, recordingId)
    if (!deleteCaseLink(db, recordingId, number)) throw bad('LINK_MISSING', `recording ${recordingId} is not linked to case ${number}`)
    const primary = primaryCaseOf(db, recordingId)
    appendEvent(db, {
      type: 'case-unlinked',
      actor: ctx.actor,
      subject: subjects.recording(recordingId),
      at: ctx.now,
      payload: { recordingId, caseNumber: number, reason: why, recordingCaseNumber: primary },
    })
    setRecordingCaseNumber(db, recordingId, primary)
    recomputeDeadline(ctx, recordingId)
  }).immediate()
}

/** Sets a recording's category (e.g. a clerk reclassifying camera-"important" footage), with a reason. */
export function setCategory(
  ctx: Ctx,
  recordingId: number,
  category: string | null,
  reason: string | undefined,
  via: ViaField = {},
): { from: string | null; to: string | null; decision: Decision } {
  const { db } = ctx
  const why = requireReason(reason, 'changing a category')
  if (category !== null && !ctx.policy.categories[category])
    throw bad(
      'CATEGORY_UNKNOWN',
      `category "${category}" is not configured; known: ${Object.keys(ctx.policy.categories).join(', ')} (config retention.categories)`,
    )
  return db
    .transaction(() => {
      const r = requireRecording(db, recordingId)
      if (r.category === category) throw bad('CATEGORY_UNCHANGED', `recording ${recordingId} is already ${category ?? 'uncategorised'}`)
      appendEvent(db, {
        type: 'category-changed',
        actor: ctx.actor,
        subject: subjects.recording(recordingId),
        at: ctx.now,
        payload: { recordingId, from: r.category, to: category, reason: why, ...via },
      })
      setRecordingCategory(db, recordingId, category)
      return { from: r.category, to: category, decision: recomputeDeadline(ctx, recordingId).decision }
    })
    .immediate()
}

/** Marks a recording important or not (the camera's own mark, at ingest; an important, uncategorised recording is kept as evidence), with a reason. */
export function setImportant(ctx: Ctx, recordingId: number, important: boolean, reason: string | undefined, via: ViaField = {}): { decision: Decision } {
  const { db } = ctx
  const why = requireReason(reason, 'marking a recording important')
  return db
    .transaction(() => {
      const r = requireRecording(db, recordingId)
      if (r.important === important) throw bad('IMPORTANCE_UNCHANGED', `recording ${recordingId} is already ${important ? 'important' : 'not important'}`)
      appendEvent(db, {
        type: 'importance-changed',
        actor: ctx.actor,
        subject: subjects.recording(recordingId),
        at: ctx.now,
        payload: { recordingId, from: r.important, to: important, reason: why, ...via },
      })
      setRecordingImportant(db, recordingId, important)
      return { decision: recomputeDeadline(ctx, recordingId).decision }
    })
    .immediate()
}

export function placeHold(ctx: Ctx, recordingId: number, reason: string | undefined): HoldRow {
  const { db } = ctx
  const why = requireReason(reason, 'a legal hold')
  return db
    .transaction(() => {
      requireRecording(db, recordingId)
      const id = nextHoldId(db)
      appendEvent(db, {
        type: 'hold-placed',
        actor: ctx.actor,
        subject: subjects.recording(recordingId),
        at: ctx.now,
        payload: { holdId: id, recordingId, reason: why },
      })
      insertHold(db, {
        id,
        recordingId,
        reason: why,
        placedBy: ctx.actor,
        placedAt: ctx.now.toISOString(),
        releasedAt: null,
        releasedBy: null,
        releaseReason: null,
      })
      recomputeDeadline(ctx, recordingId)
      return getHold(db, id)!
    })
    .immediate()
}

export function releaseHold(ctx: Ctx, holdId: number, reason: string | undefined): HoldRow {
  const { db } = ctx
  const why = requireReason(reason, 'releasing a legal hold')
  return db
    .transaction(() => {
      const h = getHold(db, holdId)
      if (!h) throw bad('HOLD_NOT_FOUND', `hold ${holdId} does not exist (bodyvault hold list)`)
      if (h.releasedAt !== null) throw bad('HOLD_RELEASED', `hold ${holdId} was already released on ${h.releasedAt} by ${h.releasedBy}`)
      appendEvent(db, {
        type: 'hold-released',
        actor: ctx.actor,
        subject: subjects.recording(h.recordingId),
        at: ctx.now,
        payload: { holdId, recordingId: h.recordingId, reason: why },
      })
      markHoldReleased(db, holdId, ctx.now.toISOString(), ctx.actor, why)
      recomputeDeadline(ctx, h.recordingId)
      return getHold(db, holdId)!
    })
    .immediate()
}
