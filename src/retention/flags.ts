import { flagsOf, getFlag, insertFlag, markFlagRemoved, nextFlagId, setFlagRemovalRequest, type FlagRow } from '../catalog/flags.js'
import { getRecording } from '../catalog/recordings.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { recomputeDeadline, type Ctx } from './deadlines.js'
import type { Decision } from './policy.js'

/**
 * Retention flags (公安机关现场执法视音频记录工作规定 2016, art. 13, and
 * local rules): a clerk sets one with a reason and the recording is kept by
 * the flag's rule (permanent for the defaults); its removal is asked for by
 * anyone who may set flags and takes effect only when a supervisor who is
 * ANOTHER PERSON (another police number) than the one who set it and the
 * one who asked approves. Each step is one immediate transaction with its
 * ledger event and, when the deadline moved, `retention-changed`.
 */

/** Who acts as a person: the ledger actor and the police number (`account:<id>` for a service account). */
export type FlagCtx = Ctx & { person: string }

const bad = (code: string, message: string) => new BodyvaultError(code, message, 2)

function reasonOf(reason: string | undefined, what: string): string {
  const r = reason?.trim() ?? ''
  if (r.length === 0) throw bad('REASON_REQUIRED', `${what} needs a reason (--reason TEXT): it goes into the ledger`)
  if (r.length > 2000) throw bad('REASON_TOO_LONG', 'the reason is longer than 2000 characters')
  return r
}

function requireFlag(ctx: FlagCtx, id: number): FlagRow {
  const f = getFlag(ctx.db, id)
  if (!f) throw bad('FLAG_NOT_FOUND', `flag #${id} does not exist (bodyvault flag list)`)
  if (f.removedAt !== null) throw bad('FLAG_REMOVED', `flag #${id} (${f.flag}) was removed on ${f.removedAt} by ${f.removedBy}`)
  return f
}

export function setFlag(ctx: FlagCtx, recordingId: number, flag: string, reason: string | undefined): { flag: FlagRow; decision: Decision } {
  const { db } = ctx
  const why = reasonOf(reason, 'a retention flag')
  const known = ctx.policy.flags ?? {}
  if (!known[flag]) throw bad('FLAG_UNKNOWN', `flag "${flag}" is not configured; known: ${Object.keys(known).join(', ') || 'none'} (config retention.flags)`)
  return db
    .transaction(() => {
      const r = getRecording(db, recordingId)
      if (!r) throw bad('RECORDING_NOT_FOUND', `recording ${recordingId} is not in the catalog`)
      if (r.status === 'purged') throw bad('RECORDING_PURGED', `recording ${recordingId} was purged: it can no longer be flagged`)
      if (flagsOf(db, recordingId, true).some((f) => f.flag === flag)) throw bad('FLAG_SET', `recording ${recordingId} already carries the flag ${flag}`)
      const id = nextFlagId(db)
      appendEvent(db, {
        type: 'flag-set',
        actor: ctx.actor,
        subject: subjects.recording(recordingId),
        at: ctx.now,
        payload: { flagId: id, recordingId, flag, reason: why, person: ctx.person },
      })
      insertFlag(db, { id, recordingId, flag, reason: why, setBy: ctx.actor, setPerson: ctx.person, setAt: ctx.now.toISOString() })
      const { decision } = recomputeDeadline(ctx, recordingId)
      return { flag: getFlag(db, id)!, decision }
    })
    .immediate()
}

/** Asks for a flag's removal: it stays in force until another person approves. */
export function requestFlagRemoval(ctx: FlagCtx, flagId: number, reason: string | undefined): FlagRow {
  const { db } = ctx
  const why = reasonOf(reason, "a flag's removal")
  return db
    .transaction(() => {
      const f = requireFlag(ctx, flagId)
      if (f.removalRequestedAt !== null)
        throw bad('FLAG_REMOVAL_REQUESTED', `the removal of flag #${flagId} was asked for on ${f.removalRequestedAt} by ${f.removalRequestedBy}`)
      appendEvent(db, {
        type: 'flag-removal-requested',
        actor: ctx.actor,
        subject: subjects.recording(f.recordingId),
        at: ctx.now,
        payload: { flagId, recordingId: f.recordingId, flag: f.flag, reason: why, person: ctx.person },
      })
      setFlagRemovalRequest(db, flagId, { by: ctx.actor, person: ctx.person, at: ctx.now.toISOString(), reason: why })
      return getFlag(db, flagId)!
    })
    .immediate()
}

/** Withdraws (or, as a supervisor, turns down) a removal request: the flag stays. */
export function withdrawFlagRemoval(ctx: FlagCtx, flagId: number, reason: string | undefined): FlagRow {
  const { db } = ctx
  const why = reasonOf(reason, "withdrawing a flag's removal")
  return db
    .transaction(() => {
      const f = requireFlag(ctx, flagId)
      if (f.removalRequestedAt === null) throw bad('FLAG_REMOVAL_NOT_REQUESTED', `nobody asked for the removal of flag #${flagId}`)
      appendEvent(db, {
        type: 'flag-removal-withdrawn',
        actor: ctx.actor,
        subject: subjects.recording(f.recordingId),
        at: ctx.now,
        payload: { flagId, recordingId: f.recordingId, flag: f.flag, reason: why, person: ctx.person },
      })
      setFlagRemovalRequest(db, flagId, null)
      return getFlag(db, flagId)!
    })
    .immediate()
}

/**
 * Approves a removal: refused (FLAG_SELF_APPROVAL) when the approver is the
 * person who set the flag or asked for its removal, under any account of
 * theirs. The caller checks the right (flags:approve) and, once step-up
 * lands (issue 23), the fresh second factor, before calling this.
 */
export function approveFlagRemoval(ctx: FlagCtx, flagId: number, reason: string | undefined): { flag: FlagRow; decision: Decision } {
  const { db } = ctx
  const why = reason?.trim() || null
  return db
    .transaction(() => {
      const f = requireFlag(ctx, flagId)
      if (f.removalRequestedAt === null || f.removalPerson === null)
        throw bad('FLAG_REMOVAL_NOT_REQUESTED', `nobody asked for the removal of flag #${flagId}: ask first (bodyvault flag remove ${flagId} --reason TEXT)`)
      if (ctx.person === f.setPerson || ctx.person === f.removalPerson)
        throw new BodyvaultError(
          'FLAG_SELF_APPROVAL',
          `${ctx.person === f.setPerson ? 'you set' : 'you asked to remove'} flag #${flagId} (police number ${ctx.person}): another supervisor must approve its removal`,
        )
      appendEvent(db, {
        type: 'flag-removed',
        actor: ctx.actor,
        subject: subjects.recording(f.recordingId),
        at: ctx.now,
        payload: {
          flagId,
          recordingId: f.recordingId,
          flag: f.flag,
          reason: why,
          setPerson: f.setPerson,
          requestedPerson: f.removalPerson,
          person: ctx.person,
        },
      })
      markFlagRemoved(db, flagId, ctx.actor, ctx.person, ctx.now.toISOString())
      const { decision } = recomputeDeadline(ctx, f.recordingId)
      return { flag: getFlag(db, flagId)!, decision }
    })
    .immediate()
}
