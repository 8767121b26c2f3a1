import type { Db } from '../catalog/db.js'
import { endAuthSession, liveSessionsOf } from '../catalog/auth-sessions.js'
import { liveTokensOf, markTokenRevoked, type Role } from '../catalog/tokens.js'
import { getUnit, listUnits, unitAt } from '../catalog/registry.js'
import {
  type AccountKind,
  countEnabledAdmins,
  getUser,
  insertUser,
  listUsers,
  passwordHashOf,
  setPasswordHash,
  setUserEnabled,
  setUserRoles,
  type UserRow,
  userByName,
  usersWithPoliceNo,
} from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import { type AuthFields, subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { hashPassword, oneTimePassword, type PasswordPolicy, requireGoodPassword, verifyPassword } from './passwords.js'
import { needsPerson } from './roles.js'

/**
 * Named accounts: people (user name, display name, police number, unit,
 * roles) and service accounts (machines, the kiosk, `legacy`). Every change
 * is a ledger event in the same transaction as its catalog change, with
 * the CJIS 5.4 audit fields: who did it (`actor`), to which account
 * (`user`), from which component, the outcome.
 */
export type { UserRow }
export const HUMAN_ROLES = ['officer', 'clerk', 'supervisor', 'auditor', 'admin'] as const satisfies readonly Role[]

/** Who acts on an account, and through which component. */
export interface Acting {
  actor: string
  component: AuthFields['component']
}

const USERNAME = /^[a-z][a-z0-9._-]{1,31}$/

export function getAccount(db: Db, username: string): UserRow {
  const u = userByName(db, username)
  if (!u) throw new BodyvaultError('USER_NOT_FOUND', `no account ${JSON.stringify(username)} (bodyvault user list shows them)`)
  return u
}

export function listAccounts(db: Db): UserRow[] {
  return listUsers(db)
}

export function hasEnabledAdmin(db: Db): boolean {
  return countEnabledAdmins(db) > 0
}

/** The person behind an account: its police number, or `account:<id>` for a service account (a machine is nobody else). */
export function personOf(u: Pick<UserRow, 'id' | 'kind' | 'policeNo'>): string {
  return u.kind === 'person' && u.policeNo ? u.policeNo : `account:${u.id}`
}

function checkRoles(kind: AccountKind, roles: readonly string[]): Role[] {
  const allowed: readonly string[] = kind === 'person' ? HUMAN_ROLES : [...HUMAN_ROLES, 'kiosk']
  const out = [...new Set(roles)]
  if (out.length === 0) throw new BodyvaultError('USER_INVALID', 'an account needs at least one role')
  for (const r of out) if (!allowed.includes(r)) throw new BodyvaultError('USER_INVALID', `unknown role "${r}" (one of ${allowed.join(', ')})`)
  // Their acts need a fresh second factor, which only a person in a session gives (./step-up.ts).
  const held = kind === 'service' ? (out as Role[]).filter(needsPerson) : []
  if (held.length > 0)
    throw new BodyvaultError('SERVICE_ROLE', `a service account cannot hold the ${held.join(', ')} role: its acts need a person's second factor`)
  return out as Role[]
}

export interface NewAccount {
  username: string
  displayName: string
  kind: AccountKind
  policeNo?: string | null
  unit?: string | null
  roles: readonly string[]
}

/**
 * Creates an account. A person gets a one-time password (returned once,
 * changed at the first sign-in); a service account gets none (it only ever
 * holds tokens). Two person accounts with one police number are one person
 * (separation of duties treats them so); `samePerson` lists the others.
 */
/**
 * A person's unit: one of the registry's units once the station keeps a
 * roster (a typo would hide the person from their unit's statistics), else
 * the unit code as given; when none is given, the unit the roster has the
 * officer in today.
 */
function accountUnit(db: Db, given: string | null, policeNo: string | null): string | null {
  if (given === null) return policeNo ? unitAt(db, policeNo, new Date().toISOString()) : null
  if (listUnits(db).length > 0 && !getUnit(db, given))
    throw new BodyvaultError('USER_INVALID', `no unit ${given} in the registry (bodyvault unit list shows them; bodyvault unit add makes one)`)
  return given
}

export async function createAccount(db: Db, a: NewAccount, by: Acting): Promise<{ user: UserRow; password: string | null; samePerson: UserRow[] }> {
  const username = a.username.trim().toLowerCase()
  if (!USERNAME.test(username)) throw new BodyvaultError('USER_INVALID', 'a user name is 2-32 characters: a lower-case letter, then letters, digits, . _ -')
  const displayName = a.displayName.trim()
  if (displayName.length < 1 || displayName.length > 100) throw new BodyvaultError('USER_INVALID', 'a display name is 1 to 100 characters')
  const policeNo = a.policeNo?.trim() || null
  if (a.kind === 'person' && (!policeNo || !/^[A-Za-z0-9-]{2,32}$/.test(policeNo)))
    throw new BodyvaultError('USER_INVALID', 'a person needs a police number (--police-no, 2-32 letters, digits or -)')
  if (a.kind === 'service' && policeNo) throw new BodyvaultError('USER_INVALID', 'a service account has no police number')
  const unit = accountUnit(db, a.unit?.trim() || null, policeNo)
  const roles = checkRoles(a.kind, a.roles)
  const password = a.kind === 'person' ? oneTimePassword() : null
  const hash = password ? await hashPassword(password) : null
  return db
    .transaction(() => {
      if (userByName(db, username)) throw new BodyvaultError('USER_EXISTS', `an account ${username} exists already`)
      const samePerson = policeNo ? usersWithPoliceNo(db, policeNo) : []
      const id = insertUser(db, { username, displayName, kind: a.kind, policeNo, unit, roles, passwordHash: hash, createdAt: new Date().toISOString() })
      appendEvent(db, {
        type: 'user-created',
        actor: by.actor,
        subject: subjects.user(username),
        payload: { user: username, component: by.component, outcome: 'success', kind: a.kind, displayName, policeNo, unit, roles },
      })
      return { user: getUser(db, id)!, password, samePerson }
    })
    .immediate()
}

/** The service account of that name, made on first use (`kiosk` for dock screens; a script's own name for its tokens). */
export function serviceAccount(db: Db, username: string, role: Role, by: Acting): UserRow {
  const name = username.trim().toLowerCase()
  checkRoles('service', [role])
  if (!USERNAME.test(name))
    throw new BodyvaultError('USER_INVALID', 'a service account name is 2-32 characters: a lower-case letter, then letters, digits, . _ -')
  return db
    .transaction(() => {
      const u = userByName(db, name)
      if (u) {
        if (u.kind !== 'service') throw new BodyvaultError('USER_INVALID', `${name} is a person's account: name the person with --user`)
        if (!u.roles.includes(role)) {
          setUserRoles(db, u.id, [...u.roles, role])
          appendEvent(db, {
            type: 'roles-changed',
            actor: by.actor,
            subject: subjects.user(name),
            payload: { user: name, component: by.component, outcome: 'success', from: u.roles, to: [...u.roles, role] },
          })
        }
        return getUser(db, u.id)!
      }
      const id = insertUser(db, {
        username: name,
        displayName: `service ${name}`,
        kind: 'service',
        policeNo: null,
        unit: null,
        roles: [role],
        passwordHash: null,
        createdAt: new Date().toISOString(),
      })
      appendEvent(db, {
        type: 'user-created',
        actor: by.actor,
        subject: subjects.user(name),
        payload: {
          user: name,
          component: by.component,
          outcome: 'success',
          kind: 'service',
          displayName: `service ${name}`,
          policeNo: null,
          unit: null,
          roles: [role],
        },
      })
      return getUser(db, id)!
    })
    .immediate()
}

export function setRoles(db: Db, username: string, roles: readonly string[], by: Acting): UserRow {
  return db
    .transaction(() => {
      const u = getAccount(db, username)
      const to = checkRoles(u.kind, roles)
      if (u.roles.includes('admin') && !to.includes('admin') && u.enabled && countEnabledAdmins(db) === 1 && u.kind === 'person')
        throw new BodyvaultError('LAST_ADMIN', 'this is the last enabled admin: make another admin first')
      setUserRoles(db, u.id, to)
      appendEvent(db, {
        type: 'roles-changed',
        actor: by.actor,
        subject: subjects.user(u.username),
        payload: { user: u.username, component: by.component, outcome: 'success', from: u.roles, to },
      })
      return getUser(db, u.id)!
    })
    .immediate()
}

/** Disables an account: its tokens are revoked and its sessions end, in the same transaction. */
export function disableAccount(db: Db, username: string, by: Acting): UserRow {
  return db
    .transaction(() => {
      const u = getAccount(db, username)
      if (!u.enabled) return u
      if (u.roles.includes('admin') && u.kind === 'person' && countEnabledAdmins(db) === 1)
        throw new BodyvaultError('LAST_ADMIN', 'this is the last enabled admin: make another admin first')
      const at = new Date().toISOString()
      const tokens = liveTokensOf(db, u.id)
      for (const t of tokens) {
        markTokenRevoked(db, t.id, at)
        appendEvent(db, {
          type: 'token-revoked',
          actor: by.actor,
          subject: subjects.token(t.id),
          payload: { tokenId: t.id, user: u.username, owner: u.username, component: by.component, outcome: 'success' },
        })
      }
      const sessions = liveSessionsOf(db, u.id).filter((s) => endAuthSession(db, s.id, at, 'account'))
      setUserEnabled(db, u.id, false, at)
      appendEvent(db, {
        type: 'user-disabled',
        actor: by.actor,
        subject: subjects.user(u.username),
        payload: {
          user: u.username,
          component: by.component,
          outcome: 'success',
          tokensRevoked: tokens.map((t) => t.id),
          sessionsEnded: sessions.map((s) => s.id),
        },
      })
      return getUser(db, u.id)!
    })
    .immediate()
}

export function enableAccount(db: Db, username: string, by: Acting): UserRow {
  return db
    .transaction(() => {
      const u = getAccount(db, username)
      if (u.enabled) return u
      setUserEnabled(db, u.id, true, new Date().toISOString())
      appendEvent(db, {
        type: 'user-enabled',
        actor: by.actor,
        subject: subjects.user(u.username),
        payload: { user: u.username, component: by.component, outcome: 'success' },
      })
      return getUser(db, u.id)!
    })
    .immediate()
}

/** An admin resets a person's password: a new one-time password, changed at the next sign-in; live sessions end. */
export async function resetPassword(db: Db, username: string, by: Acting): Promise<{ user: UserRow; password: string }> {
  const u = getAccount(db, username)
  if (u.kind !== 'person') throw new BodyvaultError('USER_INVALID', 'a service account has no password: it holds tokens')
  if (u.source === 'directory') throw new BodyvaultError('DIRECTORY_ACCOUNT', `${u.username} signs in with the directory's password: reset it there`)
  const password = oneTimePassword()
  const hash = await hashPassword(password)
  return db
    .transaction(() => {
      const at = new Date().toISOString()
      setPasswordHash(db, u.id, hash, true, at)
      for (const s of liveSessionsOf(db, u.id)) endAuthSession(db, s.id, at, 'account')
      appendEvent(db, {
        type: 'password-changed',
        actor: by.actor,
        subject: subjects.user(u.username),
        payload: { user: u.username, component: by.component, outcome: 'success', reset: true },
      })
      return { user: getUser(db, u.id)!, password }
    })
    .immediate()
}

/** A person changes their own password (the current one is checked by the caller's sign-in step, or here). */
export async function changePassword(db: Db, policy: PasswordPolicy, u: UserRow, o: { current?: string; next: string }, by: Acting): Promise<UserRow> {
  if (u.source === 'directory') throw new BodyvaultError('DIRECTORY_ACCOUNT', "this account signs in with the directory's password: change it there")
  if (o.current !== undefined && !(await verifyPassword(o.current, passwordHashOf(db, u.id))))
    throw new BodyvaultError('SIGN_IN_FAILED', 'the current password is wrong')
  requireGoodPassword(policy, o.next, u)
  if (await verifyPassword(o.next, passwordHashOf(db, u.id))) throw new BodyvaultError('PASSWORD_POLICY', 'the new password must differ from the old one')
  const hash = await hashPassword(o.next)
  return db
    .transaction(() => {
      setPasswordHash(db, u.id, hash, false, new Date().toISOString())
      appendEvent(db, {
        type: 'password-changed',
        actor: by.actor,
        subject: subjects.user(u.username),
        payload: { user: u.username, component: by.component, outcome: 'success', reset: false },
      })
      return getUser(db, u.id)!
    })
    .immediate()
}
