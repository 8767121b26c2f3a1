import type { Db } from '../catalog/db.js'
import { getRecording, type Recording } from '../catalog/recordings.js'
import { BodyvaultError } from '../common/errors.js'
import { appendEvent } from '../ledger/ledger.js'
import {
  deadline,
  deadlineFromDb,
  deadlineText,
  deadlineToDb,
  type Decision,
  type PolicyCase,
  type PolicyHold,
  type RetentionPolicy,
  type RuleCode,
} from './policy.js'

/**
 * Cases, case links, category changes, legal holds and retention deadlines
 * in the catalog. Every change is ONE immediate SQLite transaction holding
 * the catalog change, its ledger event and, when the recording's deadline
 * moved, a `retention-changed` event: the ledger and the catalog never
 * disagree, and every deadline change is on the record.
 */

/** Who acts, when, under which policy. `now` is injected (tests move time). */
export interface Ctx {
  db: Db
  policy: RetentionPolicy
  /** Ledger actor, e.g. "user:wang" or "station:station-01". */
  actor: string
  now: Date
}

export interface CaseRow {
  number: string
  type: string
  title: string | null
  status: 'open' | 'closed'
  openedAt: string
  openedBy: string
  closedAt: string | null
  closedBy: string | null
}

export interface HoldRow {
  id: number
  recordingId: number
  reason: string
  placedBy: string
  placedAt: string
  releasedAt: string | null
  releasedBy: string | null
  releaseReason: string | null
}

export interface RetentionRow {
  recordingId: number
  /** UTC ISO, or null: indefinite. */
  deadline: string | null
  rule: RuleCode
  ruleRef: string | null
  eventSeq: number
}

/** Input errors: exit code 2 (the argument is wrong), with a stable code. */
function bad(code: string, message: string): BodyvaultError {
  return new BodyvaultError(code, message, 2)
}

const CASE_SELECT = 'SELECT number, type, title, status, opened_at AS openedAt, opened_by AS openedBy, closed_at AS closedAt, closed_by AS closedBy FROM cases'
const HOLD_SELECT =
  'SELECT id, recording_id AS recordingId, reason, placed_by AS placedBy, placed_at AS placedAt, released_at AS releasedAt, released_by AS releasedBy, release_reason AS releaseReason FROM holds'

export function getCase(db: Db, number: string): CaseRow | undefined {
  return db.prepare(`${CASE_SELECT} WHERE number = ?`).get(number) as CaseRow | undefined
}

export function listCases(db: Db, status?: 'open' | 'closed'): CaseRow[] {
  return (status ? db.prepare(`${CASE_SELECT} WHERE status = ? ORDER BY number`).all(status) : db.prepare(`${CASE_SELECT} ORDER BY number`).all()) as CaseRow[]
}

/** The cases a recording is linked to, in link order. */
export function casesOf(db: Db, recordingId: number): (PolicyCase & { linkedAt: string })[] {
  return db
    .prepare(`SELECT c.number, c.type, c.status, c.closed_at AS closedAt, l.linked_at AS linkedAt FROM case_links l JOIN cases c ON c.number = l.case_number
    WHERE l.recording_id = ? ORDER BY l.rowid`)
    .all(recordingId) as (PolicyCase & { linkedAt: string })[]
}

export function recordingsOfCase(db: Db, number: string): number[] {
  return (db.prepare('SELECT recording_id AS id FROM case_links WHERE case_number = ? ORDER BY recording_id').all(number) as { id: number }[]).map((r) => r.id)
}

export function holdsOf(db: Db, recordingId: number, activeOnly = false): HoldRow[] {
  return db.prepare(`${HOLD_SELECT} WHERE recording_id = ?${activeOnly ? ' AND released_at IS NULL' : ''} ORDER BY id`).all(recordingId) as HoldRow[]
}

export function getHold(db: Db, id: number): HoldRow | undefined {
  return db.prepare(`${HOLD_SELECT} WHERE id = ?`).get(id) as HoldRow | undefined
}

export function listHolds(db: Db, activeOnly: boolean): HoldRow[] {
  return db.prepare(`${HOLD_SELECT}${activeOnly ? ' WHERE released_at IS NULL' : ''} ORDER BY id`).all() as HoldRow[]
}

