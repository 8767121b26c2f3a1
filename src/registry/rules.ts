/**
 * What a valid registry entry is, in one place: the CLI, the API and the
 * roster files (CSV, XLSX) all hand in text fields, and these turn them
 * into entries or say, field by field, what is wrong. Pure.
 */
import { DateTime } from 'luxon'
import { DEVICE_STATUSES, type DeviceStatus, type RosterDevice, type RosterOfficer, type Unit, UNIT_LEVELS, type UnitLevel } from '../catalog/registry.js'

/** The fields of one entry as text (a CSV row, CLI options, an API body); empty means "not given". */
export type Fields = Record<string, string | undefined>

/** One problem of one field; the entry is refused when there is any. */
export class FieldError extends Error {}

export const UNIT_FIELDS = ['code', 'name', 'level', 'parent'] as const
export const OFFICER_FIELDS = ['police_number', 'name', 'unit', 'active_from', 'active_to'] as const
export const DEVICE_FIELDS = ['device_number', 'serial', 'usb_id', 'model', 'profile', 'unit', 'status'] as const

/** Column headers a station's own spreadsheet may use (the glossary's terms), read as ours. */
export const HEADER_ALIASES: Record<string, string> = {
  警号: 'police_number',
  姓名: 'name',
  单位: 'unit',
  名称: 'name',
  代码: 'code',
  级别: 'level',
  上级: 'parent',
  设备编号: 'device_number',
  序列号: 'serial',
  型号: 'model',
  状态: 'status',
  启用日期: 'active_from',
  停用日期: 'active_to',
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/
const text = (f: Fields, k: string): string | undefined => {
  const v = f[k]?.trim()
  return v === undefined || v === '' ? undefined : v
}
const need = (f: Fields, k: string, what: string): string => {
  const v = text(f, k)
  if (v === undefined) throw new FieldError(`${k}: missing (${what})`)
  return v
}

/** A police number (警号): exactly six digits, leading zeros kept. */
export function policeNumber(v: string, field = 'police_number'): string {
  const s = v.trim()
  if (!/^\d{6}$/.test(s))
    throw new FieldError(
      `${field}: "${s}" is not a police number (six digits, leading zeros kept${/^\d{1,5}$/.test(s) ? '; a spreadsheet dropped its leading zeros: format the column as text' : ''})`,
    )
  return s
}

export function unitCode(v: string, field = 'unit'): string {
  if (!CODE.test(v)) throw new FieldError(`${field}: "${v}" is not a unit code (1-32 letters, digits, . _ -, starting with a letter or digit)`)
  return v
}

export function deviceNumber(v: string, field = 'device_number'): string {
  if (!CODE.test(v)) throw new FieldError(`${field}: "${v}" is not a device number (1-32 letters, digits, . _ -, starting with a letter or digit)`)
  return v
}

/** A date (YYYY-MM-DD: station-local midnight) or an instant with an offset, as UTC ISO. */
export function instant(v: string, field: string, zone: string): string {
  const s = v.trim()
  const dt = /^\d{4}-\d{2}-\d{2}$/.test(s)
    ? DateTime.fromISO(s, { zone })
    : /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)
      ? DateTime.fromISO(s.replace(' ', 'T'), { zone })
      : DateTime.fromISO(s, { setZone: true })
  if (!dt.isValid) throw new FieldError(`${field}: "${s}" is not a date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM with or without an offset)`)
  return dt.toUTC().toISO({ suppressMilliseconds: false })!
}

export function unitEntry(f: Fields): Omit<Unit, 'updatedAt' | 'retiredAt'> {
  const code = unitCode(need(f, 'code', 'the unit code'), 'code')
  const name = need(f, 'name', "the unit's name")
  const level = need(f, 'level', UNIT_LEVELS.join(' | ')) as UnitLevel
  if (!UNIT_LEVELS.includes(level)) throw new FieldError(`level: "${level}" is not one of ${UNIT_LEVELS.join(', ')}`)
  const parent = text(f, 'parent')
  if (level === 'bureau' && parent !== undefined) throw new FieldError(`parent: a bureau has no parent unit (got "${parent}")`)
  if (level !== 'bureau' && parent === undefined)
    throw new FieldError(`parent: a ${level} needs its parent unit (${level === 'station' ? 'a bureau' : 'a station'})`)
  return { code, name, level, parentCode: parent === undefined ? null : unitCode(parent, 'parent') }
}

