import { actors } from '../ledger/events.js'
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Db } from '../catalog/db.js'
import type { UserRow } from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import { personOf } from './accounts.js'
import { can, type PrincipalRole, type Right } from './roles.js'
import { csrfMatches, type OpenSession } from './sessions.js'
import type { People } from './sign-in.js'
import { authenticate } from './tokens.js'

/**
 * Who a request acts as: a bearer token (a person's or a service
 * account's), a signed-in person (the session cookie), or the daemon's
 * station-local status credential.
 */
export interface Principal {
  /** The token's id; 0 under a session or the station-local credential. */
  id: number
  name: string
  /** The token's role; under a session, the account's roles joined by "+" (an officer-only account is "officer"). */
  role: string
  roles: PrincipalRole[]
  /** Whose recordings an officer-only principal sees. */
  officerId: string | null
  user: UserRow | null
  /** The person behind it: a police number, or `account:<id>` (`station-local` for the status credential). */
  person: string
  session: OpenSession | null
  /** The ledger's actor: `user:<name>` for a person, `token:<id>` for a service account's token. */
  actor: string
}

declare module 'fastify' {
  interface FastifyRequest {
    token?: Principal
    /** Sign-in, sessions and second factors, for the guards that need them (./step-up.ts). */
    people?: People
  }
  interface FastifyContextConfig {
    /** The right a route needs; routes without one are open (only /healthz). */
    right?: Right
    public?: boolean
    /** Sign-in itself: a cookie sent along is not asked for its CSRF token (there is no session yet to have one). */
    csrfExempt?: boolean
    /** Open to a session that must enrol a second factor first (enrolling, one's password, signing out); every other route answers SECOND_FACTOR_ENROLMENT_REQUIRED. */
    enrolment?: boolean
  }
}

/** The principal of the daemon's station-local status credential (id 0: never a catalog token). */
const STATION_LOCAL: Principal = {
  id: 0,
  name: 'station-local status',
  role: 'station-local',
  roles: ['station-local'],
  officerId: null,
  user: null,
  person: 'station-local',
  session: null,
  actor: actors.token(0),
}

/** The session cookie's name. */
export const SESSION_COOKIE = 'bv_session'

/** The value of one cookie of a Cookie header (the one cookie the API reads: no cookie library for it). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return undefined
}

export function sessionPrincipal(open: OpenSession): Principal {
  const u = open.user
  const officerOnly = u.roles.length === 1 && u.roles[0] === 'officer'
  return {
    id: 0,
    name: u.displayName,
    role: u.roles.join('+'),
    roles: u.roles,
    officerId: officerOnly ? u.policeNo : null,
    user: u,
    person: personOf(u),
    session: open,
    actor: actors.user(u.username),
  }
}

/** What a rate limiter says about one request (the shape of @fastify/rate-limit's createRateLimit). */
export type Limiter = (
  req: FastifyRequest,
) => Promise<{ isAllowed: true } | { isAllowed: false; max: number; remaining: number; ttlInSeconds: number; isExceeded: boolean }>

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Every request, in this order: who is it (a valid bearer token, the
 * station-local credential, a live session cookie, or nobody), is it over
 * its rate (per principal; per client address without one, so that
 * neither missing nor made-up credentials escape the limit), does a
 * state-changing request under a cookie carry its CSRF token and a
 * matching Origin, and may it do this (401 without a valid credential, 403
 * when no role of it has the route's right; 403 SECOND_FACTOR_ENROLMENT_REQUIRED
 * for a session whose role needs a second factor not yet enrolled, outside
 * the routes marked `enrolment`). One hook, so the order cannot
 * drift. A bearer token wins over a cookie: a browser never adds one by
 * itself, so it needs no CSRF token.
 */