export function getRetention(db: Db, recordingId: number): RetentionRow | undefined {
  return db
    .prepare('SELECT recording_id AS recordingId, deadline, rule, rule_ref AS ruleRef, event_seq AS eventSeq FROM retention WHERE recording_id = ?')
    .get(recordingId) as RetentionRow | undefined
}

/** The rule applied to a recording as the catalog stands now (reads, no writes). */
export function decide(db: Db, r: Pick<Recording, 'id' | 'recordedAt' | 'category' | 'important'>, policy: RetentionPolicy): Decision {
  const holds: PolicyHold[] = holdsOf(db, r.id, true).map((h) => ({ id: h.id, releasedAt: h.releasedAt }))
  return deadline(r, casesOf(db, r.id), holds, policy)
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

/**
 * Recomputes one recording's deadline inside the caller's transaction and,
 * when it differs from the stored one, stores it and appends
 * `retention-changed`. Returns the decision.
 */
export function recomputeDeadline(ctx: Ctx, recordingId: number): { decision: Decision; changed: boolean } {
  const { db } = ctx
  const r = getRecording(db, recordingId)
  if (!r) throw bad('RECORDING_NOT_FOUND', `recording ${recordingId} is not in the catalog`)
  const decision = decide(db, r, ctx.policy)
  if (r.status !== 'stored') return { decision, changed: false }
  const prev = getRetention(db, recordingId)
  const stored = deadlineToDb(decision.deadline)
  if (prev && prev.deadline === stored && prev.rule === decision.rule && prev.ruleRef === decision.ref) return { decision, changed: false }
  const ev = appendEvent(db, {
    type: 'retention-changed',
    actor: ctx.actor,
    subject: `recording:${recordingId}`,
    at: ctx.now,
    payload: {
      recordingId,
      deadline: deadlineText(decision.deadline),
      rule: decision.rule,
      ruleRef: decision.ref,
      previous: prev ? { deadline: deadlineText(deadlineFromDb(prev.deadline)), rule: prev.rule, ruleRef: prev.ruleRef } : null,
    },
  })
  db.prepare(`INSERT INTO retention (recording_id, deadline, rule, rule_ref, event_seq) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(recording_id) DO UPDATE SET deadline = excluded.deadline, rule = excluded.rule, rule_ref = excluded.rule_ref, event_seq = excluded.event_seq`).run(
    recordingId,
    stored,
    decision.rule,
    decision.ref,
    ev.seq,
  )
  return { decision, changed: true }
}

/**
 * Brings every stored recording's deadline up to date (new recordings,
 * a changed policy), in batches of immediate transactions. The nightly
 * purge and the offload worker run it first.
 */
export function refreshDeadlines(ctx: Ctx, opts: { batch?: number } = {}): { checked: number; changed: number } {
  const ids = (ctx.db.prepare("SELECT id FROM recordings WHERE status = 'stored' ORDER BY id").all() as { id: number }[]).map((r) => r.id)
  let changed = 0
  const batch = opts.batch ?? 500
  for (let i = 0; i < ids.length; i += batch) {
    const slice = ids.slice(i, i + batch)
    changed += ctx.db.transaction(() => slice.filter((id) => recomputeDeadline(ctx, id).changed).length).immediate()
  }
  return { checked: ids.length, changed }
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
        subject: `case:${c.number}`,
        at: ctx.now,
        payload: { caseNumber: c.number, type: c.type, title: c.title ?? null, openedAt },
      })
      db.prepare("INSERT INTO cases (number, type, title, status, opened_at, opened_by) VALUES (?, ?, ?, 'open', ?, ?)").run(
        c.number,
        c.type,
        c.title ?? null,
        openedAt,
        ctx.actor,
      )
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
        subject: `case:${number}`,
        at: ctx.now,
        payload: { caseNumber: number, closedAt, reason: o.reason?.trim() || null },
      })
      db.prepare("UPDATE cases SET status = 'closed', closed_at = ?, closed_by = ? WHERE number = ?").run(closedAt, ctx.actor, number)
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
      appendEvent(db, { type: 'case-reopened', actor: ctx.actor, subject: `case:${number}`, at: ctx.now, payload: { caseNumber: number, reason: why } })
      db.prepare("UPDATE cases SET status = 'open', closed_at = NULL, closed_by = NULL WHERE number = ?").run(number)
      const changed = recordingsOfCase(db, number).filter((id) => recomputeDeadline(ctx, id).changed)
      return { case: requireCase(db, number), changed }
    })
    .immediate()
}

