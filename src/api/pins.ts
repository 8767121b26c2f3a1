import type { Db } from '../catalog/db.js'
import { getUser, pinHashOf, setPinHash, type UserRow, usersWithPoliceNo } from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { type Acting, getAccount } from './accounts.js'
import { hashPassword, verifyPassword } from './passwords.js'
import { LockedError, type People, recordSignInFailures } from './sign-in.js'

/**
 * The officer's PIN for the dock screen (issue 19): an officer signs what
 * they mark at the dock with their police number (警号) and a PIN of their
 * own person account. Stored like a password (scrypt, ./passwords.ts); 4-8
 * digits, the obvious ones refused. A wrong PIN counts toward the same
 * lockout as a wrong password (per account, per screen address), and an
 * unknown police number gets the same answer after the same work.
 */

/** PINs people pick first (beyond sequences, repeats and years, which pinProblem finds by rule). */
const COMMON_PINS = new Set(['1004', '2580', '0852', '5683', '1122', '6969', '1314', '5201314', '1314520', '520520', '147258', '159753', '258369', '112233'])

/** Why a PIN is refused, or null: the rule in one place (tested as a table in test/dock-officer.test.ts). */
export function pinProblem(pin: string, account: { policeNo?: string | null }): string | null {
  if (!/^[0-9]{4,8}$/.test(pin)) return 'a PIN is 4 to 8 digits'
  const d = [...pin].map(Number)
  const steps = new Set(d.slice(1).map((x, i) => (x - d[i]! + 10) % 10))
  if (steps.size === 1 && (steps.has(0) || steps.has(1) || steps.has(9))) return 'a PIN is not one digit repeated or a run (1111, 1234, 9876)'
  for (let period = 1; period <= pin.length / 2; period++)
    if (pin.length % period === 0 && pin.slice(0, period).repeat(pin.length / period) === pin) return 'a PIN is not a short pattern repeated (1212, 123123)'
  if (pin.length === 4 && /^(19|20)\d\d$/.test(pin)) return 'a PIN is not a year'
  if (/^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.test(pin)) return 'a PIN is not a date'
  if (COMMON_PINS.has(pin)) return 'this PIN is one of the most common: choose another'
  const own = account.policeNo?.replace(/\D/g, '') ?? ''
  if (own.length >= 4 && (own.includes(pin) || pin.includes(own))) return 'a PIN is not taken from the police number'
  return null
}

/** Sets (or with null, clears) a person's PIN: an admin for anyone, a person for themselves. The `pin-set` event never holds the PIN. */
export async function setPin(db: Db, username: string, pin: string | null, by: Acting): Promise<UserRow> {
  const u = getAccount(db, username)
  if (u.kind !== 'person') throw new BodyvaultError('USER_INVALID', 'a service account has no PIN: only a person signs at the dock')
  if (pin !== null) {
    const why = pinProblem(pin, u)
    if (why) throw new BodyvaultError('PIN_POLICY', why)
  }
  const hash = pin === null ? null : await hashPassword(pin)
  return db
    .transaction(() => {
      setPinHash(db, u.id, hash, new Date().toISOString())
      appendEvent(db, {
        type: 'pin-set',
        actor: by.actor,
        subject: subjects.user(u.username),
        payload: { user: u.username, component: by.component, outcome: 'success', cleared: pin === null },
      })
      return getUser(db, u.id)!
    })
    .immediate()
}

/** The officer's account behind a police number: an enabled person account with the officer role and a PIN (the first such, by id). */
function officerAccount(db: Db, policeNo: string): UserRow | undefined {
  return usersWithPoliceNo(db, policeNo).find((u) => u.kind === 'person' && u.enabled && u.roles.includes('officer') && pinHashOf(db, u.id) !== null)
}

/**
 * Checks a police number and PIN from a dock screen at `client`: the
 * officer's account, or DOCK_SIGN_FAILED (the same answer, after the same
 * scrypt work, whether the police number is unknown, has no PIN, or the PIN
 * is wrong) or SIGN_IN_LOCKED. The lockout keys are the sign-in's: the
 * account's user name (so a PIN guessed at the dock and a password guessed
 * at the sign-in page add up), else the police number as typed.
 */
export async function checkOfficerPin(p: People, policeNo: string, pin: string, client: string): Promise<UserRow> {
  const no = policeNo.trim()
  recordSignInFailures(p, 'dock')
  const found = officerAccount(p.db, no)
  const key = found ? found.username : `police-no:${no.toLowerCase()}`.slice(0, 64)
  const wait = p.throttle.lockedFor(key, client)
  if (wait > 0) throw new LockedError(Math.ceil(wait / 1000))
  const ok = await verifyPassword(pin, found ? pinHashOf(p.db, found.id) : null)
  if (!ok || !found) {
    p.throttle.fail(key, client, found ? found.username : null)
    throw new BodyvaultError('DOCK_SIGN_FAILED')
  }
  p.throttle.succeed(key)
  return found
}
