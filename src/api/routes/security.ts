import { BodyvaultError } from '../../common/errors.js'
import { getAccount } from '../accounts.js'
import { tokenOf } from '../auth.js'
import type { ApiDeps } from '../deps.js'
import { type ApiPlugin, ref } from '../schemas.js'
import type { SecondFactors } from '../second-factor.js'
import { type People, recheckPassword } from '../sign-in.js'
import { requireStepUp } from '../step-up.js'

const code = { type: 'string', minLength: 1, maxLength: 64 } as const
const status = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enrolled: { type: 'boolean' },
    pending: { type: 'boolean' },
    required: { type: 'boolean' },
    recoveryCodesLeft: { type: 'integer' },
    graceUntil: { type: ['string', 'null'] },
  },
} as const
export { status as factorStatusSchema }

const nameParams = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
} as const

/**
 * The second factor (issue 23) for the signed-in person: its status, an
 * enrolment (the secret, its otpauth:// URI and the QR code as SVG drawn on
 * the station; the current password asked again), the confirmation with a first code (which returns the
 * recovery codes, once), the step-up inside a session (POST
 * /v1/session/step-up), removing one's own factor (a fresh factor needed);
 * and for admins, resetting a person's (a lost phone).
 */
export const securityRoutes: ApiPlugin<ApiDeps & { people: People }> = async (app, deps) => {
  const factors = (): SecondFactors => {
    const f = deps.people.secondFactor
    if (!f) throw new BodyvaultError('NOT_FOUND', 'second factors are not set up on this server')
    return f
  }
  const signedIn = (req: Parameters<typeof tokenOf>[0]) => {
    const t = tokenOf(req)
    if (!t.session || !t.user) throw new BodyvaultError('SESSION_REQUIRED', 'sign in (a session, not a token) to manage your second factor')
    return { user: t.user, session: t.session, actor: t.actor }
  }

  app.get(
    '/session/second-factor',
    {
      config: { right: 'session:own', enrolment: true },
      schema: { summary: 'Your second factor: enrolled, required by your role, recovery codes left', response: { 200: status, '4xx': ref.error } },
    },
    async (req) => factors().status(signedIn(req).user),
  )

  app.post(
    '/session/second-factor',
    {
      config: { right: 'session:own', enrolment: true },
      schema: {
        summary:
          'Start enrolling a second factor (TOTP), giving your current password: the secret, its otpauth:// URI and a QR code (SVG) for the authenticator app',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['password'],
          properties: { password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: {
          200: { type: 'object', additionalProperties: false, properties: { secret: { type: 'string' }, uri: { type: 'string' }, qrSvg: { type: 'string' } } },
          '4xx': ref.error,
        },
      },
    },
    async (req, reply) => {
      const s = signedIn(req)
      reply.header('cache-control', 'no-store')
      // A session left open must not be enough to tie the account to someone else's phone.
      await recheckPassword(deps.people, s.user, req.body.password, req.ip, 'api')
      return factors().begin(s.user)
    },
  )

  app.post(
    '/session/second-factor/confirm',
    {
      config: { right: 'session:own', enrolment: true },
      schema: {
        summary: 'Confirm the enrolment with the code the app shows: returns the single-use recovery codes (shown once)',
        body: { type: 'object', additionalProperties: false, required: ['code'], properties: { code } },
        response: {
          200: { type: 'object', additionalProperties: false, properties: { recoveryCodes: { type: 'array', items: { type: 'string' } } } },
          '4xx': ref.error,
        },
      },
    },
    async (req, reply) => {
      const s = signedIn(req)
      reply.header('cache-control', 'no-store')
      return factors().confirm(s.user, req.body.code, { actor: s.actor, component: 'api' })
    },
  )

  app.delete(
    '/session/second-factor',
    {
      config: { right: 'session:own', enrolment: true },
      schema: { summary: 'Remove your own second factor (needs a fresh one: a step-up)', response: { 204: { type: 'null' }, '4xx': ref.error } },
    },
    async (req, reply) => {
      const s = signedIn(req)
      // A fresh factor even where the station turned step-up off: removing it weakens the account.
      if (factors().enrolled(s.user)) requireStepUp(req, true)
      factors().reset(s.user, { actor: s.actor, component: 'api' })
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/session/step-up',
    {
      config: { right: 'session:own' },
      schema: {
        summary: 'Give your second factor again inside the session (a code or a recovery code): approvals, holds and flag removals need one this fresh',
        body: { type: 'object', additionalProperties: false, required: ['secondFactor'], properties: { secondFactor: code } },
        response: {
          200: { type: 'object', additionalProperties: false, properties: { via: { type: 'string' }, validSeconds: { type: 'integer' } } },
          '4xx': ref.error,
        },
      },
    },
    async (req) => {
      const s = signedIn(req)
      const f = factors()
      if (!f.enrolled(s.user)) throw new BodyvaultError('SECOND_FACTOR_NOT_ENROLLED', 'you have no second factor to give: enrol one first (/account/security)')
      const p = deps.people
      // A stolen session must not guess six digits: step-up failures count against the person as sign-in failures do.
      const key = `step-up:${s.user.username}`
      const wait = p.throttle.lockedFor(key, req.ip)
      if (wait > 0) throw new BodyvaultError('SIGN_IN_LOCKED', `too many wrong codes: try again in ${Math.ceil(wait / 1000)} s`)
      const via = await f.stepUp(s.session, req.body.secondFactor, 'api')
      if (!via) {
        p.throttle.fail(key, req.ip, s.user.username)
        throw new BodyvaultError('SECOND_FACTOR_INVALID')
      }
      p.throttle.succeed(key)
      return { via, validSeconds: f.settings.stepUpMinutes * 60 }
    },
  )

  app.post(
    '/users/:name/second-factor/reset',
    {
      config: { right: 'users:admin' },
      schema: {
        summary: "Reset a person's second factor (a lost phone): they enrol again at their next sign-in",
        params: nameParams,
        response: { 204: { type: 'null' }, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const u = getAccount(deps.db, req.params.name)
      factors().reset(u, { actor: tokenOf(req).actor, component: 'api' })
      return reply.status(204).send(null)
    },
  )
}
