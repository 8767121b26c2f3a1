import { userInfo } from 'node:os'
import { DateTime } from 'luxon'
import { UsageError } from '../common/errors.js'
import { actors } from '../ledger/events.js'

/** Shared by the case, hold, categorize and retention commands. */

const NAME = /^[\p{L}\p{N}][\p{L}\p{N}._@-]{0,63}$/u

/**
 * The ledger actor of a person acting from the CLI: "user:<name>" from --by,
 * else the login name when `required` is false. (API calls name their token.)
 */
export function cliActor(by: string | undefined, required: boolean, what: string): string {
  if (by === undefined) {
    if (required) throw new UsageError(`${what} needs --by NAME: the person who decides, as the ledger will name them`)
    let login = 'unknown'
    try {
      login = userInfo().username
    } catch {
      // no passwd entry (containers): keep "unknown"
    }
    return actors.user(login)
  }
  if (!NAME.test(by)) throw new UsageError(`--by "${by}": a name of 1-64 letters, digits, . _ @ -`)
  return actors.user(by)
}

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
