/**
 * Changes of the roster: units, officers and devices added, updated and
 * retired. Each change is its catalog row and its ledger event in ONE
 * immediate transaction (nested inside a roster import's transaction, it
 * joins that one: a bad row leaves nothing half-imported).
 */
import { endAssignment, getAssignment, listAssignments } from '../catalog/assignments.js'
import type { Db } from '../catalog/db.js'
import {
  getDevice,
  getOfficer,
  getUnit,
  moveOfficerUnit,
  type RosterDevice,
  type RosterOfficer,
  saveDevice,
  saveOfficer,
  saveUnit,
  type Unit,
} from '../catalog/registry.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { deviceEntry, deviceFields, type Fields, FieldError, instant, officerEntry, officerFields, PARENT_LEVEL, unitEntry, unitFields } from './rules.js'

/** Who changes the registry, how, and in which zone dates without an offset are read. */
export interface RegistryCtx {
  db: Db
  actor: string
  /** cli, api, or `import:<sha256>` of a roster file. */
  via: string
  zone: string
  now: Date
  /** Docking profile ids a device may name (when given, another id is refused). */
  profileIds?: ReadonlySet<string>
}

export type SaveMode = 'add' | 'update' | 'upsert'
export type Saved = 'added' | 'updated' | 'unchanged' | 'retired'

/** The start of the first unit period: footage recorded before an officer joined the roster still counts to the unit they joined with. */
export const UNIT_HISTORY_START = '1970-01-01T00:00:00.000Z'

function invalid(what: string, err: unknown): never {
  if (err instanceof FieldError) throw new BodyvaultError('REGISTRY_INVALID', `${what}: ${err.message}`)
  throw err
}

/** The fields given over the entry's current ones (an update names only what changes). */
function merged(current: Fields | undefined, given: Fields): Fields {
  const out: Fields = { ...current }
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v
  return out
}

function existing<T>(mode: SaveMode, what: string, found: T | undefined): void {
  if (mode === 'add' && found) throw new BodyvaultError('REGISTRY_EXISTS', `${what} exists already: use update`)
  if (mode === 'update' && !found) throw new BodyvaultError('REGISTRY_NOT_FOUND', `${what} does not exist: use add`)
}

const same = (a: object, b: object): boolean => JSON.stringify(a) === JSON.stringify(b)
const strip = <T extends { updatedAt: string }>(x: T): Omit<T, 'updatedAt'> => {
  const { updatedAt: _, ...rest } = x
  return rest
}

export function saveUnitEntry(ctx: RegistryCtx, given: Fields, mode: SaveMode): { result: Saved; unit: Unit } {
  const { db } = ctx
  return db
    .transaction(() => {
      const code = given.code?.trim() ?? ''
      const before = code ? getUnit(db, code) : undefined
      existing(mode, `unit ${code}`, before)
      let e: ReturnType<typeof unitEntry>
      try {
        e = unitEntry(merged(before ? unitFields(before) : undefined, given))
        const want = PARENT_LEVEL[e.level]
        if (e.parentCode !== null) {
          const parent = getUnit(db, e.parentCode)
          if (!parent) throw new FieldError(`parent: unit ${e.parentCode} does not exist (list parents before their children, or add it first)`)
          if (parent.retiredAt) throw new FieldError(`parent: unit ${e.parentCode} is retired`)
          if (parent.level !== want) throw new FieldError(`parent: a ${e.level} hangs under a ${want}, and ${e.parentCode} is a ${parent.level}`)
        }
      } catch (err) {
        invalid(`unit ${code || '(no code)'}`, err)
      }
      const entry = { ...e, retiredAt: before?.retiredAt ?? null }
      if (before && same(strip(before), entry)) return { result: 'unchanged' as const, unit: before }
      const unit = { ...entry, updatedAt: ctx.now.toISOString() }
      saveUnit(db, unit)
      const action: 'added' | 'updated' = before ? 'updated' : 'added'
      appendEvent(db, {
        type: 'unit-saved',
        actor: ctx.actor,
        subject: subjects.unit(unit.code),
        payload: { action, entry, previous: before ? strip(before) : null, via: ctx.via },
        at: ctx.now,
      })
      return { result: action, unit }
    })
    .immediate()
}

