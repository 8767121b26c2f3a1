import { readFileSync } from 'node:fs'
import type { Role } from '../catalog/tokens.js'
import {
  directoryDisabled,
  getUser,
  insertDirectoryUser,
  setDirectoryDisabled,
  setDirectoryFacts,
  setUserRoles,
  type UserRow,
  userByName,
} from '../catalog/users.js'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import { type AuthFields, actors, subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { disableAccount, enableAccount } from './accounts.js'
import type { LdapSettings } from './auth-settings.js'
import type { People } from './sign-in.js'

/**
 * Directory sign-in (auth.ldap): the password is checked by binding to the
 * directory as the person (LDAPS, or StartTLS before the bind: never in
 * clear), their entry and groups are read in that bind, and the station's
 * account is made or brought up to date from them: name, police number and
 * unit from the attributes, roles from the group-to-role map, disabled when
 * the directory says so or gives no role. Local accounts never ask the
 * directory (./sign-in.ts): the break-glass admins sign in when it is down.
 */
export interface DirectoryEntry {
  dn: string
  displayName: string
  policeNo: string | null
  unit: string | null
  groups: string[]
  disabled: boolean
}

/** User names the directory is asked about: the station's own account names (nothing to escape in a DN or a filter). */
const USERNAME = /^[a-z][a-z0-9._-]{1,31}$/

/** RFC 4515 section 3: the characters a value in a search filter must escape. */
export function escapeFilterValue(v: string): string {
  return v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** A DN as compared in the group map: lower case, no spaces around the separators. */
export function normalDn(dn: string): string {
  return dn
    .toLowerCase()
    .split(',')
    .map((p) => p.trim().replace(/\s*=\s*/, '='))
    .join(',')
}

/** The station roles a person's groups give (the map's keys compared as normalDn). */
export function rolesOfGroups(groups: readonly string[], map: Record<string, Role[]>): Role[] {
  const byDn = new Map(Object.entries(map).map(([dn, roles]) => [normalDn(dn), roles]))
  const out = new Set<Role>()
  for (const g of groups) for (const r of byDn.get(normalDn(g)) ?? []) out.add(r)
  return [...out].sort()
}

const first = (v: unknown): string | null => {
  const x = Array.isArray(v) ? v[0] : v
  if (x === undefined || x === null) return null
  const s = Buffer.isBuffer(x) ? x.toString('utf8') : String(x)
  return s.trim() === '' ? null : s.trim()
}
const all = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)))

export class Directory {
  private readonly ca: Buffer | undefined

  constructor(readonly settings: LdapSettings) {
    this.ca = settings.caFile ? readFileSync(settings.caFile) : undefined
  }

  /** The person's entry as the directory has it when the password binds; null when it does not (wrong password, no such person). */
  async lookup(username: string, password: string): Promise<DirectoryEntry | null> {
    // An empty password is an unauthenticated bind (RFC 4513 section 5.1.2), which many servers let "succeed": never a sign-in.
    if (!USERNAME.test(username) || password === '') return null
    const s = this.settings
    const tlsOptions = { minVersion: 'TLSv1.2' as const, ...(this.ca ? { ca: this.ca } : {}) }
    const ms = s.timeoutSeconds * 1000
    // Loaded at the first directory sign-in, not when every CLI command starts.
    const { Client, InvalidCredentialsError } = await import('ldapts')
    const client = new Client({ url: s.url, timeout: ms, connectTimeout: ms, ...(s.url.startsWith('ldaps://') ? { tlsOptions } : {}) })
    const down = (err: unknown) =>
      new BodyvaultError(
        'DIRECTORY_UNAVAILABLE',
        `the directory at ${s.url} does not answer (${errorMessage(err)}): local accounts (break-glass admins) can still sign in`,
        {
          cause: err,
        },
      )
    try {
      try {
        if (s.startTls) await client.startTLS(tlsOptions)
        await client.bind(s.bindDn.replaceAll('{user}', username), password)
      } catch (err) {
        if (err instanceof InvalidCredentialsError) return null
        throw down(err)
      }
      const a = s.attributes
      const wanted = [a.displayName, a.policeNo, ...(a.unit ? [a.unit] : []), 'memberOf', ...(s.disabled ? [s.disabled.attribute] : []), 'userAccountControl']
      const search = (base: string, filter: string, attributes: string[], sizeLimit: number) =>
        client.search(base, { scope: 'sub', filter, attributes, sizeLimit }).catch((err: unknown) => {
          throw down(err)
        })
      const found = await search(s.userBase, s.userFilter.replaceAll('{user}', escapeFilterValue(username)), wanted, 2)
      const e = found.searchEntries.length === 1 ? found.searchEntries[0]! : undefined
      if (!e) return null
      const groups = all(e.memberOf)
      if (s.groupBase)
        groups.push(...(await search(s.groupBase, s.groupFilter.replaceAll('{dn}', escapeFilterValue(e.dn)), ['dn'], 1000)).searchEntries.map((x) => x.dn))
      const flagged = s.disabled ? all(e[s.disabled.attribute]).some((v) => s.disabled!.values.includes(v)) : false
      const uac = Number(first(e.userAccountControl) ?? 0)
      return {
        dn: e.dn,
        displayName: first(e[a.displayName]) ?? username,
        policeNo: first(e[a.policeNo]),
        unit: a.unit ? first(e[a.unit]) : null,
        groups,
        disabled: flagged || (s.adDisabledBit && (uac & 2) !== 0),
      }
    } finally {
      await client.unbind().catch(() => {})
    }
  }

