import { createHash, randomBytes } from 'node:crypto'
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import { appendEvent } from '../ledger/ledger.js'
import type { PrincipalRole, Role } from './roles.js'

/**
 * Bearer tokens: `bv_` + 43 base64url characters (256 random bits). Only
 * the SHA-256 of a token is stored; the token itself is shown once, at
 * creation. Creation and revocation are ledger events (never the secret).
 */
export interface Token {
  id: number
  name: string
  role: PrincipalRole
  officerId: string | null
  createdAt: string
  revokedAt: string | null
}

const SELECT = 'SELECT id, name, role, officer_id AS officerId, created_at AS createdAt, revoked_at AS revokedAt FROM tokens'

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

export function createToken(db: Db, opts: { name: string; role: Role; officerId?: string | null; actor: string }): { token: Token; secret: string } {
  const name = opts.name.trim()
  if (name.length === 0 || name.length > 100) throw new BodyvaultError('TOKEN_NAME', 'a token needs a name of 1 to 100 characters (who or what uses it)', 2)
  if (opts.role === 'officer' && !opts.officerId)
    throw new BodyvaultError('TOKEN_OFFICER', 'an officer token must name its officer (--officer POLICE_NO): officers see only their own recordings', 2)
  const secret = `bv_${randomBytes(32).toString('base64url')}`
  return db
    .transaction(() => {
      const at = new Date().toISOString()
      const id = Number(
        db
          .prepare('INSERT INTO tokens (name, role, officer_id, hash, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(name, opts.role, opts.officerId ?? null, hashToken(secret), at).lastInsertRowid,
      )
      appendEvent(db, {
        type: 'token-created',
        actor: opts.actor,
        subject: `token:${id}`,
        payload: { tokenId: id, name, role: opts.role, officerId: opts.officerId ?? null },
      })
      return { token: db.prepare(`${SELECT} WHERE id = ?`).get(id) as Token, secret }
    })
    .immediate()
}

export function listTokens(db: Db): Token[] {
  return db.prepare(`${SELECT} ORDER BY id`).all() as Token[]
}

export function revokeToken(db: Db, id: number, actor: string): Token {
  return db
    .transaction(() => {
      const t = db.prepare(`${SELECT} WHERE id = ?`).get(id) as Token | undefined
      if (!t) throw new BodyvaultError('TOKEN_NOT_FOUND', `no token ${id} (bodyvault token list shows them)`, 2)
      if (t.revokedAt) return t
      const at = new Date().toISOString()
      db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?').run(at, id)
      appendEvent(db, { type: 'token-revoked', actor, subject: `token:${id}`, payload: { tokenId: id } })
      return { ...t, revokedAt: at }
    })
    .immediate()
}

/** The live token a bearer secret names, or undefined (unknown or revoked). */
export function authenticate(db: Db, secret: string): Token | undefined {
  if (!/^bv_[A-Za-z0-9_-]{43}$/.test(secret)) return undefined
  const t = db.prepare(`${SELECT} WHERE hash = ?`).get(hashToken(secret)) as Token | undefined
  return t && !t.revokedAt ? t : undefined
}
