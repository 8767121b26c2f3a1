import { casesOf, holdsOf } from '../catalog/cases.js'
import type { Db } from '../catalog/db.js'
import { flagsOf } from '../catalog/flags.js'
import { getRecording, storedRecordingIds, type Recording } from '../catalog/recordings.js'
import { getRetention, putRetention } from '../catalog/retention.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { deadline, deadlineFromDb, deadlineText, deadlineToDb, type Decision, type PolicyFlag, type PolicyHold, type RetentionPolicy } from './policy.js'

/**
 * Each recording's retention deadline as the catalog stores it: the rule
 * (./policy.ts) applied to the recording's cases and holds, and, whenever
 * the result moves, a `retention-changed` event in the same transaction,
 * so every deadline change is on the record.
 */

/** Who acts, when, under which policy. `now` is injected (tests move time). */
export interface Ctx {
  db: Db
  policy: RetentionPolicy
  /** Ledger actor, e.g. "user:wang" or "station:station-01" (ledger/events.ts actors). */
  actor: string
  now: Date
}

/** The rule applied to a recording as the catalog stands now (reads, no writes). */
export function decide(db: Db, r: Pick<Recording, 'id' | 'recordedAt' | 'category' | 'important'>, policy: RetentionPolicy): Decision {
  const holds: PolicyHold[] = holdsOf(db, r.id, true).map((h) => ({ id: h.id, releasedAt: h.releasedAt }))
  const flags: PolicyFlag[] = flagsOf(db, r.id, true).map((f) => ({ id: f.id, flag: f.flag, removedAt: f.removedAt }))
  return deadline(r, casesOf(db, r.id), holds, policy, flags)
}

/**
 * Recomputes one recording's deadline inside the caller's transaction and,
 * when it differs from the stored one, stores it and appends
 * `retention-changed`. Returns the decision.
 */
export function recomputeDeadline(ctx: Ctx, recordingId: number): { decision: Decision; changed: boolean } {
  const { db } = ctx
  const r = getRecording(db, recordingId)
  if (!r) throw new BodyvaultError('RECORDING_NOT_FOUND', `recording ${recordingId} is not in the catalog`, 2)
  const decision = decide(db, r, ctx.policy)
  if (r.status !== 'stored') return { decision, changed: false }
  const prev = getRetention(db, recordingId)
  const stored = deadlineToDb(decision.deadline)
  if (prev && prev.deadline === stored && prev.rule === decision.rule && prev.ruleRef === decision.ref) return { decision, changed: false }
  const ev = appendEvent(db, {
    type: 'retention-changed',
    actor: ctx.actor,
    subject: subjects.recording(recordingId),
    at: ctx.now,
    payload: {
      recordingId,
      deadline: deadlineText(decision.deadline),
      rule: decision.rule,
      ruleRef: decision.ref,
      previous: prev ? { deadline: deadlineText(deadlineFromDb(prev.deadline)), rule: prev.rule, ruleRef: prev.ruleRef } : null,
    },
  })
  putRetention(db, { recordingId, deadline: stored, rule: decision.rule, ruleRef: decision.ref, eventSeq: ev.seq })
  return { decision, changed: true }
}

/**
 * Brings every stored recording's deadline up to date (new recordings,
 * a changed policy), in batches of immediate transactions. The nightly
 * purge and the offload worker run it first.
 */
export function refreshDeadlines(ctx: Ctx, opts: { batch?: number } = {}): { checked: number; changed: number } {
  const ids = storedRecordingIds(ctx.db)
  let changed = 0
  const batch = opts.batch ?? 500
  for (let i = 0; i < ids.length; i += batch) {
    const slice = ids.slice(i, i + batch)
    changed += ctx.db.transaction(() => slice.filter((id) => recomputeDeadline(ctx, id).changed).length).immediate()
  }
  return { checked: ids.length, changed }
}
