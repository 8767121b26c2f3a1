import { type Db, prepared } from './db.js'

/** The roles a token can have (the tokens table's CHECK constraint; the rights of each are in api/roles.ts). */
export const ROLES = ['officer', 'clerk', 'supervisor', 'auditor', 'admin', 'kiosk'] as const
export type Role = (typeof ROLES)[number]

/** An API token as the catalog holds it: never the secret, only its SHA-256 (`hash`, not selected). */
export interface TokenRow {
  id: number
  name: string
  role: Role
  officerId: string | null
  /** The account the token belongs to (it dies with it). */
  userId: number
  createdAt: string
  revokedAt: string | null
}

const SELECT = 'SELECT id, name, role, officer_id AS officerId, user_id AS userId, created_at AS createdAt, revoked_at AS revokedAt FROM tokens'

/** The tokens store: one statement per purpose. */
export function insertToken(db: Db, t: { name: string; role: Role; officerId: string | null; userId: number; hash: string; createdAt: string }): number {
  return Number(
    db
      .prepare('INSERT INTO tokens (name, role, officer_id, user_id, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(t.name, t.role, t.officerId, t.userId, t.hash, t.createdAt).lastInsertRowid,
  )
}

/** The live tokens of an account. */
export function liveTokensOf(db: Db, userId: number): TokenRow[] {
  return db.prepare(`${SELECT} WHERE user_id = ? AND revoked_at IS NULL ORDER BY id`).all(userId) as TokenRow[]
}

export function getToken(db: Db, id: number): TokenRow | undefined {
  return db.prepare(`${SELECT} WHERE id = ?`).get(id) as TokenRow | undefined
}

/** The token whose secret hashes to `hash`, revoked or not (every bearer request asks: prepared once). */
export function tokenByHash(db: Db, hash: string): TokenRow | undefined {
  return prepared(db, `${SELECT} WHERE hash = ?`).get(hash) as TokenRow | undefined
}

export function listTokens(db: Db): TokenRow[] {
  return db.prepare(`${SELECT} ORDER BY id`).all() as TokenRow[]
}

export function markTokenRevoked(db: Db, id: number, at: string): void {
  db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run(at, id)
}
