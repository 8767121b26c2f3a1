import type { FastifyInstance, FastifyRequest } from 'fastify'
import { retentionPlan } from '../../retention/plan.js'
import {
  closeCase,
  createCase,
  getCase,
  getHold,
  listCases,
  listHolds,
  linkRecordings,
  placeHold,
  recordingsOfCase,
  releaseHold,
  reopenCase,
  setCategory,
  unlinkRecording,
  type Ctx,
} from '../../retention/store.js'
import { actorOf } from '../auth.js'
import { ApiError, errorSchema } from '../errors.js'
import { idParams, visibleRecording } from './recordings.js'
import type { ApiDeps } from '../app.js'

const caseSchema = {
  type: 'object',
  properties: {
    number: { type: 'string' },
    type: { type: 'string' },
    title: { type: ['string', 'null'] },
    status: { type: 'string' },
    openedAt: { type: 'string' },
    openedBy: { type: 'string' },
    closedAt: { type: ['string', 'null'] },
    closedBy: { type: ['string', 'null'] },
    recordingIds: { type: 'array', items: { type: 'integer' } },
  },
} as const
const holdSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    recordingId: { type: 'integer' },
    reason: { type: 'string' },
    placedBy: { type: 'string' },
    placedAt: { type: 'string' },
    releasedAt: { type: ['string', 'null'] },
    releasedBy: { type: ['string', 'null'] },
    releaseReason: { type: ['string', 'null'] },
  },
} as const
const caseParams = {
  type: 'object',
  required: ['number'],
  additionalProperties: false,
  properties: { number: { type: 'string', minLength: 1, maxLength: 64 } },
} as const
const reason = { type: 'string', minLength: 1, maxLength: 1000 } as const
const ids = { type: 'array', minItems: 1, maxItems: 500, items: { type: 'integer', minimum: 1, maximum: 9007199254740991 } } as const
const instant = { type: 'string', format: 'date-time' } as const

/**
 * Cases, case links, categories, legal holds and the retention plan: thin
 * HTTP over src/retention/store.ts, where each change and its ledger event
 * commit together. The actor is the token (`token:<id>`).
 */
