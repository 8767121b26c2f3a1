import type { FastifyRequest } from 'fastify'
import { BodyvaultError } from '../../common/errors.js'
import { retentionPlan } from '../../retention/plan.js'
import { getCase, getHold, listCases, listHolds, recordingsOfCase } from '../../catalog/cases.js'
import { closeCase, createCase, linkRecordings, placeHold, releaseHold, reopenCase, setCategory, unlinkRecording } from '../../retention/actions.js'
import type { Ctx } from '../../retention/deadlines.js'
import type { ApiDeps } from '../deps.js'
import { actorOf } from '../auth.js'
import { isoInstant } from '../params.js'
import { type ApiPlugin, id, idParams, instant, ref } from '../schemas.js'
import { requireStepUp } from '../step-up.js'
import { visibleRecording } from './recordings.js'

const caseParams = {
  type: 'object',
  required: ['number'],
  additionalProperties: false,
  properties: { number: { type: 'string', minLength: 1, maxLength: 64 } },
} as const
const ids = { type: 'array', minItems: 1, maxItems: 500, items: id } as const
const optionalInstant = (v: string | undefined, key: string): string | null => (v === undefined ? null : isoInstant(v, key))

/**
 * Cases, case links, categories, legal holds and the retention plan: thin
 * HTTP over src/retention/store.ts, where each change and its ledger event
 * commit together. The actor is the token (`token:<id>`).
 */