/** The parent level each level hangs under (bureau > station > team). */
export const PARENT_LEVEL: Record<UnitLevel, UnitLevel | null> = { bureau: null, station: 'bureau', team: 'station' }

export function officerEntry(f: Fields, zone: string, now: string): Omit<RosterOfficer, 'updatedAt'> {
  const activeFrom = text(f, 'active_from')
  const activeTo = text(f, 'active_to')
  const o = {
    policeNumber: policeNumber(need(f, 'police_number', 'six digits')),
    name: need(f, 'name', "the officer's name"),
    unitCode: unitCode(need(f, 'unit', 'the unit code')),
    // Not given: from the start of today (station time), a date a roster file shows and reads back as it is.
    activeFrom: instant(activeFrom ?? DateTime.fromISO(now, { zone: 'utc' }).setZone(zone).toISODate()!, 'active_from', zone),
    activeTo: activeTo === undefined ? null : instant(activeTo, 'active_to', zone),
  }
  if (o.activeTo !== null && o.activeTo <= o.activeFrom) throw new FieldError(`active_to: ${activeTo} is not after active_from`)
  return o
}

export function deviceEntry(f: Fields): Omit<RosterDevice, 'updatedAt'> {
  const usb = text(f, 'usb_id')
  let usbVendor: string | null = null
  let usbProduct: string | null = null
  if (usb !== undefined) {
    const m = /^([0-9A-Fa-f]{4}):([0-9A-Fa-f]{4})$/.exec(usb)
    if (!m) throw new FieldError(`usb_id: "${usb}" is not VENDOR:PRODUCT (4 hex digits each, e.g. abcd:0947)`)
    usbVendor = m[1]!.toLowerCase()
    usbProduct = m[2]!.toLowerCase()
  }
  const status = (text(f, 'status') ?? 'in-service') as DeviceStatus
  if (!DEVICE_STATUSES.includes(status)) throw new FieldError(`status: "${status}" is not one of ${DEVICE_STATUSES.join(', ')}`)
  const unit = text(f, 'unit')
  return {
    deviceNumber: deviceNumber(need(f, 'device_number', 'the device number')),
    serial: text(f, 'serial') ?? null,
    usbVendor,
    usbProduct,
    model: text(f, 'model') ?? null,
    profileId: text(f, 'profile') ?? null,
    unitCode: unit === undefined ? null : unitCode(unit),
    status,
  }
}

/** An entry back as the fields a roster file has (export: the same columns import reads). */
export function unitFields(u: Unit): Fields {
  return { code: u.code, name: u.name, level: u.level, parent: u.parentCode ?? '' }
}
export function officerFields(o: RosterOfficer, zone: string): Fields {
  return {
    police_number: o.policeNumber,
    name: o.name,
    unit: o.unitCode,
    active_from: localDate(o.activeFrom, zone),
    active_to: o.activeTo ? localDate(o.activeTo, zone) : '',
  }
}
export function deviceFields(d: RosterDevice): Fields {
  return {
    device_number: d.deviceNumber,
    serial: d.serial ?? '',
    usb_id: d.usbVendor && d.usbProduct ? `${d.usbVendor}:${d.usbProduct}` : '',
    model: d.model ?? '',
    profile: d.profileId ?? '',
    unit: d.unitCode ?? '',
    status: d.status,
  }
}

/** Station-local time of an instant, to the minute (or the date alone at midnight): what a roster file shows. */
function localDate(iso: string, zone: string): string {
  const dt = DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone)
  return dt.toFormat(dt.hour === 0 && dt.minute === 0 ? 'yyyy-MM-dd' : "yyyy-MM-dd'T'HH:mm")
}
