import type { FastifyRequest } from 'fastify'
import type { UserRow } from '../../catalog/users.js'
import { BodyvaultError } from '../../common/errors.js'
import { changePassword } from '../accounts.js'
import { ownOrigin, SESSION_COOKIE, tokenOf } from '../auth.js'
import type { ApiDeps } from '../deps.js'
import { type ApiPlugin, ref } from '../schemas.js'
import { factorStatusSchema } from './security.js'
import { LockedError, type People, signIn } from '../sign-in.js'

const account = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    username: { type: 'string' },
    displayName: { type: 'string' },
    kind: { type: 'string' },
    policeNo: { type: ['string', 'null'] },
    unit: { type: ['string', 'null'] },
    roles: { type: 'array', items: { type: 'string' } },
    enabled: { type: 'boolean' },
    mustChange: { type: 'boolean' },
    passwordChangedAt: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    disabledAt: { type: ['string', 'null'] },
    source: { type: 'string', enum: ['local', 'directory'] },
  },
} as const
export { account as accountSchema }

const password = { type: 'string', minLength: 1, maxLength: 1024 } as const

function cookie(req: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = req.protocol === 'https' ? '; Secure' : ''
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`
}

const view = (u: UserRow) => ({ ...u })

/**
 * Signing in and out: POST /v1/session (user name, password, the new
 * password when one must be chosen) sets the session cookie (HttpOnly,
 * SameSite=Strict, Secure on TLS) and returns the CSRF token every
 * state-changing request under the cookie must send as X-CSRF-Token;
 * GET /v1/session says who is signed in; DELETE /v1/session signs out;
 * PUT /v1/session/password changes one's own password.
 */
export const sessionRoutes: ApiPlugin<ApiDeps & { people: People }> = async (app, deps) => {
  const p = deps.people
  // Whether the person has a second factor and whether their role asks one (the page sends those who need one to /account/security).
  const factorOf = (u: UserRow) => (p.secondFactor && u.kind === 'person' ? { secondFactor: p.secondFactor.status(u) } : {})
  const times = { idleTimeoutSeconds: p.settings.session.idleMinutes * 60, absoluteTimeoutSeconds: p.settings.session.absoluteHours * 3600 }
  app.post(
    '/session',
    {
      config: { public: true, csrfExempt: true },
      schema: {
        summary: 'Sign in: sets the session cookie, returns the CSRF token',
        security: [],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'password'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 64 },
            password,
            newPassword: password,
            secondFactor: { type: 'string', maxLength: 64 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              user: account,
              csrfToken: { type: 'string' },
              sessionId: { type: 'integer' },
              idleTimeoutSeconds: { type: 'integer' },
              absoluteTimeoutSeconds: { type: 'integer' },
              secondFactor: factorStatusSchema,
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req, reply) => {
      // A browser's sign-in must come from this station's own page (no sign-in into someone else's session from another site).
      if (req.headers.origin !== undefined && req.headers.origin !== ownOrigin(req))
        throw new BodyvaultError('CSRF', `the Origin header must be ${ownOrigin(req)}`)
      try {
        const s = await signIn(p, { ...req.body, client: req.ip, kind: 'web', component: 'api' })
        reply.header('set-cookie', cookie(req, s.secret, times.absoluteTimeoutSeconds)).header('cache-control', 'no-store')
        return { user: view(s.user), csrfToken: s.csrf, sessionId: s.sessionId, ...times, ...factorOf(s.user) }
      } catch (err) {
        if (err instanceof LockedError) reply.header('retry-after', err.retryAfter)
        throw err
      }
    },
  )

  app.get(
    '/session',
    {
      config: { right: 'session:own', enrolment: true },
      schema: {
        summary: 'Who is signed in (or whose token this is), and the session CSRF token',
        response: {
          200: {
            type: 'object',
            properties: {
              user: { ...account, type: ['object', 'null'] },
              via: { type: 'string' },
              role: { type: 'string' },
              csrfToken: { type: ['string', 'null'] },
              secondFactor: factorStatusSchema,
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req, reply) => {
      const t = tokenOf(req)
      reply.header('cache-control', 'no-store')
      return {
        user: t.user ? view(t.user) : null,
        via: t.session ? 'session' : 'token',
        role: t.role,
        csrfToken: t.session?.session.csrf ?? null,
        ...(t.user ? factorOf(t.user) : {}),
      }
    },
  )

  app.delete(
    '/session',
    { config: { right: 'session:own', enrolment: true }, schema: { summary: 'Sign out', response: { 204: { type: 'null' }, '4xx': ref.error } } },
    async (req, reply) => {
      const t = tokenOf(req)
      if (!t.session) throw new BodyvaultError('BAD_REQUEST', 'a token has no session to sign out of: an admin revokes tokens (bodyvault token revoke)')
      p.sessions.close(t.session, { client: req.ip, component: 'api' })
      return reply
        .header('set-cookie', cookie(req, '', 0))
        .status(204)
        .send(null)
    },
  )

  app.put(
    '/session/password',
    {
      config: { right: 'session:own', enrolment: true },
      schema: {
        summary: 'Change your own password (signed in)',
        body: { type: 'object', additionalProperties: false, required: ['current', 'new'], properties: { current: password, new: password } },
        response: { 200: account, '4xx': ref.error },
      },
    },
    async (req) => {
      const t = tokenOf(req)
      if (!t.session || !t.user) throw new BodyvaultError('SESSION_REQUIRED', 'sign in to change your password')
      return view(
        await changePassword(p.db, p.settings.password, t.user, { current: req.body.current, next: req.body.new }, { actor: t.actor, component: 'api' }),
      )
    },
  )
}
