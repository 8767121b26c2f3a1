/**
 * The officer's part at the dock (issue 19): after a camera is safe to
 * undock, its officer marks the docking's new recordings (category, case,
 * "important") and signs with police number and PIN (./pins.ts); a pool
 * camera is checked out and returned at the screen. The changes are the
 * same domain functions the CLI and the clerks use (src/retention/actions.ts,
 * src/registry/assign.ts), acting as the officer's account, with `via: 'dock'`
 * on the recording events; this file only decides what the dock may do:
 * the officer's own recordings of a finished docking, never one a clerk has
 * classified already.
 */
import { overlapping } from '../catalog/assignments.js'
import { isLinked } from '../catalog/cases.js'
import type { Db } from '../catalog/db.js'
import { type Recording, recordingsOfSession } from '../catalog/recordings.js'
import { getDevice } from '../catalog/registry.js'
import { getSession } from '../catalog/sessions.js'
import type { UserRow } from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import { actors, subjects } from '../ledger/events.js'
import { eventsFor } from '../ledger/ledger.js'
import { assignDevice, returnDevice } from '../registry/assign.js'
import { linkRecordings, setCategory, setImportant } from '../retention/actions.js'
import type { RetentionPolicy } from '../retention/policy.js'

/** A docking may be classified at the dock for this long after it ended (the officer is at the dock then, not a day later). */
export const DOCK_WINDOW_HOURS = 12

/** The reason written with an officer's choice at the dock (the ledger event names the officer and `via: 'dock'`). */
export const DOCK_REASON = "the officer's own choice at the dock, signed with police number and PIN"

/** Events a clerk's (or anyone's but the dock's) classification leaves on a recording. */
const CLASSIFYING = new Set(['category-changed', 'case-linked', 'case-unlinked', 'importance-changed'])

/** Whether anyone but an officer at the dock has classified the recording (its events; pure, tested as a table). */
export function classifiedByClerk(events: readonly { type: string; payload: Record<string, unknown> }[]): boolean {
  return events.some((e) => CLASSIFYING.has(e.type) && e.payload.via !== 'dock')
}

export interface DockRecording {
  id: number
  kind: string
  recordedAt: string
  category: string | null
  caseNumber: string | null
  important: boolean
  /** A clerk has classified it: shown, not changeable here. */
  locked: boolean
}

export interface DockCtx {
  db: Db
  policy: RetentionPolicy
  now: Date
}

/** The docking, if it finished complete within the window; else DOCK_SESSION. */
function finishedDocking(ctx: DockCtx, sessionId: number): void {
  const s = getSession(ctx.db, sessionId)
  const ended = s?.endedAt ? Date.parse(s.endedAt) : Number.NaN
  if (s?.state !== 'complete' || !(ctx.now.getTime() - ended < DOCK_WINDOW_HOURS * 3_600_000))
    throw new BodyvaultError('DOCK_SESSION', `docking ${sessionId} is not a complete docking of the last ${DOCK_WINDOW_HOURS} hours`)
}

/** The officer's recordings of a docking (sidecars follow their clips and are not listed): by the registry's attribution at ingest. */
function ownRecordings(ctx: DockCtx, officer: UserRow, sessionId: number): Recording[] {
  finishedDocking(ctx, sessionId)
  return recordingsOfSession(ctx.db, sessionId).filter((r) => r.status === 'stored' && r.kind !== 'sidecar' && r.officerId === officer.policeNo)
}

const locked = (db: Db, id: number): boolean => classifiedByClerk(eventsFor(db, subjects.recording(id)))

export function dockRecordings(ctx: DockCtx, officer: UserRow, sessionId: number): DockRecording[] {
  return ownRecordings(ctx, officer, sessionId).map((r) => ({
    id: r.id,
    kind: r.kind,
    recordedAt: r.recordedAt,
    category: r.category,
    caseNumber: r.caseNumber,
    important: r.important,
    locked: locked(ctx.db, r.id),
  }))
}

export interface DockChoice {
  recordingId: number
  category?: string | undefined
  caseNumber?: string | undefined
  important?: boolean | undefined
}