export async function caseRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const ctx = (req: FastifyRequest): Ctx => ({ db: deps.db, policy: deps.policy, actor: actorOf(req), now: new Date() })
  const withRecordings = (number: string) => {
    const c = getCase(deps.db, number)
    if (!c) throw new ApiError(404, 'CASE_NOT_FOUND', `no case ${number}`)
    return { ...c, recordingIds: recordingsOfCase(deps.db, number) }
  }

  app.get<{ Querystring: { status?: 'open' | 'closed' } }>(
    '/v1/cases',
    {
      config: { right: 'cases:read' },
      schema: {
        summary: 'Cases',
        querystring: { type: 'object', additionalProperties: false, properties: { status: { enum: ['open', 'closed'] } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: caseSchema } } }, '4xx': errorSchema },
      },
    },
    async (req) => ({ items: listCases(deps.db, req.query.status) }),
  )

  app.post<{ Body: { number: string; type: string; title?: string; openedAt?: string } }>(
    '/v1/cases',
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
        response: { 201: caseSchema, '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      const b = req.body
      const c = createCase(ctx(req), {
        number: b.number,
        type: b.type,
        title: b.title ?? null,
        openedAt: b.openedAt ? new Date(b.openedAt).toISOString() : null,
      })
      return reply.status(201).send({ ...c, recordingIds: [] })
    },
  )

  app.get<{ Params: { number: string } }>(
    '/v1/cases/:number',
    {
      config: { right: 'cases:read' },
      schema: { summary: 'One case and its recordings', params: caseParams, response: { 200: caseSchema, '4xx': errorSchema } },
    },
    async (req) => withRecordings(req.params.number),
  )

  app.patch<{ Params: { number: string }; Body: { status: 'open' | 'closed'; reason?: string; closedAt?: string } }>(
    '/v1/cases/:number',
    {
      config: { right: 'cases:write' },
      schema: {
        summary: 'Close or reopen a case (its footage then keeps until close + the archive period of its type, or indefinitely again)',
        params: caseParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['status'],
          properties: { status: { enum: ['open', 'closed'] }, reason, closedAt: instant },
        },
        response: { 200: caseSchema, '4xx': errorSchema },
      },
    },
    async (req) => {
      const b = req.body
      if (b.status === 'closed')
        closeCase(ctx(req), req.params.number, { closedAt: b.closedAt ? new Date(b.closedAt).toISOString() : null, ...(b.reason ? { reason: b.reason } : {}) })
      else reopenCase(ctx(req), req.params.number, b.reason)
      return withRecordings(req.params.number)
    },
  )

  app.post<{ Params: { number: string }; Body: { recordingIds: number[]; reason?: string } }>(
    '/v1/cases/:number/recordings',
    {
      config: { right: 'cases:write' },
      schema: {
        summary: 'Link recordings to a case',
        params: caseParams,
        body: { type: 'object', additionalProperties: false, required: ['recordingIds'], properties: { recordingIds: ids, reason } },
        response: { 200: caseSchema, '4xx': errorSchema },
      },
    },
    async (req) => {
      for (const id of req.body.recordingIds) visibleRecording(deps, req, id)
      linkRecordings(ctx(req), req.params.number, req.body.recordingIds, req.body.reason)
      return withRecordings(req.params.number)
    },
  )

  app.delete<{ Params: { number: string; id: number }; Querystring: { reason?: string } }>(
    '/v1/cases/:number/recordings/:id',
    {
      config: { right: 'cases:write' },
      schema: {
        summary: 'Unlink a recording from a case (needs ?reason=)',
        params: {
          type: 'object',
          required: ['number', 'id'],
          additionalProperties: false,
          properties: { number: caseParams.properties.number, id: idParams.properties.id },
        },
        querystring: { type: 'object', additionalProperties: false, properties: { reason } },
        response: { 200: caseSchema, '4xx': errorSchema },
      },
    },
    async (req) => {
      unlinkRecording(ctx(req), req.params.number, req.params.id, req.query.reason)
      return withRecordings(req.params.number)
    },
  )

  app.put<{ Params: { id: number }; Body: { category: string | null; reason: string } }>(
    '/v1/recordings/:id/category',
    {
      config: { right: 'recordings:categorize' },
      schema: {
        summary: "Set (or clear, with null) a recording's category, with a reason",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['category', 'reason'],
          properties: { category: { type: ['string', 'null'], maxLength: 64 }, reason },
        },
        response: { 200: { type: 'object', additionalProperties: true }, '4xx': errorSchema },
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

  app.post<{ Params: { id: number }; Body: { reason: string } }>(
    '/v1/recordings/:id/holds',
    {
      config: { right: 'holds:write' },
      schema: {
        summary: 'Place a legal hold (supervisor): the recording is kept indefinitely until it is released',
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason } },
        response: { 201: holdSchema, '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      visibleRecording(deps, req, req.params.id)
      return reply.status(201).send(placeHold(ctx(req), req.params.id, req.body.reason))
    },
  )

  app.get<{ Querystring: { active?: boolean } }>(
    '/v1/holds',
    {
      config: { right: 'cases:read' },
      schema: {
        summary: 'Legal holds',
        querystring: { type: 'object', additionalProperties: false, properties: { active: { type: 'boolean', default: true } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: holdSchema } } }, '4xx': errorSchema },
      },
    },
    async (req) => ({ items: listHolds(deps.db, req.query.active ?? true) }),
  )

  app.post<{ Params: { id: number }; Body: { reason: string } }>(
    '/v1/holds/:id/release',
    {
      config: { right: 'holds:write' },
      schema: {
        summary: 'Release a legal hold (supervisor), with a reason',
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason } },
        response: { 200: holdSchema, '4xx': errorSchema },
      },
    },
    async (req) => {
      if (!getHold(deps.db, req.params.id)) throw new ApiError(404, 'HOLD_NOT_FOUND', `no hold ${req.params.id}`)
      return releaseHold(ctx(req), req.params.id, req.body.reason)
    },
  )

  app.get<{ Querystring: { at?: string } }>(
    '/v1/retention/plan',
    {
      config: { right: 'retention:read' },
      schema: {
        summary: 'What is due for deletion, when, and by which rule (items in their grace period can still be rescued by a case link or a hold)',
        querystring: { type: 'object', additionalProperties: false, properties: { at: instant } },
        response: { 200: { type: 'object', additionalProperties: true }, '4xx': errorSchema },
      },
    },
    async (req) => retentionPlan(deps.db, deps.policy, req.query.at ? new Date(req.query.at) : new Date()),
  )
}
