import { actors } from '../ledger/events.js'
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

/** What a rate limiter says about one request (the shape of @fastify/rate-limit's createRateLimit). */
export type Limiter = (
  req: FastifyRequest,
) => Promise<{ isAllowed: true } | { isAllowed: false; max: number; remaining: number; ttlInSeconds: number; isExceeded: boolean }>

/**
 * Every request, in this order: who is it (a valid bearer token, the
 * station-local credential, or nobody), is it over its rate (per token;
 * per client address without a valid one, so that neither missing nor
 * made-up tokens escape the limit), and may it do this (401 without a valid
 * token, 403 when the role lacks the route's right). One hook, so the order
 * cannot drift.
 */
export function installAuth(app: FastifyInstance, o: { db: Db; localSecret?: string | undefined; limiter: Limiter }): void {
  const local = o.localSecret ? Buffer.from(o.localSecret) : undefined
  const identify = (req: FastifyRequest): { token?: Principal; problem: string } => {
    const header = req.headers.authorization
    if (header === undefined) return { problem: 'send Authorization: Bearer <token> (bodyvault token create makes one)' }
    const m = /^Bearer ([^\s]+)$/i.exec(header)
    if (!m) return { problem: 'Authorization must be "Bearer <token>" (bodyvault token create makes one)' }
    const given = Buffer.from(m[1]!)
    const token = local && given.length === local.length && timingSafeEqual(given, local) ? STATION_LOCAL : authenticate(o.db, m[1]!)
    return token ? { token, problem: '' } : { problem: 'the token is unknown or revoked' }
  }
  app.addHook('onRequest', async (req, reply) => {
    const who = identify(req)
    req.token = who.token
    const rate = await o.limiter(req)
    if (!rate.isAllowed) {
      reply.header('x-ratelimit-limit', rate.max).header('x-ratelimit-remaining', rate.remaining).header('x-ratelimit-reset', rate.ttlInSeconds)
      if (rate.isExceeded) {
        reply.header('retry-after', rate.ttlInSeconds)
        const whose = who.token ? 'this token' : 'this address without a valid token'
        throw new BodyvaultError('RATE_LIMITED', `more than ${rate.max} requests a minute for ${whose}: retry in ${rate.ttlInSeconds} s`)
      }
    }
    const cfg = req.routeOptions.config
    // Public routes, and URLs that match no route (the 404 handler answers those).
    if (cfg?.public || req.routeOptions.url === undefined) return
    if (!who.token) throw new BodyvaultError('UNAUTHENTICATED', who.problem)
    const right = cfg?.right
    if (!right) throw new BodyvaultError('FORBIDDEN', 'this route has no right assigned')
    if (!can(who.token.role, right)) throw new BodyvaultError('FORBIDDEN', `the ${who.token.role} role may not do this (needs ${right})`)
  })
}

/** The rate-limit key of a request: its token, else its address. */
export function rateKey(req: FastifyRequest): string {
  return req.token ? actors.token(req.token.id) : `ip:${req.ip}`
}

export function tokenOf(req: FastifyRequest): Principal {
  if (!req.token) throw new BodyvaultError('UNAUTHENTICATED', 'no token')
  return req.token
}

export function actorOf(req: FastifyRequest): string {
  return actors.token(tokenOf(req).id)
}