  /**
   * Signs a person in through the directory: undefined for a wrong password;
   * else the station's account, made or updated from the entry first (it may
   * come back disabled: the sign-in then fails as any disabled account's).
   * A person the directory gives no role is refused with DIRECTORY_NO_ROLE.
   */
  async signIn(p: People, username: string, password: string, component: AuthFields['component']): Promise<UserRow | undefined> {
    const e = await this.lookup(username, password)
    if (!e) return undefined
    const roles = rolesOfGroups(e.groups, this.settings.groupRoles)
    const user = syncAccount(p, username, e, roles, component)
    if (roles.length === 0)
      throw new BodyvaultError(
        'DIRECTORY_NO_ROLE',
        `the directory puts ${username} in no group that auth.ldap.groupRoles gives a role: ask the directory admin`,
      )
    return user
  }
}

/** Makes or updates the account from the directory's entry, each change a ledger event in one transaction; the account as it is now (undefined: none made). */
function syncAccount(p: People, username: string, e: DirectoryEntry, roles: Role[], component: AuthFields['component']): UserRow | undefined {
  const db = p.db
  const by = { actor: actors.station(p.stationId), component }
  const off = e.disabled || roles.length === 0
  return db
    .transaction(() => {
      const u = userByName(db, username)
      if (!u) {
        if (off) return undefined
        if (!e.policeNo || !/^[A-Za-z0-9-]{2,32}$/.test(e.policeNo))
          throw new BodyvaultError(
            'USER_INVALID',
            `the directory has no usable police number for ${username} (auth.ldap.attributes.policeNo): ask the directory admin`,
          )
        const id = insertDirectoryUser(db, {
          username,
          displayName: e.displayName,
          policeNo: e.policeNo,
          unit: e.unit,
          roles,
          dn: e.dn,
          createdAt: new Date().toISOString(),
        })
        appendEvent(db, {
          type: 'user-created',
          actor: by.actor,
          subject: subjects.user(username),
          payload: {
            user: username,
            component,
            outcome: 'success',
            kind: 'person',
            displayName: e.displayName,
            policeNo: e.policeNo,
            unit: e.unit,
            roles,
            source: 'directory',
            dn: e.dn,
          },
        })
        return getUser(db, id)
      }
      const changed: { field: string; from: string | null; to: string | null }[] = []
      const facts = { displayName: e.displayName, policeNo: e.policeNo ?? u.policeNo ?? '', unit: e.unit, dn: e.dn }
      if (facts.displayName !== u.displayName) changed.push({ field: 'displayName', from: u.displayName, to: facts.displayName })
      if (facts.policeNo !== u.policeNo) changed.push({ field: 'policeNo', from: u.policeNo, to: facts.policeNo })
      if (facts.unit !== u.unit) changed.push({ field: 'unit', from: u.unit, to: facts.unit })
      if (changed.length) {
        setDirectoryFacts(db, u.id, facts)
        appendEvent(db, {
          type: 'directory-synced',
          actor: by.actor,
          subject: subjects.user(username),
          payload: { user: username, component, outcome: 'success', dn: e.dn, changed },
        })
      }
      if (roles.join() !== [...u.roles].sort().join()) {
        setUserRoles(db, u.id, roles)
        appendEvent(db, {
          type: 'roles-changed',
          actor: by.actor,
          subject: subjects.user(username),
          payload: { user: username, component, outcome: 'success', from: u.roles, to: roles },
        })
      }
      if (off && u.enabled) {
        // Its sessions end and its tokens are revoked with it, as when an admin disables an account.
        disableAccount(db, username, by)
        setDirectoryDisabled(db, u.id, true)
      } else if (!off && !u.enabled && directoryDisabled(db, u.id)) {
        // Only the directory's own disabling is undone by the directory: an admin's stays.
        enableAccount(db, username, by)
        setDirectoryDisabled(db, u.id, false)
      }
      return getUser(db, u.id)
    })
    .immediate()
}
