import type { FastifyRequest } from 'fastify'
import { getSample, listSamples, REVIEW_OUTCOMES, sampleItems } from '../../catalog/reviews.js'
import { BodyvaultError } from '../../common/errors.js'
import { drawSample, recordOutcome, type ReviewCtx } from '../../review/sample.js'
import { currentMonth, monthBounds } from '../../stats/monthly.js'
import type { ApiDeps } from '../deps.js'
import { tokenOf } from '../auth.js'
import { type ApiPlugin, id, idParams, ref } from '../schemas.js'

const nullable = { type: ['string', 'null'] } as const
const month = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}$' } as const
const sampleProps = {
  id: { type: 'integer' },
  month: { type: 'string' },
  perOfficer: { type: 'integer' },
  seed: { type: 'string' },
  requestedBy: { type: 'string' },
  requestedAt: { type: 'string' },
} as const
const itemSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sampleId: { type: 'integer' },
    recordingId: { type: 'integer' },
    officerId: { type: 'string' },
    outcome: { type: ['string', 'null'], enum: [...REVIEW_OUTCOMES, null] },
    note: nullable,
    decidedBy: nullable,
    decidedAt: nullable,
  },
} as const
const withItems = { type: 'object', additionalProperties: false, properties: { ...sampleProps, items: { type: 'array', items: itemSchema } } } as const

/**
 * Random review (随机抽查) as HTTP over src/review/sample.ts, what `bodyvault
 * review` does: a supervisor draws N recordings per officer of a month
 * (reproducible from the seed, which is recorded: give the same seed over
 * the same recordings and the same items come out) and records an outcome
 * per item; auditors read the samples. Outcomes count in
 * GET /v1/stats/monthly.
 */
export const reviewRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  const zone = deps.station.timezone
  const ctx = (req: FastifyRequest): ReviewCtx => {
    const p = tokenOf(req)
    return { db: deps.db, actor: p.actor, person: p.person, stationId: deps.station.id, now: new Date() }
  }
  const withItemsOf = (sampleId: number) => {
    const s = getSample(deps.db, sampleId)
    if (!s) throw new BodyvaultError('NOT_FOUND', `no review sample ${sampleId}`)
    return { ...s, items: sampleItems(deps.db, sampleId) }
  }

  app.get(
    '/reviews/samples',
    {
      config: { right: 'reviews:read' },
      schema: {
        summary: 'Random review samples (随机抽查), newest first: of a month, or all',
        querystring: { type: 'object', additionalProperties: false, properties: { month } },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', additionalProperties: false, properties: sampleProps } } } },
          '4xx': ref.error,
        },
      },
    },
    async (req) => ({ items: listSamples(deps.db, req.query.month) }),
  )

  app.post(
    '/reviews/samples',
    {
      config: { right: 'reviews:write' },
      schema: {
        summary: 'Draw a sample: N recordings per officer of a month (default: this month), reproducible from the seed (default: a random one, recorded)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['perOfficer'],
          properties: {
            month,
            perOfficer: { type: 'integer', minimum: 1, maximum: 1000 },
            seed: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' },
          },
        },
        response: { 201: withItems, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const m = req.body.month ?? currentMonth(zone)
      const { from, to } = monthBounds(m, zone)
      const r = drawSample(ctx(req), { month: m, from, to, perOfficer: req.body.perOfficer, seed: req.body.seed })
      return reply.status(201).send({ ...r.sample, items: r.items })
    },
  )

  app.get(
    '/reviews/samples/:id',
    {
      config: { right: 'reviews:read' },
      schema: {
        summary: 'A sample: its month, seed, who drew it, and each item with its outcome',
        params: idParams,
        response: { 200: withItems, '4xx': ref.error },
      },
    },
    async (req) => withItemsOf(req.params.id),
  )

  app.put(
    '/reviews/samples/:id/items/:recordingId',
    {
      config: { right: 'reviews:write' },
      schema: {
        summary: "Record a sampled recording's outcome: ok, late, wrong-category, incomplete (未全程记录) or other (with a note)",
        params: { type: 'object', required: ['id', 'recordingId'], additionalProperties: false, properties: { id, recordingId: id } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['outcome'],
          properties: { outcome: { type: 'string', enum: [...REVIEW_OUTCOMES] }, note: { type: 'string', maxLength: 2000 } },
        },
        response: { 200: itemSchema, '4xx': ref.error },
      },
    },
    async (req) => {
      if (!getSample(deps.db, req.params.id)) throw new BodyvaultError('NOT_FOUND', `no review sample ${req.params.id}`)
      return recordOutcome(ctx(req), req.params.id, req.params.recordingId, req.body.outcome, req.body.note)
    },
  )
}
