import type { FastifyRequest } from 'fastify'
import { flagsOf, listFlags } from '../../catalog/flags.js'
import { approveFlagRemoval, requestFlagRemoval, setFlag, withdrawFlagRemoval, type FlagCtx } from '../../retention/flags.js'
import type { ApiDeps } from '../deps.js'
import { tokenOf } from '../auth.js'
import { requireStepUp } from '../step-up.js'
import { type ApiPlugin, idParams, ref } from '../schemas.js'
import { visibleRecording } from './recordings.js'

const nullable = { type: ['string', 'null'] } as const
/** A retention flag as the API shows it (the row of catalog/flags.ts). */
const flagSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    recordingId: { type: 'integer' },
    flag: { type: 'string' },
    reason: { type: 'string' },
    setBy: { type: 'string' },
    setPerson: { type: 'string' },
    setAt: { type: 'string' },
    removalRequestedBy: nullable,
    removalPerson: nullable,
    removalRequestedAt: nullable,
    removalReason: nullable,
    removedAt: nullable,
    removedBy: nullable,
    removedPerson: nullable,
  },
} as const
const items = { 200: { type: 'object', properties: { items: { type: 'array', items: flagSchema } } }, '4xx': ref.error } as const
const withReason = { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: ref.reason } } as const
const decided = { type: 'object', properties: { flag: flagSchema, deadline: { type: 'string' }, rule: { type: 'string' }, ruleRef: nullable } } as const

/**
 * Retention flags as HTTP over src/retention/flags.ts: a clerk sets one, anyone
 * who may set flags asks for its removal, a supervisor who is another person
 * approves it. The person is the principal's police number.
 */
export const flagRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  const ctx = (req: FastifyRequest): FlagCtx => {
    const p = tokenOf(req)
    return { db: deps.db, policy: deps.policy, actor: p.actor, person: p.person, now: new Date() }
  }
  const decision = (r: ReturnType<typeof setFlag>) => ({
    flag: r.flag,
    deadline: r.decision.deadline === 'indefinite' ? 'indefinite' : r.decision.deadline.toISOString(),
    rule: r.decision.rule,
    ruleRef: r.decision.ref,
  })

  app.get(
    '/flags',
    {
      config: { right: 'retention:read' },
      schema: {
        summary: 'Retention flags: in force (default), all, or those whose removal awaits approval',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { which: { type: 'string', enum: ['in-force', 'all', 'removal-requested'], default: 'in-force' } },
        },
        response: items,
      },
    },
    async (req) => ({ items: listFlags(deps.db, req.query.which ?? 'in-force') }),
  )

  app.get(
    '/recordings/:id/flags',
    { config: { right: 'retention:read' }, schema: { summary: "A recording's retention flags, removed ones included", params: idParams, response: items } },
    async (req) => {
      visibleRecording(deps, req, req.params.id)
      return { items: flagsOf(deps.db, req.params.id) }
    },
  )

  app.post(
    '/recordings/:id/flags',
    {
      config: { right: 'flags:write' },
      schema: {
        summary: 'Set a retention flag (clerk), with a reason: kept by the flag rule (permanent for the art. 13 flags)',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['flag', 'reason'],
          properties: { flag: { type: 'string', minLength: 1, maxLength: 32 }, reason: ref.reason },
        },
        response: { 201: decided, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      visibleRecording(deps, req, req.params.id)
      return reply.status(201).send(decision(setFlag(ctx(req), req.params.id, req.body.flag, req.body.reason)))
    },
  )

  app.post(
    '/flags/:id/removal',
    {
      config: { right: 'flags:write' },
      schema: {
        summary: "Ask for a flag's removal, with a reason: it stays until another supervisor approves",
        params: idParams,
        body: withReason,
        response: { 200: flagSchema, '4xx': ref.error },
      },
    },
    async (req) => requestFlagRemoval(ctx(req), req.params.id, req.body.reason),
  )

  app.post(
    '/flags/:id/removal/withdraw',
    {
      config: { right: 'flags:write' },
      schema: {
        summary: 'Withdraw (or turn down) a removal request: the flag stays',
        params: idParams,
        body: withReason,
        response: { 200: flagSchema, '4xx': ref.error },
      },
    },
    async (req) => withdrawFlagRemoval(ctx(req), req.params.id, req.body.reason),
  )

  app.post(
    '/flags/:id/removal/approve',
    {
      config: { right: 'flags:approve' },
      schema: {
        summary: "Approve a flag's removal (supervisor; not who set it or asked for its removal)",
        params: idParams,
        body: { type: 'object', additionalProperties: false, properties: { reason: ref.reason } },
        response: { 200: decided, '4xx': ref.error },
      },
    },
    async (req) => {
      requireStepUp(req) // removing a permanent-retention flag is guarded by a fresh second factor (issue 23)
      return decision(approveFlagRemoval(ctx(req), req.params.id, req.body?.reason))
    },
  )
}
