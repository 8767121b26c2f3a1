import type { Db } from '../catalog/db.js'
import type { SessionKind } from '../catalog/auth-sessions.js'
import { passwordHashOf, type UserRow, userByName } from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import { type AuthFields, actors, subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { changePassword } from './accounts.js'
import type { AuthSettings } from './auth-settings.js'
import type { Directory } from './directory-sign-in.js'
import { SecondFactors } from './second-factor.js'
import { verifyPassword } from './passwords.js'
import type { PeopleSettings } from './people-settings.js'
import { type Clock, SessionStore } from './sessions.js'

/**
 * Signing in, in steps: not locked out, the password (the station's own
 * for local accounts; the directory's bind for the others when auth.ldap
 * is set, ./directory-sign-in.ts), a second factor when the person has one
 * (./second-factor.ts), a forced password change (first sign-in, after a
 * reset), then a session. A wrong password, an unknown user name and a
 * disabled account give one answer after the same work (scrypt against a
 * decoy hash), and lockouts count user names whether or not they exist, so
 * nobody learns which accounts exist. A wrong or missing code is
 * SECOND_FACTOR_REQUIRED (the page asks it) and counts as a failure too.
 */

interface Strike {
  failures: number
  last: number
  lockedUntil: number
}

/** At most this many names and addresses are tracked (the oldest are forgotten first), so a flood cannot grow memory. */
const MAX_TRACKED = 10_000

/**
 * Exponential lockout per user name and per client address, and the
 * counts of one window for the ledger's `sign-in-failures` event. Kept in
 * memory by the daemon (a restart forgets the lockouts, not the counts
 * already written).
 */
export class SignInThrottle {
  private readonly names = new Map<string, Strike>()
  private readonly addresses = new Map<string, Strike>()
  private window: { start: number; accounts: Map<string, number>; addresses: Map<string, number>; unknown: number }

  constructor(
    private readonly s: PeopleSettings['lockout'],
    private readonly windowMs: number,
    readonly now: Clock = () => new Date(),
  ) {
    this.window = this.fresh()
  }

  private fresh() {
    return { start: this.now().getTime(), accounts: new Map<string, number>(), addresses: new Map<string, number>(), unknown: 0 }
  }

  /** Milliseconds until this name and this address may try again (0: now). */
  lockedFor(name: string, address: string): number {
    const t = this.now().getTime()
    return Math.max(0, (this.names.get(name)?.lockedUntil ?? 0) - t, (this.addresses.get(address)?.lockedUntil ?? 0) - t)
  }

  private strike(map: Map<string, Strike>, key: string, after: number): Strike {
    const t = this.now().getTime()
    const old = map.get(key)
    // A quiet spell as long as the longest lockout forgives the old failures.
    const failures = (old && t - old.last < this.s.maxSeconds * 1000 ? old.failures : 0) + 1
    const lockedUntil = failures >= after ? t + Math.min(this.s.maxSeconds, this.s.baseSeconds * 2 ** (failures - after)) * 1000 : 0
    map.delete(key)
    map.set(key, { failures, last: t, lockedUntil })
    if (map.size > MAX_TRACKED) map.delete(map.keys().next().value as string)
    return map.get(key)!
  }

  /** A failed attempt: counted against the name and the address; `account` is the user name only when it exists. */
  fail(name: string, address: string, account: string | null): void {
    this.strike(this.names, name, this.s.afterFailures)
    this.strike(this.addresses, address, this.s.addressAfterFailures)
    if (account) this.window.accounts.set(account, (this.window.accounts.get(account) ?? 0) + 1)
    else this.window.unknown++
    this.window.addresses.set(address, (this.window.addresses.get(address) ?? 0) + 1)
  }

  succeed(name: string): void {
    this.names.delete(name)
  }

  /** The counts of the window if it is over (or `force`) and not empty, as the `sign-in-failures` payload; a new window starts. */
  takeWindow(force = false): Omit<Extract<import('../ledger/events.js').NewEvent, { type: 'sign-in-failures' }>['payload'], 'component'> | null {
    const t = this.now().getTime()
    const w = this.window
    if (!force && t - w.start < this.windowMs) return null
    this.window = this.fresh()
    if (w.accounts.size === 0 && w.addresses.size === 0 && w.unknown === 0) return null
    const until = (m: Map<string, Strike>, k: string): string | null => {
      const u = m.get(k)?.lockedUntil ?? 0
      return u > t ? new Date(u).toISOString() : null
    }
    return {
      outcome: 'failure',
      windowStart: new Date(w.start).toISOString(),
      windowEnd: new Date(t).toISOString(),
      accounts: [...w.accounts].map(([user, failures]) => ({ user, failures, lockedUntil: until(this.names, user) })),
      addresses: [...w.addresses].map(([address, failures]) => ({ address, failures, lockedUntil: until(this.addresses, address) })),
      unknownAccountFailures: w.unknown,
    }
  }
}

/** A lockout: SIGN_IN_LOCKED with the seconds to wait (the API's Retry-After). */
export class LockedError extends BodyvaultError {
  constructor(readonly retryAfter: number) {
    super('SIGN_IN_LOCKED', `too many failed sign-ins: try again in ${retryAfter} s`)
  }
}

/** What sign-in needs: the catalog, the settings, the session store and the throttle (one of each per daemon), the station's id. */
export interface People {
  db: Db
  settings: PeopleSettings
  sessions: SessionStore
  throttle: SignInThrottle
  stationId: string
  /** Second factors (absent: none asked, as before issue 23; src/station/ makes it from auth.secondFactor). */
  secondFactor?: SecondFactors
  /** Directory sign-in (auth.ldap), absent when not configured. */
  directory?: Directory
}

/** What the station adds to sign-in from the `auth` section: second factors (their key file, the issuer name) and the directory. */
export interface PeopleAuth {
  auth: AuthSettings
  keyPath: string
  issuer: string
  directory?: Directory
}

export function makePeople(db: Db, settings: PeopleSettings, stationId: string, now: Clock = () => new Date(), extra?: PeopleAuth): People {
  return {
    db,
    settings,
    stationId,
    sessions: new SessionStore(db, { idleMs: settings.session.idleMinutes * 60_000, absoluteMs: settings.session.absoluteHours * 3_600_000 }, now),
    throttle: new SignInThrottle(settings.lockout, settings.failureWindowMinutes * 60_000, now),
    ...(extra ? { secondFactor: new SecondFactors(db, extra.auth.secondFactor, extra.keyPath, extra.auth.secondFactor.issuer ?? extra.issuer, now) } : {}),
    ...(extra?.directory ? { directory: extra.directory } : {}),
  }
}

/** Writes the window's failed sign-ins as one `sign-in-failures` event when the window is over (or `force`, at shutdown). */
export function recordSignInFailures(p: People, component: AuthFields['component'] = 'api', force = false): void {
  const w = p.throttle.takeWindow(force)
  if (!w || !p.db.open) return
  appendEvent(p.db, { type: 'sign-in-failures', actor: actors.station(p.stationId), subject: subjects.station(p.stationId), payload: { component, ...w } })
}

export interface SignInRequest {
  username: string
  password: string
  newPassword?: string | undefined
  secondFactor?: string | undefined
  client: string
  kind: SessionKind
  component: AuthFields['component']
}

export async function signIn(p: People, r: SignInRequest): Promise<{ user: UserRow; secret: string; csrf: string; sessionId: number }> {
  const name = r.username.trim().toLowerCase().slice(0, 64)
  recordSignInFailures(p, r.component)
  const wait = p.throttle.lockedFor(name, r.client)
  if (wait > 0) {
    const s = Math.ceil(wait / 1000)
    throw new LockedError(s)
  }
  const local = userByName(p.db, name)
  // Local accounts (break-glass admins, people kept here) sign in here even with a directory; the others ask the directory.
  const viaDirectory = p.directory !== undefined && local?.source !== 'local'
  const found = viaDirectory ? await p.directory!.signIn(p, name, r.password, r.component) : local
  const user = found?.kind === 'person' && found.enabled ? found : undefined
  const ok = viaDirectory ? user !== undefined : await verifyPassword(r.password, user ? passwordHashOf(p.db, user.id) : null)
  if (!ok || !user) {
    p.throttle.fail(name, r.client, found ? found.username : null)
    throw new BodyvaultError('SIGN_IN_FAILED')
  }
  const withFactor = p.secondFactor?.required(user) ?? false
  if (withFactor && !(await p.secondFactor!.verify(user, r.secondFactor, r.component))) {
    p.throttle.fail(name, r.client, user.username)
    throw new BodyvaultError(
      'SECOND_FACTOR_REQUIRED',
      r.secondFactor ? 'that code is wrong or used already: give the next code your authenticator shows, or a recovery code' : undefined,
    )
  }
  p.throttle.succeed(name)
  let now = user
  if (!viaDirectory && (user.mustChange || r.newPassword !== undefined)) {
    if (r.newPassword === undefined)
      throw new BodyvaultError('PASSWORD_CHANGE_REQUIRED', 'this password was set by an admin: sign in again with a new password of your own (newPassword)')
    now = await changePassword(p.db, p.settings.password, user, { next: r.newPassword }, { actor: actors.user(user.username), component: r.component })
  }
  const s = p.sessions.open(now, { kind: r.kind, client: r.client, component: r.component, factor: withFactor })
  const grace = p.secondFactor?.enrolment(now)
  // Acting without a required factor is the station's rollout decision: each such session is on the record.
  if (grace?.until)
    appendEvent(p.db, {
      type: 'second-factor-grace',
      actor: actors.user(now.username),
      subject: subjects.user(now.username),
      payload: {
        user: now.username,
        component: r.component,
        outcome: 'success',
        sessionId: s.session.id,
        until: grace.until,
        graceDays: p.secondFactor!.settings.graceDays,
      },
    })
  return { user: now, secret: s.secret, csrf: s.csrf, sessionId: s.session.id }
}

/**
 * The signed-in person's current password again, before a change to how
 * they sign in (enrolling a second factor): a session left open on a desk
 * must not be enough. The station's own check for local accounts, the
 * directory's bind for the others; a wrong one counts against the person
 * as a failed sign-in does (lockouts included).
 */
export async function recheckPassword(p: People, user: UserRow, password: string, client: string, component: AuthFields['component']): Promise<void> {
  const wait = p.throttle.lockedFor(user.username, client)
  if (wait > 0) throw new LockedError(Math.ceil(wait / 1000))
  const ok =
    p.directory !== undefined && user.source !== 'local'
      ? (await p.directory.signIn(p, user.username, password, component))?.id === user.id
      : await verifyPassword(password, passwordHashOf(p.db, user.id))
  if (!ok) {
    p.throttle.fail(user.username, client, user.username)
    throw new BodyvaultError('SIGN_IN_FAILED', 'the current password is wrong')
  }
  p.throttle.succeed(user.username)
}