export function retireUnit(ctx: RegistryCtx, code: string): Unit {
  const { db } = ctx
  return db
    .transaction(() => {
      const before = getUnit(db, code)
      if (!before) throw new BodyvaultError('REGISTRY_NOT_FOUND', `unit ${code} does not exist`)
      if (before.retiredAt) return before
      const unit = { ...before, retiredAt: ctx.now.toISOString(), updatedAt: ctx.now.toISOString() }
      saveUnit(db, unit)
      appendEvent(db, {
        type: 'unit-saved',
        actor: ctx.actor,
        subject: subjects.unit(code),
        payload: { action: 'retired', entry: strip(unit), previous: strip(before), via: ctx.via },
        at: ctx.now,
      })
      return unit
    })
    .immediate()
}

/**
 * Adds or updates an officer. A change of unit takes effect at `unitFrom`
 * (default now): footage recorded before it stays with the old unit.
 */
export function saveOfficerEntry(
  ctx: RegistryCtx,
  given: Fields & { unit_from?: string | undefined },
  mode: SaveMode,
): { result: Saved; officer: RosterOfficer } {
  const { db } = ctx
  return db
    .transaction(() => {
      const pn = given.police_number?.trim() ?? ''
      const before = /^\d{6}$/.test(pn) ? getOfficer(db, pn) : undefined
      existing(mode, `officer ${pn}`, before)
      const { unit_from, ...fields } = given
      let e: ReturnType<typeof officerEntry>
      let unitFrom: string | null = null
      try {
        e = officerEntry(merged(before ? officerFields(before, ctx.zone) : undefined, fields), ctx.zone, ctx.now.toISOString())
        if (before && before.activeFrom !== e.activeFrom && fields.active_from === undefined) e.activeFrom = before.activeFrom
        if (before && before.activeTo !== e.activeTo && fields.active_to === undefined) e.activeTo = before.activeTo
        const unit = getUnit(db, e.unitCode)
        if (!unit) throw new FieldError(`unit: unit ${e.unitCode} does not exist (import the units first)`)
        if (unit.retiredAt && before?.unitCode !== e.unitCode) throw new FieldError(`unit: unit ${e.unitCode} is retired`)
        if (!before) unitFrom = UNIT_HISTORY_START
        else if (before.unitCode !== e.unitCode) unitFrom = unit_from ? instant(unit_from, 'unit_from', ctx.zone) : ctx.now.toISOString()
      } catch (err) {
        invalid(`officer ${pn || '(no police number)'}`, err)
      }
      if (before && same(strip(before), e)) return { result: 'unchanged' as const, officer: before }
      const officer = { ...e, updatedAt: ctx.now.toISOString() }
      saveOfficer(db, officer)
      if (unitFrom !== null) moveOfficerUnit(db, officer.policeNumber, officer.unitCode, unitFrom)
      const action: 'added' | 'updated' = before ? 'updated' : 'added'
      appendEvent(db, {
        type: 'officer-saved',
        actor: ctx.actor,
        subject: subjects.officer(officer.policeNumber),
        payload: { action, entry: e, previous: before ? strip(before) : null, via: ctx.via, unitFrom },
        at: ctx.now,
      })
      return { result: action, officer }
    })
    .immediate()
}

