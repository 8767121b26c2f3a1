import type { FastifyRequest } from 'fastify'
import type { UserRow } from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import { tokenOf } from './auth.js'
import { STEP_UP_RIGHTS } from './roles.js'
import { type SecondFactors, type StepUpAnswer, stepUpAnswer } from './second-factor.js'

export { STEP_UP_RIGHTS }

/**
 * The answer of stepUpAnswer (./second-factor.ts) for this person: by a
 * bearer token or in a session whose last factor was given at `factorAt`.
 * `always`: ask for a fresh factor even where the station turned step-up
 * off (removing one's own factor).
 */
export function stepUpFor(factors: SecondFactors, user: UserRow, via: { token: true } | { factorAt: string | null }, always = false): StepUpAnswer {
  return stepUpAnswer({
    via: 'token' in via ? 'token' : 'session',
    person: user.kind === 'person',
    stepUp: always || factors.settings.stepUp,
    enrolment: factors.enrolment(user).answer,
    enrolled: factors.enrolled(user),
    factorAt: 'factorAt' in via ? via.factorAt : null,
    nowMs: factors.now().getTime(),
    windowMinutes: factors.settings.stepUpMinutes,
  })
}

/** The error of an answer other than `ok` (the API's and the CLI's). */
export function stepUpError(answer: Exclude<StepUpAnswer, 'ok'>, minutes: number): BodyvaultError {
  if (answer === 'enrol') return new BodyvaultError('SECOND_FACTOR_ENROLMENT_REQUIRED')
  if (answer === 'session') return new BodyvaultError('STEP_UP_SESSION_REQUIRED')
  return new BodyvaultError(
    'STEP_UP_REQUIRED',
    `this act needs your second factor again (the last one was more than ${minutes} min ago): POST /v1/session/step-up with the code, then repeat it`,
  )
}

/**
 * The guard of the acts that need a fresh second factor even inside a
 * session (STEP_UP_RIGHTS: approving an export, placing or lifting a legal
 * hold, removing a permanent-retention flag): call it first in the route's
 * handler. It throws 401 STEP_UP_REQUIRED when the person's last code is
 * older than auth.secondFactor.stepUpMinutes (the page asks the code, POSTs
 * /v1/session/step-up, then sends the request again), 403
 * STEP_UP_SESSION_REQUIRED for a bearer token (it cannot give a code), and
 * 403 SECOND_FACTOR_ENROLMENT_REQUIRED for a person who must enrol first.
 */
export function requireStepUp(req: FastifyRequest, always = false): void {
  const who = tokenOf(req)
  const factors = req.people?.secondFactor
  if (!factors || !who.user) return
  const answer = stepUpFor(factors, who.user, who.session ? { factorAt: who.session.session.factorAt } : { token: true }, always)
  if (answer !== 'ok') throw stepUpError(answer, factors.settings.stepUpMinutes)
}
