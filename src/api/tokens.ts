import { subjects } from '../ledger/events.js'
import { createHash, randomBytes } from 'node:crypto'
import type { Db } from '../catalog/db.js'
import { getToken, insertToken, listTokens as listTokenRows, markTokenRevoked, type Role, type TokenRow, tokenByHash } from '../catalog/tokens.js'
import { BodyvaultError } from '../common/errors.js'
import { appendEvent } from '../ledger/ledger.js'

/**
 * Bearer tokens: `bv_` + 43 base64url characters (256 random bits). Only
 * the SHA-256 of a token is stored; the token itself is shown once, at
 * creation. Creation and revocation are ledger events (never the secret).
 */
export type Token = TokenRow

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

export function createToken(db: Db, opts: { name: string; role: Role; officerId?: string | null; actor: string }): { token: Token; secret: string } {
  const name = opts.name.trim()
  if (name.length === 0 || name.length > 100) throw new BodyvaultError('TOKEN_NAME')
  if (opts.role === 'officer' && !opts.officerId)
    throw new BodyvaultError('TOKEN_OFFICER', 'an officer token must name its officer (--officer POLICE_NO): officers see only their own recordings')
  const secret = `bv_${randomBytes(32).toString('base64url')}`
  return db
    .transaction(() => {
      const id = insertToken(db, { name, role: opts.role, officerId: opts.officerId ?? null, hash: hashToken(secret), createdAt: new Date().toISOString() })
      appendEvent(db, {
        type: 'token-created',
        actor: opts.actor,
        subject: subjects.token(id),
        payload: { tokenId: id, name, role: opts.role, officerId: opts.officerId ?? null },
      })
      return { token: getToken(db, id)!, secret }
    })
    .immediate()
}

export function listTokens(db: Db): Token[] {
  return listTokenRows(db)
}

export function revokeToken(db: Db, id: number, actor: string): Token {
  return db
    .transaction(() => {
      const t = getToken(db, id)
      if (!t) throw new BodyvaultError('TOKEN_NOT_FOUND', `no token ${id} (bodyvault token list shows them)`)
      if (t.revokedAt) return t
      const at = new Date().toISOString()
      markTokenRevoked(db, id, at)
      appendEvent(db, { type: 'token-revoked', actor, subject: subjects.token(id), payload: { tokenId: id } })
      return { ...t, revokedAt: at }
    })
    .immediate()
}

/** The live token a bearer secret names, or undefined (unknown or revoked). */
export function authenticate(db: Db, secret: string): Token | undefined {
  if (!/^bv_[A-Za-z0-9_-]{43}$/.test(secret)) return undefined
  const t = tokenByHash(db, hashToken(secret))
  return t && !t.revokedAt ? t : undefined
}