/** An officer leaves the roster (active_to, default now); the devices they carry are returned then. */
export function retireOfficer(ctx: RegistryCtx, policeNumber: string, at?: string): RosterOfficer {
  const { db } = ctx
  return db
    .transaction(() => {
      const before = getOfficer(db, policeNumber)
      if (!before) throw new BodyvaultError('REGISTRY_NOT_FOUND', `officer ${policeNumber} does not exist`)
      const to = at ?? ctx.now.toISOString()
      const officer = { ...before, activeTo: to, updatedAt: ctx.now.toISOString() }
      saveOfficer(db, officer)
      appendEvent(db, {
        type: 'officer-saved',
        actor: ctx.actor,
        subject: subjects.officer(policeNumber),
        payload: { action: 'retired', entry: strip(officer), previous: strip(before), via: ctx.via, unitFrom: null },
        at: ctx.now,
      })
      for (const a of listAssignments(db, { policeNumber, open: true })) closePeriod(ctx, a.id, to)
      return officer
    })
    .immediate()
}

export function saveDeviceEntry(ctx: RegistryCtx, given: Fields, mode: SaveMode): { result: Saved; device: RosterDevice } {
  const { db } = ctx
  return db
    .transaction(() => {
      const num = given.device_number?.trim() ?? ''
      const before = num ? getDevice(db, num) : undefined
      existing(mode, `device ${num}`, before)
      let e: ReturnType<typeof deviceEntry>
      try {
        e = deviceEntry(merged(before ? deviceFields(before) : undefined, given))
        if (e.unitCode !== null && !getUnit(db, e.unitCode)) throw new FieldError(`unit: unit ${e.unitCode} does not exist (import the units first)`)
        if (e.profileId !== null && ctx.profileIds && !ctx.profileIds.has(e.profileId))
          throw new FieldError(`profile: "${e.profileId}" is not a docking profile of this station (${[...ctx.profileIds].join(', ')})`)
        const serialOwner =
          e.serial === null ? undefined : (db.prepare('SELECT device_number FROM roster_devices WHERE serial = ?').pluck().get(e.serial) as string | undefined)
        if (serialOwner !== undefined && serialOwner !== e.deviceNumber) throw new FieldError(`serial: ${e.serial} is device ${serialOwner}'s already`)
      } catch (err) {
        invalid(`device ${num || '(no device number)'}`, err)
      }
      if (before && same(strip(before), e)) return { result: 'unchanged' as const, device: before }
      const device = { ...e, updatedAt: ctx.now.toISOString() }
      saveDevice(db, device)
      const action: 'added' | 'updated' | 'retired' = before ? (e.status === 'retired' && before.status !== 'retired' ? 'retired' : 'updated') : 'added'
      appendEvent(db, {
        type: 'device-saved',
        actor: ctx.actor,
        subject: subjects.device(device.deviceNumber),
        payload: { action, entry: e, previous: before ? strip(before) : null, via: ctx.via },
        at: ctx.now,
      })
      if (e.status === 'retired')
        for (const a of listAssignments(db, { deviceNumber: e.deviceNumber, open: true })) closePeriod(ctx, a.id, ctx.now.toISOString())
      return { result: action, device }
    })
    .immediate()
}

export function retireDevice(ctx: RegistryCtx, num: string): RosterDevice {
  if (!getDevice(ctx.db, num)) throw new BodyvaultError('REGISTRY_NOT_FOUND', `device ${num} does not exist`)
  return saveDeviceEntry(ctx, { device_number: num, status: 'retired' }, 'update').device
}

/** Ends an assignment or a checkout at `at` with its `device-returned` event (inside the caller's transaction). */
export function closePeriod(ctx: Pick<RegistryCtx, 'db' | 'actor' | 'now'>, id: number, at: string): void {
  const a = getAssignment(ctx.db, id)
  if (!a || a.validTo !== null) return
  endAssignment(ctx.db, id, at)
  appendEvent(ctx.db, {
    type: 'device-returned',
    actor: ctx.actor,
    subject: subjects.assignment(id),
    payload: { assignmentId: id, kind: a.kind, deviceNumber: a.deviceNumber, policeNumber: a.policeNumber, validTo: at },
    at: ctx.now,
  })
}