/** recordings.case_number: the earliest-linked case still linked, or null. */
function primaryCase(db: Db, recordingId: number): string | null {
  const r = db.prepare('SELECT case_number AS n FROM case_links WHERE recording_id = ? ORDER BY rowid LIMIT 1').get(recordingId) as { n: string } | undefined
  return r?.n ?? null
}

export function linkRecordings(ctx: Ctx, number: string, recordingIds: readonly number[], reason?: string): { linked: number[] } {
  const { db } = ctx
  return db
    .transaction(() => {
      requireCase(db, number)
      for (const id of recordingIds) {
        requireRecording(db, id)
        if (db.prepare('SELECT 1 FROM case_links WHERE recording_id = ? AND case_number = ?').get(id, number))
          throw bad('LINK_EXISTS', `recording ${id} is already linked to case ${number}`)
        db.prepare('INSERT INTO case_links (recording_id, case_number, linked_at, linked_by) VALUES (?, ?, ?, ?)').run(
          id,
          number,
          ctx.now.toISOString(),
          ctx.actor,
        )
        const primary = primaryCase(db, id)
        appendEvent(db, {
          type: 'case-linked',
          actor: ctx.actor,
          subject: `recording:${id}`,
          at: ctx.now,
          payload: { recordingId: id, caseNumber: number, reason: reason?.trim() || null, recordingCaseNumber: primary },
        })
        db.prepare('UPDATE recordings SET case_number = ? WHERE id = ?').run(primary, id)
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
    const del = db.prepare('DELETE FROM case_links WHERE recording_id = ? AND case_number = ?').run(recordingId, number)
    if (del.changes === 0) throw bad('LINK_MISSING', `recording ${recordingId} is not linked to case ${number}`)
    const primary = primaryCase(db, recordingId)
    appendEvent(db, {
      type: 'case-unlinked',
      actor: ctx.actor,
      subject: `recording:${recordingId}`,
      at: ctx.now,
      payload: { recordingId, caseNumber: number, reason: why, recordingCaseNumber: primary },
    })
    db.prepare('UPDATE recordings SET case_number = ? WHERE id = ?').run(primary, recordingId)
    recomputeDeadline(ctx, recordingId)
  }).immediate()
}

/** Sets a recording's category (e.g. a clerk reclassifying camera-"important" footage), with a reason. */
export function setCategory(
  ctx: Ctx,
  recordingId: number,
  category: string | null,
  reason: string | undefined,
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
        subject: `recording:${recordingId}`,
        at: ctx.now,
        payload: { recordingId, from: r.category, to: category, reason: why },
      })
      db.prepare('UPDATE recordings SET category = ? WHERE id = ?').run(category, recordingId)
      return { from: r.category, to: category, decision: recomputeDeadline(ctx, recordingId).decision }
    })
    .immediate()
}

export function placeHold(ctx: Ctx, recordingId: number, reason: string | undefined): HoldRow {
  const { db } = ctx
  const why = requireReason(reason, 'a legal hold')
  return db
    .transaction(() => {
      requireRecording(db, recordingId)
      const id = (db.prepare('SELECT coalesce(max(id), 0) AS m FROM holds').get() as { m: number }).m + 1
      appendEvent(db, {
        type: 'hold-placed',
        actor: ctx.actor,
        subject: `recording:${recordingId}`,
        at: ctx.now,
        payload: { holdId: id, recordingId, reason: why },
      })
      db.prepare('INSERT INTO holds (id, recording_id, reason, placed_by, placed_at) VALUES (?, ?, ?, ?, ?)').run(
        id,
        recordingId,
        why,
        ctx.actor,
        ctx.now.toISOString(),
      )
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
        subject: `recording:${h.recordingId}`,
        at: ctx.now,
        payload: { holdId, recordingId: h.recordingId, reason: why },
      })
      db.prepare('UPDATE holds SET released_at = ?, released_by = ?, release_reason = ? WHERE id = ?').run(ctx.now.toISOString(), ctx.actor, why, holdId)
      recomputeDeadline(ctx, h.recordingId)
      return getHold(db, holdId)!
    })
    .immediate()
}
