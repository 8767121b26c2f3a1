import type { Db } from './db.js'

/**
 * The roster tables (migration 015): units, the officers on the roster
 * with their unit over time, and the devices. Plain reads and writes; the
 * rules (what a valid row is, the ledger event of each change) are in
 * src/registry/.
 */

export const UNIT_LEVELS = ['bureau', 'station', 'team'] as const
export type UnitLevel = (typeof UNIT_LEVELS)[number]
export const DEVICE_STATUSES = ['in-service', 'repair', 'retired'] as const
export type DeviceStatus = (typeof DEVICE_STATUSES)[number]

export type Unit = { code: string; name: string; level: UnitLevel; parentCode: string | null; retiredAt: string | null; updatedAt: string }
export type RosterOfficer = {
  policeNumber: string
  name: string
  unitCode: string
  activeFrom: string
  activeTo: string | null
  updatedAt: string
}
export type RosterDevice = {
  deviceNumber: string
  serial: string | null
  usbVendor: string | null
  usbProduct: string | null
  model: string | null
  profileId: string | null
  unitCode: string | null
  status: DeviceStatus
  updatedAt: string
}

const UNIT = 'SELECT code, name, level, parent_code AS parentCode, retired_at AS retiredAt, updated_at AS updatedAt FROM units'
const OFFICER =
  'SELECT police_number AS policeNumber, name, unit_code AS unitCode, active_from AS activeFrom, active_to AS activeTo, updated_at AS updatedAt FROM roster_officers'
const DEVICE = `SELECT device_number AS deviceNumber, serial, usb_vendor AS usbVendor, usb_product AS usbProduct, model, profile_id AS profileId,
  unit_code AS unitCode, status, updated_at AS updatedAt FROM roster_devices`

export function getUnit(db: Db, code: string): Unit | undefined {
  return db.prepare(`${UNIT} WHERE code = ?`).get(code) as Unit | undefined
}
export function listUnits(db: Db): Unit[] {
  return db.prepare(`${UNIT} ORDER BY code`).all() as Unit[]
}
export function saveUnit(db: Db, u: Unit): void {
  db.prepare(`INSERT INTO units (code, name, level, parent_code, retired_at, updated_at) VALUES (@code, @name, @level, @parentCode, @retiredAt, @updatedAt)
    ON CONFLICT(code) DO UPDATE SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code,
      retired_at = excluded.retired_at, updated_at = excluded.updated_at`).run(u)
}

export function getOfficer(db: Db, policeNumber: string): RosterOfficer | undefined {
  return db.prepare(`${OFFICER} WHERE police_number = ?`).get(policeNumber) as RosterOfficer | undefined
}
export function listOfficers(db: Db, q: { unitCode?: string | undefined } = {}): RosterOfficer[] {
  if (q.unitCode !== undefined) return db.prepare(`${OFFICER} WHERE unit_code = ? ORDER BY police_number`).all(q.unitCode) as RosterOfficer[]
  return db.prepare(`${OFFICER} ORDER BY police_number`).all() as RosterOfficer[]
}
export function saveOfficer(db: Db, o: RosterOfficer): void {
  db.prepare(`INSERT INTO roster_officers (police_number, name, unit_code, active_from, active_to, updated_at)
    VALUES (@policeNumber, @name, @unitCode, @activeFrom, @activeTo, @updatedAt)
    ON CONFLICT(police_number) DO UPDATE SET name = excluded.name, unit_code = excluded.unit_code, active_from = excluded.active_from,
      active_to = excluded.active_to, updated_at = excluded.updated_at`).run(o)
}

/** The officer's unit from `at` on: the open period ends there, a new one starts (a period starting at `at` is replaced). */
export function moveOfficerUnit(db: Db, policeNumber: string, unitCode: string, at: string): void {
  db.prepare('DELETE FROM officer_units WHERE police_number = ? AND valid_from >= ?').run(policeNumber, at)
  db.prepare('UPDATE officer_units SET valid_to = ? WHERE police_number = ? AND (valid_to IS NULL OR valid_to > ?)').run(at, policeNumber, at)
  db.prepare('INSERT INTO officer_units (police_number, unit_code, valid_from, valid_to) VALUES (?, ?, ?, NULL)').run(policeNumber, unitCode, at)
}

/** The officer's unit at an instant (UTC ISO), from the unit history. */
export function unitAt(db: Db, policeNumber: string, at: string): string | null {
  return (
    (db
      .prepare(
        'SELECT unit_code FROM officer_units WHERE police_number = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) ORDER BY valid_from DESC LIMIT 1',
      )
      .pluck()
      .get(policeNumber, at, at) as string | undefined) ?? null
  )
}

export function unitHistory(db: Db, policeNumber: string): { unitCode: string; validFrom: string; validTo: string | null }[] {
  return db
    .prepare('SELECT unit_code AS unitCode, valid_from AS validFrom, valid_to AS validTo FROM officer_units WHERE police_number = ? ORDER BY valid_from')
    .all(policeNumber) as { unitCode: string; validFrom: string; validTo: string | null }[]
}

export function getDevice(db: Db, deviceNumber: string): RosterDevice | undefined {
  return db.prepare(`${DEVICE} WHERE device_number = ?`).get(deviceNumber) as RosterDevice | undefined
}
export function listDevices(db: Db, q: { unitCode?: string | undefined } = {}): RosterDevice[] {
  if (q.unitCode !== undefined) return db.prepare(`${DEVICE} WHERE unit_code = ? ORDER BY device_number`).all(q.unitCode) as RosterDevice[]
  return db.prepare(`${DEVICE} ORDER BY device_number`).all() as RosterDevice[]
}
/** The roster device with this USB serial (and these USB ids when the roster gives them). */
export function deviceBySerial(db: Db, usb: { vendorId: string; productId: string; serial: string }): RosterDevice | undefined {
  return db
    .prepare(`${DEVICE} WHERE serial = ? AND (usb_vendor IS NULL OR lower(usb_vendor) = lower(?)) AND (usb_product IS NULL OR lower(usb_product) = lower(?))`)
    .get(usb.serial, usb.vendorId, usb.productId) as RosterDevice | undefined
}
export function saveDevice(db: Db, d: RosterDevice): void {
  db.prepare(`INSERT INTO roster_devices (device_number, serial, usb_vendor, usb_product, model, profile_id, unit_code, status, updated_at)
    VALUES (@deviceNumber, @serial, @usbVendor, @usbProduct, @model, @profileId, @unitCode, @status, @updatedAt)
    ON CONFLICT(device_number) DO UPDATE SET serial = excluded.serial, usb_vendor = excluded.usb_vendor, usb_product = excluded.usb_product,
      model = excluded.model, profile_id = excluded.profile_id, unit_code = excluded.unit_code, status = excluded.status, updated_at = excluded.updated_at`).run(
    d,
  )
}