export function installAuth(app: FastifyInstance, o: { db: Db; localSecret?: string | undefined; limiter: Limiter; people: People }): void {
  const local = o.localSecret ? Buffer.from(o.localSecret) : undefined
  const identify = (req: FastifyRequest): { token?: Principal; problem: string } => {
    const header = req.headers.authorization
    if (header === undefined) {
      const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE)
      if (cookie === undefined) return { problem: 'sign in (POST /v1/session), or send Authorization: Bearer <token>' }
      const c = o.people.sessions.check(cookie, 'api')
      if (!c.ok) return { problem: c.why === 'expired' ? 'the session expired: sign in again' : 'the session has ended: sign in again' }
      return { token: sessionPrincipal(c.open), problem: '' }
    }
    const m = /^Bearer ([^\s]+)$/i.exec(header)
    if (!m) return { problem: 'Authorization must be "Bearer <token>" (bodyvault token create makes one)' }
    const given = Buffer.from(m[1]!)
    if (local && given.length === local.length && timingSafeEqual(given, local)) return { token: STATION_LOCAL, problem: '' }
    const a = authenticate(o.db, m[1]!)
    if (!a) return { problem: 'the token is unknown or revoked' }
    const person = a.user.kind === 'person'
    return {
      token: {
        id: a.token.id,
        name: a.token.name,
        role: a.token.role,
        roles: [a.token.role],
        officerId: a.token.officerId,
        user: a.user,
        person: personOf(a.user),
        session: null,
        actor: person ? actors.user(a.user.username) : actors.token(a.token.id),
      },
      problem: '',
    }
  }
  app.decorateRequest('people', undefined)
  app.addHook('onRequest', async (req, reply) => {
    const who = identify(req)
    req.token = who.token
    req.people = o.people
    const rate = await o.limiter(req)
    if (!rate.isAllowed) {
      reply.header('x-ratelimit-limit', rate.max).header('x-ratelimit-remaining', rate.remaining).header('x-ratelimit-reset', rate.ttlInSeconds)
      if (rate.isExceeded) {
        reply.header('retry-after', rate.ttlInSeconds)
        const whose = who.token ? (who.token.session ? 'this session' : 'this token') : 'this address without a valid token'
        throw new BodyvaultError('RATE_LIMITED', `more than ${rate.max} requests a minute for ${whose}: retry in ${rate.ttlInSeconds} s`)
      }
    }
    const cfg = req.routeOptions.config
    if (who.token?.session && !SAFE.has(req.method) && !cfg?.csrfExempt) requireCsrf(req, who.token.session)
    // Public routes, and URLs that match no route (the 404 handler answers those).
    if (cfg?.public || req.routeOptions.url === undefined) return
    if (!who.token) throw new BodyvaultError('UNAUTHENTICATED', who.problem)
    const right = cfg?.right
    if (!right) throw new BodyvaultError('FORBIDDEN', 'this route has no right assigned')
    if (!who.token.roles.some((r) => can(r, right))) throw new BodyvaultError('FORBIDDEN', `the ${who.token.role} role may not do this (needs ${right})`)
    // Here, not in each route: a route added later cannot forget it.
    if (who.token.session && !cfg?.enrolment && o.people.secondFactor?.enrolment(who.token.session.user).answer === 'enrol')
      throw new BodyvaultError('SECOND_FACTOR_ENROLMENT_REQUIRED')
  })
}

/** The origin this request was sent to, as a browser spells it. */
export function ownOrigin(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`
}

function requireCsrf(req: FastifyRequest, session: OpenSession): void {
  const given = req.headers['x-csrf-token']
  if (!csrfMatches(session.session, typeof given === 'string' ? given : undefined))
    throw new BodyvaultError('CSRF', 'a state-changing request under a session cookie needs the X-CSRF-Token header the sign-in returned')
  if (req.headers.origin !== ownOrigin(req)) throw new BodyvaultError('CSRF', `the Origin header must be ${ownOrigin(req)}`)
}

/** The rate-limit key of a request: its principal, else its address. */
export function rateKey(req: FastifyRequest): string {
  return req.token
    ? req.token.session
      ? `session:${req.token.session.session.id}`
      : req.token.actor === actors.token(0)
        ? 'local'
        : actors.token(req.token.id)
    : `ip:${req.ip}`
}

export function tokenOf(req: FastifyRequest): Principal {
  if (!req.token) throw new BodyvaultError('UNAUTHENTICATED', 'no credential')
  return req.token
}

export function actorOf(req: FastifyRequest): string {
  return tokenOf(req).actor
}
