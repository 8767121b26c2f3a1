import { type AuthFields, subjects } from '../ledger/events.js'
import { createHash, randomBytes } from 'node:crypto'
import type { Db } from '../catalog/db.js'
import { getToken, insertToken, listTokens as listTokenRows, markTokenRevoked, type Role, type TokenRow, tokenByHash } from '../catalog/tokens.js'
import { getUser, type UserRow } from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import { appendEvent } from '../ledger/ledger.js'
import { getAccount, serviceAccount } from './accounts.js'

/**
 * Bearer tokens: `bv_` + 43 base64url characters (256 random bits). Only
 * the SHA-256 of a token is stored; the token itself is shown once, at
 * creation. Every token belongs to an account: a person's (`user`, one of
 * their roles) or a named service account's (`service`; without either,
 * one named after the token, `kiosk` for a kiosk token); it dies with the
 * account. Creation and revocation are ledger events (never the secret).
 */
export type Token = TokenRow

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

/** The service account a token without an owner goes to: `kiosk`, else `svc-` and its name. */
function defaultService(name: string, role: Role): string {
  if (role === 'kiosk') return 'kiosk'
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
  return `svc-${slug || 'token'}`.slice(0, 32).replace(/-$/, '')
}

export function createToken(
  db: Db,
  opts: { name: string; role: Role; officerId?: string | null; actor: string; user?: string; service?: string; component?: AuthFields['component'] },
): { token: Token; secret: string } {
  const name = opts.name.trim()
  if (name.length === 0 || name.length > 100) throw new BodyvaultError('TOKEN_NAME')
  const component = opts.component ?? 'cli'
  return db
    .transaction(() => {
      const owner = opts.user
        ? getAccount(db, opts.user)
        : serviceAccount(db, opts.service ?? defaultService(name, opts.role), opts.role, { actor: opts.actor, component })
      if (!owner.enabled) throw new BodyvaultError('USER_DISABLED', `the account ${owner.username} is disabled`)
      if (!owner.roles.includes(opts.role))
        throw new BodyvaultError('FORBIDDEN', `${owner.username} does not hold the ${opts.role} role (bodyvault user set-roles)`)
      const officerId = owner.kind === 'person' && opts.role === 'officer' ? owner.policeNo : (opts.officerId ?? null)
      if (opts.role === 'officer' && !officerId)
        throw new BodyvaultError('TOKEN_OFFICER', 'an officer token must name its officer (--officer POLICE_NO): officers see only their own recordings')
      const secret = `bv_${randomBytes(32).toString('base64url')}`
      const id = insertToken(db, { name, role: opts.role, officerId, userId: owner.id, hash: hashToken(secret), createdAt: new Date().toISOString() })
      appendEvent(db, {
        type: 'token-created',
        actor: opts.actor,
        subject: subjects.token(id),
        payload: { tokenId: id, name, role: opts.role, officerId, user: owner.username, owner: owner.username, component, outcome: 'success' },
      })
      return { token: getToken(db, id)!, secret }
    })
    .immediate()
}

export function listTokens(db: Db): Token[] {
  return listTokenRows(db)
}

export function revokeToken(db: Db, id: number, actor: string, component: AuthFields['component'] = 'cli'): Token {
  return db
    .transaction(() => {
      const t = getToken(db, id)
      if (!t) throw new BodyvaultError('TOKEN_NOT_FOUND', `no token ${id} (bodyvault token list shows them)`)
      if (t.revokedAt) return t
      const at = new Date().toISOString()
      const owner = getUser(db, t.userId)?.username ?? '?'
      markTokenRevoked(db, id, at)
      appendEvent(db, {
        type: 'token-revoked',
        actor,
        subject: subjects.token(id),
        payload: { tokenId: id, user: owner, owner, component, outcome: 'success' },
      })
      return { ...t, revokedAt: at }
    })
    .immediate()
}

/** The live token a bearer secret names and its account, or undefined (unknown, revoked, its account disabled, or the role taken from it). */
export function authenticate(db: Db, secret: string): { token: Token; user: UserRow } | undefined {
  if (!/^bv_[A-Za-z0-9_-]{43}$/.test(secret)) return undefined
  const t = tokenByHash(db, hashToken(secret))
  if (!t || t.revokedAt) return undefined
  const user = getUser(db, t.userId)
  if (!user?.enabled || !user.roles.includes(t.role)) return undefined
  return { token: t, user }
}
