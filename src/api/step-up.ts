import type { FastifyRequest } from 'fastify'
import { BodyvaultError } from '../common/errors.js'
import { tokenOf } from './auth.js'
import { stepUpAnswer } from './second-factor.js'

/**
 * The guard of the acts that need a fresh second factor even inside a
 * session (approving an export, placing or lifting a legal hold, removing
 * a permanent-retention flag): call it first in the route's handler. It
 * throws 401 STEP_UP_REQUIRED when the person's last code is older than
 * auth.secondFactor.stepUpMinutes (the page asks the code, POSTs
 * /v1/session/step-up, then sends the request again), and 403
 * SECOND_FACTOR_ENROLMENT_REQUIRED under auth.secondFactor.strict for a
 * person whose role needs a factor they have not enrolled. The rule is
 * stepUpAnswer (./second-factor.ts).
 */
export function requireStepUp(req: FastifyRequest): void {
  const who = tokenOf(req)
  const factors = req.people?.secondFactor
  if (!factors || !who.user) return
  const answer = stepUpAnswer({
    via: who.session ? 'session' : 'token',
    enrolled: factors.enrolled(who.user),
    roleRequires: factors.roleRequires(who.user),
    strict: factors.settings.strict,
    factorAt: who.session?.session.factorAt ?? null,
    nowMs: factors.now().getTime(),
    windowMinutes: factors.settings.stepUpMinutes,
  })
  if (answer === 'step-up')
    throw new BodyvaultError(
      'STEP_UP_REQUIRED',
      `this act needs your second factor again (the last one was more than ${factors.settings.stepUpMinutes} min ago): POST /v1/session/step-up with the code, then repeat it`,
    )
  if (answer === 'enrol') throw new BodyvaultError('SECOND_FACTOR_ENROLMENT_REQUIRED')
}
