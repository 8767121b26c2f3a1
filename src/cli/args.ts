import { DateTime } from 'luxon'
import { UsageError } from '../common/errors.js'

/** Shared by the case, hold, categorize and retention commands. */

/** An ISO 8601 date or time; station time when it carries no offset. Returns UTC ISO. */
export function parseInstant(v: string, option: string, zone: string): string {
  const dt = DateTime.fromISO(v, { zone, setZone: false })
  if (!dt.isValid) throw new UsageError(`${option}: "${v}" is not an ISO 8601 date or time (e.g. 2027-03-01 or 2027-03-01T02:30:00+08:00)`)
  return dt.toUTC().toISO()!
}

export function parseId(v: string, what: string): number {
  const n = Number(v)
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what} "${v}" is not a positive whole number`)
  return n
}

/** A UTC ISO instant shown in the station's zone, e.g. "2027-03-01 00:00 +08:00". */
export function local(iso: string | null, zone: string): string {
  if (iso === null) return 'indefinite'
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).toFormat('yyyy-MM-dd HH:mm ZZ')
}
