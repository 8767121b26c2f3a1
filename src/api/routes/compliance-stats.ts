import type { FastifyReply } from 'fastify'
import { currentMonth, monthlyCsv, monthlyReport, monthlyXlsx } from '../../stats/monthly.js'
import type { ApiDeps } from '../deps.js'
import { type ApiPlugin, ref } from '../schemas.js'

const rate = { type: ['number', 'null'] } as const
/** The histogram's buckets are catalog/handovers.ts DELAY_BUCKETS and `more`. */
const count = { type: 'integer' } as const
const month = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}$' } as const
const perGroup = (key: string) =>
  ({
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      properties: {
        [key]: { type: 'string' },
        recordings: { type: 'integer' },
        late: { type: 'integer' },
        onTimeRate: rate,
        maxDelaySeconds: { type: 'integer' },
      },
    },
  }) as const

/** The handover figures of a month (what the supervisors' dashboard draws). */
export const handoverSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string' },
    to: { type: 'string' },
    limitSeconds: { type: 'integer' },
    totals: {
      type: 'object',
      additionalProperties: false,
      properties: { recordings: { type: 'integer' }, late: { type: 'integer' }, onTime: { type: 'integer' }, onTimeRate: rate },
    },
    histogram: {
      type: 'object',
      additionalProperties: false,
      description: 'recordings per delay bucket, delay = commit - (start + probed duration): at most 1 h, 8 h, 24 h, 48 h, 72 h, 7 d, more',
      properties: { le1h: count, le8h: count, le24h: count, le48h: count, le72h: count, le7d: count, more: count },
    },
    byOfficer: perGroup('officerId'),
    byUnit: perGroup('unitCode'),
    late: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          recordingId: { type: 'integer' },
          officerId: { type: ['string', 'null'] },
          unitCode: { type: ['string', 'null'] },
          endedAt: { type: 'string' },
          committedAt: { type: 'string' },
          delaySeconds: { type: 'integer' },
        },
      },
    },
  },
} as const

const monthlyRow = {
  type: 'object',
  additionalProperties: false,
  properties: {
    key: { type: 'string' },
    recordings: count,
    hours: { type: 'number' },
    handedOver: count,
    late: count,
    onTimeRate: rate,
    classified: count,
    classifiedRate: rate,
    flags: count,
    views: count,
    exports: count,
    findings: count,
    reviewed: count,
    reviewOk: count,
    reviewLate: count,
    reviewWrongCategory: count,
    reviewIncomplete: count,
    reviewOther: count,
  },
} as const

/** A file download (the reply has no 200 schema: the body is not JSON). */
function sendFile(reply: FastifyReply, type: string, name: string, body: string | Buffer): FastifyReply {
  return reply.type(type).header('content-disposition', `attachment; filename="${name}"`).send(body)
}

/**
 * 统计考核: GET /v1/stats/handovers (handover delay histogram, late handovers
 * per officer and unit) and GET /v1/stats/monthly (per officer or unit, as
 * JSON, CSV or XLSX), for a month in the station's time zone.
 */
export const complianceStatsRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  const report = (m: string | undefined, by: 'officer' | 'unit') =>
    monthlyReport(deps.db, {
      month: m ?? currentMonth(deps.station.timezone),
      by,
      timezone: deps.station.timezone,
      limitSeconds: deps.handoverLimitSeconds ?? 86400,
    })

  app.get(
    '/stats/handovers',
    {
      config: { right: 'stats:read' },
      schema: {
        summary: 'Handover on time (及时移交) for a month: delay histogram, late handovers per officer and unit, the late ones',
        querystring: { type: 'object', additionalProperties: false, properties: { month } },
        response: { 200: handoverSchema, '4xx': ref.error },
      },
    },
    async (req) => report(req.query.month, 'officer').handovers,
  )

  app.get(
    '/stats/monthly',
    {
      config: { right: 'stats:read' },
      schema: {
        summary: 'Monthly statistics (统计考核) per officer or unit, with the handover figures (files: /stats/monthly/csv, /stats/monthly/xlsx)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            month,
            by: { type: 'string', enum: ['officer', 'unit'], default: 'officer' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              month: { type: 'string' },
              timezone: { type: 'string' },
              by: { type: 'string' },
              from: { type: 'string' },
              to: { type: 'string' },
              rows: { type: 'array', items: monthlyRow },
              handovers: handoverSchema,
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req) => report(req.query.month, req.query.by ?? 'officer'),
  )

  app.get(
    '/stats/monthly/:format',
    {
      config: { right: 'stats:read' },
      schema: {
        summary: 'Monthly statistics (统计考核) per officer or unit as a file: CSV (UTF-8 with BOM) or XLSX',
        params: { type: 'object', required: ['format'], additionalProperties: false, properties: { format: { type: 'string', enum: ['csv', 'xlsx'] } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { month, by: { type: 'string', enum: ['officer', 'unit'], default: 'officer' } },
        },
        response: { '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const r = report(req.query.month, req.query.by ?? 'officer')
      const name = `bodyvault-stats-${r.month}-${r.by}.${req.params.format}`
      if (req.params.format === 'csv') return sendFile(reply, 'text/csv; charset=utf-8', name, monthlyCsv(r))
      return sendFile(reply, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', name, await monthlyXlsx(r))
    },
  )
}
