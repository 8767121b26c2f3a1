import { type Db, prepared } from './db.js'
import { ROLES, type Role } from './tokens.js'

/** What an account is: a person (with a police number) or a machine (a service account: scripts, the kiosk, `legacy`). */
export type AccountKind = 'person' | 'service'

/** An account as the catalog holds it (never its password hash: passwordHash is read only by passwordHashOf). */
export interface UserRow {
  id: number
  username: string
  displayName: string
  kind: AccountKind
  /** 警号: what makes two accounts one person (null for service accounts). */
  policeNo: string | null
  /** The unit's code (a unit code string until the registry's units land). */
  unit: string | null
  roles: Role[]
  enabled: boolean
  mustChange: boolean
  passwordChangedAt: string | null
  createdAt: string
  disabledAt: string | null
  /** Where the account comes from: kept here (`local`: break-glass admins, people without a directory) or the directory (auth.ldap). */
  source: 'local' | 'directory'
}

type Row = Omit<UserRow, 'roles' | 'enabled' | 'mustChange'> & { roles: string; enabled: number; mustChange: number }

const SELECT = `SELECT id, username, display_name AS displayName, kind, police_no AS policeNo, unit, roles, enabled, must_change AS mustChange,
  password_changed_at AS passwordChangedAt, created_at AS createdAt, disabled_at AS disabledAt, source FROM users`

function fromRow(r: Row | undefined): UserRow | undefined {
  if (!r) return undefined
  const roles = (JSON.parse(r.roles) as string[]).filter((x): x is Role => (ROLES as readonly string[]).includes(x))
  return { ...r, roles, enabled: r.enabled === 1, mustChange: r.mustChange === 1 }
}

/** The users store: one statement per purpose. */
export function insertUser(
  db: Db,
  u: {
    username: string
    displayName: string
    kind: AccountKind
    policeNo: string | null
    unit: string | null
    roles: Role[]
    passwordHash: string | null
    createdAt: string
  },
): number {
  return Number(
    db
      .prepare(
        'INSERT INTO users (username, display_name, kind, police_no, unit, roles, password_hash, must_change, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)',
      )
      .run(u.username, u.displayName, u.kind, u.policeNo, u.unit, JSON.stringify(u.roles), u.passwordHash, u.createdAt).lastInsertRowid,
  )
}

export function getUser(db: Db, id: number): UserRow | undefined {
  // Every bearer request asks (the token's account): prepared once.
  return fromRow(prepared(db, `${SELECT} WHERE id = ?`).get(id) as Row | undefined)
}

/** By user name, case-insensitively. */
export function userByName(db: Db, username: string): UserRow | undefined {
  return fromRow(db.prepare(`${SELECT} WHERE username = ?`).get(username) as Row | undefined)
}

export function usersWithPoliceNo(db: Db, policeNo: string): UserRow[] {
  return (db.prepare(`${SELECT} WHERE police_no = ? ORDER BY id`).all(policeNo) as Row[]).map((r) => fromRow(r)!)
}

export function listUsers(db: Db): UserRow[] {
  return (db.prepare(`${SELECT} ORDER BY id`).all() as Row[]).map((r) => fromRow(r)!)
}

export function passwordHashOf(db: Db, id: number): string | null {
  return (db.prepare('SELECT password_hash AS h FROM users WHERE id = ?').get(id) as { h: string | null } | undefined)?.h ?? null
}

export function setPasswordHash(db: Db, id: number, hash: string, mustChange: boolean, at: string): void {
  db.prepare('UPDATE users SET password_hash = ?, must_change = ?, password_changed_at = ? WHERE id = ?').run(hash, mustChange ? 1 : 0, at, id)
}

/** The account's PIN for the dock screen (scrypt, like a password), or null when none is set. */
export function pinHashOf(db: Db, id: number): string | null {
  return (db.prepare('SELECT pin_hash AS h FROM users WHERE id = ?').get(id) as { h: string | null } | undefined)?.h ?? null
}

export function setPinHash(db: Db, id: number, hash: string | null, at: string): void {
  db.prepare('UPDATE users SET pin_hash = ?, pin_set_at = ? WHERE id = ?').run(hash, hash === null ? null : at, id)
}

export function setUserRoles(db: Db, id: number, roles: Role[]): void {
  db.prepare('UPDATE users SET roles = ? WHERE id = ?').run(JSON.stringify(roles), id)
}

export function setUserEnabled(db: Db, id: number, enabled: boolean, at: string): void {
  db.prepare('UPDATE users SET enabled = ?, disabled_at = ? WHERE id = ?').run(enabled ? 1 : 0, enabled ? null : at, id)
}

/** How many enabled accounts hold the admin role (none: the CLI may bootstrap the first). */
export function countEnabledAdmins(db: Db): number {
  return listUsers(db).filter((u) => u.enabled && u.kind === 'person' && u.roles.includes('admin')).length
}

/** A person the directory vouched for, made on their first sign-in: no local password, nothing to change. */
export function insertDirectoryUser(
  db: Db,
  u: { username: string; displayName: string; policeNo: string; unit: string | null; roles: Role[]; dn: string; createdAt: string },
): number {
  return Number(
    db
      .prepare(
        `INSERT INTO users (username, display_name, kind, police_no, unit, roles, password_hash, must_change, created_at, source, directory_dn)
         VALUES (?, ?, 'person', ?, ?, ?, NULL, 0, ?, 'directory', ?)`,
      )
      .run(u.username, u.displayName, u.policeNo, u.unit, JSON.stringify(u.roles), u.createdAt, u.dn).lastInsertRowid,
  )
}

/** The directory's facts about a person as they are now. */
export function setDirectoryFacts(db: Db, id: number, f: { displayName: string; policeNo: string; unit: string | null; dn: string }): void {
  db.prepare('UPDATE users SET display_name = ?, police_no = ?, unit = ?, directory_dn = ? WHERE id = ?').run(f.displayName, f.policeNo, f.unit, f.dn, id)
}

/** Whether the directory (not an admin here) disabled this account: only then does the directory enable it again. */
export function directoryDisabled(db: Db, id: number): boolean {
  return (db.prepare('SELECT directory_disabled AS d FROM users WHERE id = ?').get(id) as { d: number } | undefined)?.d === 1
}

export function setDirectoryDisabled(db: Db, id: number, disabled: boolean): void {
  db.prepare('UPDATE users SET directory_disabled = ? WHERE id = ?').run(disabled ? 1 : 0, id)
}