export const caseRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  const ctx = (req: FastifyRequest): Ctx => ({ db: deps.db, policy: deps.policy, actor: actorOf(req), now: new Date() })
  const withRecordings = (number: string) => {
    const c = getCase(deps.db, number)
    if (!c) throw new BodyvaultError('CASE_NOT_FOUND', `no case ${number}`)
    return { ...c, recordingIds: recordingsOfCase(deps.db, number) }
  }

  app.get(
    '/cases',
    {
      config: { right: 'cases:read' },
      schema: {
        summary: 'Cases',
        querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ['open', 'closed'] } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: ref.case } } }, '4xx': ref.error },
      },
    },
    async (req) => ({ items: listCases(deps.db, req.query.status) }),
  )

  app.post(
    '/cases',
    {
      config: { right: 'cases:write' },
      schema: {
        summary: 'Open a case',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['number', 'type'],
          properties: {
            number: { type: 'string', minLength: 1, maxLength: 64 },
            type: { type: 'string', minLength: 1, maxLength: 64 },
            title: { type: 'string', maxLength: 500 },
            openedAt: instant,
          },
        },
        response: { 201: ref.case, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const b = req.body
      const c = createCase(ctx(req), {
        number: b.number,
        type: b.type,
        title: b.title ?? null,
        openedAt: optionalInstant(b.openedAt, 'openedAt'),
      })
      return reply.status(201).send({ ...c, recordingIds: [] })
    },
  )

  app.get(
    '/cases/:number',
    {
      config: { right: 'cases:read' },
      schema: { summary: 'One case and its recordings', params: caseParams, response: { 200: ref.case, '4xx': ref.error } },
    },
    async (req) => withRecordings(req.params.number),
  )

  app.patch(
    '/cases/:number',
    {
      config: { right: 'cases:write' },
      schema: {
        summary: 'Close or reopen a case (its footage then keeps until close + the archive period of its type, or indefinitely again)',
        params: caseParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['status'],
          properties: { status: { type: 'string', enum: ['open', 'closed'] }, reason: ref.reason, closedAt: instant },
        },
        response: { 200: ref.case, '4xx': ref.error },
      },
    },
    async (req) => {
      const b = req.body
      if (b.status === 'closed')
        closeCase(ctx(req), req.params.number, { closedAt: optionalInstant(b.closedAt, 'closedAt'), ...(b.reason ? { reason: b.reason } : {}) })
      else reopenCase(ctx(req), req.params.number, b.reason)
      return withRecordings(req.params.number)
    },
  )

  app.post(
    '/cases/:number/recordings',
    {
      config: { right: 'cases:write' },
      schema: {
        summary: 'Link recordings to a case',
        params: caseParams,
        body: { type: 'object', additionalProperties: false, required: ['recordingIds'], properties: { recordingIds: ids, reason: ref.reason } },
        response: { 200: ref.case, '4xx': ref.error },
      },
    },
    async (req) => {
      for (const id of req.body.recordingIds) visibleRecording(deps, req, id)
      linkRecordings(ctx(req), req.params.number, req.body.recordingIds, req.body.reason)
      return withRecordings(req.params.number)
    },
  )

  app.delete(
    '/cases/:number/recordings/:id',
    {
      config: { right: 'cases:write' },
      schema: {
        summary: 'Unlink a recording from a case (needs ?reason=)',
        params: {
          type: 'object',
          required: ['number', 'id'],
          additionalProperties: false,
          properties: { number: caseParams.properties.number, id },
        },
        querystring: { type: 'object', additionalProperties: false, properties: { reason: ref.reason } },
        response: { 200: ref.case, '4xx': ref.error },
      },
    },
    async (req) => {
      unlinkRecording(ctx(req), req.params.number, req.params.id, req.query.reason)
      return withRecordings(req.params.number)
    },
  )

  app.put(
    '/recordings/:id/category',
    {
      config: { right: 'recordings:categorize' },
      schema: {
        summary: "Set (or clear, with null) a recording's category, with a reason",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['category', 'reason'],
          properties: { category: { type: ['string', 'null'], maxLength: 64 }, reason: ref.reason },
        },
        response: { 200: { type: 'object', additionalProperties: true }, '4xx': ref.error },
      },
    },
    async (req) => {
      visibleRecording(deps, req, req.params.id)
      const r = setCategory(ctx(req), req.params.id, req.body.category, req.body.reason)
      return {
        from: r.from,
        to: r.to,
        deadline: r.decision.deadline === 'indefinite' ? 'indefinite' : r.decision.deadline.toISOString(),
        rule: r.decision.rule,
      }
    },
  )

  app.post(
    '/recordings/:id/holds',
    {
      config: { right: 'holds:write' },
      schema: {
        summary: 'Place a legal hold (supervisor): the recording is kept indefinitely until it is released',
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: ref.reason } },
        response: { 201: ref.hold, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      visibleRecording(deps, req, req.params.id)
      requireStepUp(req) // a hold is guarded by a fresh second factor (issue 23)
      return reply.status(201).send(placeHold(ctx(req), req.params.id, req.body.reason))
    },
  )

  app.get(
    '/holds',
    {
      config: { right: 'cases:read' },
      schema: {
        summary: 'Legal holds',
        querystring: { type: 'object', additionalProperties: false, properties: { active: { type: 'boolean', default: true } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: ref.hold } } }, '4xx': ref.error },
      },
    },
    async (req) => ({ items: listHolds(deps.db, req.query.active ?? true) }),
  )

  app.post(
    '/holds/:id/release',
    {
      config: { right: 'holds:write' },
      schema: {
        summary: 'Release a legal hold (supervisor), with a reason',
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: ref.reason } },
        response: { 200: ref.hold, '4xx': ref.error },
      },
    },
    async (req) => {
      if (!getHold(deps.db, req.params.id)) throw new BodyvaultError('HOLD_NOT_FOUND', `no hold ${req.params.id}`)
      requireStepUp(req) // lifting a hold too
      return releaseHold(ctx(req), req.params.id, req.body.reason)
    },
  )

  app.get(
    '/retention/plan',
    {
      config: { right: 'retention:read' },
      schema: {
        summary: 'What is due for deletion, when, and by which rule (items in their grace period can still be rescued by a case link or a hold)',
        querystring: { type: 'object', additionalProperties: false, properties: { at: instant } },
        response: { 200: { type: 'object', additionalProperties: true }, '4xx': ref.error },
      },
    },
    async (req) => ({ ...retentionPlan(deps.db, deps.policy, new Date(req.query.at === undefined ? Date.now() : isoInstant(req.query.at, 'at'))) }),
  )
}
