import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import { can, type PrincipalRole, type Right } from './roles.js'
import { authenticate } from './tokens.js'
import type { TokenRow } from '../catalog/tokens.js'

/** Who a request acts as: a token, or the daemon's station-local status credential. */
export type Principal = Omit<TokenRow, 'role'> & { role: PrincipalRole }

declare module 'fastify' {
  interface FastifyRequest {
    token?: Principal
  }
  interface FastifyContextConfig {
    /** The right a route needs; routes without one are open (only /healthz). */
    right?: Right
    public?: boolean
  }
}

/** The principal of the daemon's station-local status credential (id 0: never a catalog token). */
const STATION_LOCAL: Principal = { id: 0, name: 'station-local status', role: 'station-local', officerId: null, createdAt: '', revokedAt: null }

/**
 * Every route but the public ones needs `Authorization: Bearer <token>`:
 * 401 when it is missing, malformed, unknown or revoked; 403 when the
 * token's role lacks the route's right.
 */
export function installAuth(app: FastifyInstance, db: Db, localSecret?: string): void {
  const local = localSecret ? Buffer.from(localSecret) : undefined
  app.addHook('onRequest', async (req) => {
    const cfg = req.routeOptions.config
    // Public routes, and URLs that match no route (the 404 handler answers those).
    if (cfg?.public || req.routeOptions.url === undefined) return
    const header = req.headers.authorization
    const m = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header) : null
    if (!m) throw new BodyvaultError('UNAUTHENTICATED', 'send Authorization: Bearer <token> (bodyvault token create makes one)')
    const given = Buffer.from(m[1]!)
    const token = local && given.length === local.length && timingSafeEqual(given, local) ? STATION_LOCAL : authenticate(db, m[1]!)
    if (!token) throw new BodyvaultError('UNAUTHENTICATED', 'the token is unknown or revoked')
    req.token = token
    const right = cfg?.right
    if (!right) throw new BodyvaultError('FORBIDDEN', 'this route has no right assigned')
    if (!can(token.role, right)) throw new BodyvaultError('FORBIDDEN', `the ${token.role} role may not do this (needs ${right})`)
  })
}

export function tokenOf(req: FastifyRequest): Principal {
  if (!req.token) throw new BodyvaultError('UNAUTHENTICATED', 'no token')
  return req.token
}

export function actorOf(req: FastifyRequest): string {
  return `token:${tokenOf(req).id}`
}