/**
 * The officer's choices for recordings of one docking, all or none (one
 * transaction; each change its own event, the officer as actor): a
 * recording that is not theirs or not from this docking is refused
 * (NOT_YOUR_RECORDING), one a clerk classified is refused
 * (ALREADY_CLASSIFIED); a choice the recording already has changes nothing.
 */
export function classifyAtDock(ctx: DockCtx, officer: UserRow, sessionId: number, items: readonly DockChoice[]): { recordingId: number; changed: string[] }[] {
  const own = new Map(ownRecordings(ctx, officer, sessionId).map((r) => [r.id, r]))
  const rctx = { db: ctx.db, policy: ctx.policy, actor: actors.user(officer.username), now: ctx.now }
  const via = { via: 'dock' } as const
  return ctx.db
    .transaction(() =>
      items.map((it) => {
        const r = own.get(it.recordingId)
        if (!r)
          throw new BodyvaultError('NOT_YOUR_RECORDING', `recording ${it.recordingId} is not one of officer ${officer.policeNo}'s in docking ${sessionId}`)
        if (locked(ctx.db, r.id)) throw new BodyvaultError('ALREADY_CLASSIFIED', `recording ${r.id} was classified by a clerk: ask a clerk to change it`)
        const changed: string[] = []
        if (it.category !== undefined && it.category !== r.category) {
          setCategory(rctx, r.id, it.category, DOCK_REASON, via)
          changed.push('category')
        }
        const caseNumber = it.caseNumber?.trim()
        if (caseNumber && !isLinked(ctx.db, r.id, caseNumber)) {
          linkRecordings(rctx, caseNumber, [r.id], DOCK_REASON, via)
          changed.push('case')
        }
        if (it.important !== undefined && it.important !== r.important) {
          setImportant(rctx, r.id, it.important, DOCK_REASON, via)
          changed.push('important')
        }
        return { recordingId: r.id, changed }
      }),
    )
    .immediate()
}

/** A docked device as a pool camera: free to check out, checked out (to whom), or not a pool camera (null: off the roster, out of service, assigned). */
export type PoolState = { state: 'available' } | { state: 'checked-out'; policeNo: string } | null

export function poolState(db: Db, deviceNumber: string, now: Date): PoolState {
  const device = getDevice(db, deviceNumber)
  if (device?.status !== 'in-service') return null
  const at = now.toISOString()
  const current = overlapping(db, deviceNumber, at, null).filter((a) => a.validFrom <= at)
  if (current.some((a) => a.kind === 'assignment')) return null
  const out = current.find((a) => a.kind === 'checkout')
  return out ? { state: 'checked-out', policeNo: out.policeNumber } : { state: 'available' }
}

function registryCtx(ctx: DockCtx, officer: UserRow, zone: string) {
  return { db: ctx.db, actor: actors.user(officer.username), via: 'dock', zone, now: ctx.now }
}

/** The officer checks a free pool camera out at the screen (the registry's checkout, open-ended, from now). */
export function checkoutAtDock(ctx: DockCtx, officer: UserRow, deviceNumber: string, zone: string) {
  if (poolState(ctx.db, deviceNumber, ctx.now)?.state !== 'available')
    throw new BodyvaultError('NOT_POOL', `device ${deviceNumber} is not a pool camera free to check out`)
  return assignDevice(registryCtx(ctx, officer, zone), { deviceNumber, policeNumber: officer.policeNo!, kind: 'checkout' })
}

/** The officer who checked a pool camera out returns it at the screen. */
export function returnAtDock(ctx: DockCtx, officer: UserRow, deviceNumber: string, zone: string) {
  const s = poolState(ctx.db, deviceNumber, ctx.now)
  if (s?.state !== 'checked-out' || s.policeNo !== officer.policeNo)
    throw new BodyvaultError('NOT_POOL', `device ${deviceNumber} is not checked out to officer ${officer.policeNo}`)
  return returnDevice(registryCtx(ctx, officer, zone), deviceNumber)
}
