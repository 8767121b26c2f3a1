import type { FastifyInstance } from 'fastify'
import { errorSchema } from '../errors.js'
import type { ApiDeps } from '../app.js'

const group = { type: 'array', items: { type: 'object', additionalProperties: true } } as const

function tableExists(deps: ApiDeps, name: string): boolean {
  return deps.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
}

/**
 * GET /v1/stats: recordings and hours per officer, device and (camera-local)
 * day; the docking delay (ingested - recorded) as a distribution; the
 * uncategorised count; failed media jobs. Optional from/to on recorded_at.
 */
export async function statsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/v1/stats',
    {
      config: { right: 'stats:read' },
      schema: {
        summary: 'Statistics for case review, supervision and performance evaluation',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              totals: { type: 'object', additionalProperties: true },
              byOfficer: group,
              byDevice: group,
              byDay: group,
              dockingDelaySeconds: { type: 'object', additionalProperties: true },
              uncategorised: { type: 'integer' },
              failedJobs: { type: ['integer', 'null'] },
            },
          },
          '4xx': errorSchema,
        },
      },
    },
    async (req) => {
      const where: string[] = ["r.kind <> 'sidecar'"]
      const args: string[] = []
      if (req.query.from) {
        where.push('r.recorded_at >= ?')
        args.push(new Date(req.query.from).toISOString())
      }
      if (req.query.to) {
        where.push('r.recorded_at < ?')
        args.push(new Date(req.query.to).toISOString())
      }
      const w = `WHERE ${where.join(' AND ')}`
      const hasDurations = tableExists(deps, 'media_info')
      const hours = hasDurations ? 'round(coalesce(sum(m.duration_sec), 0) / 3600.0, 3)' : 'NULL'
      const from = `FROM recordings r${hasDurations ? ' LEFT JOIN media_info m ON m.recording_id = r.id' : ''} ${w}`
      const by = (expr: string, as: string): unknown[] =>
        deps.db.prepare(`SELECT ${expr} AS ${as}, count(*) AS recordings, sum(r.size) AS bytes, ${hours} AS hours ${from} GROUP BY 1 ORDER BY 1`).all(...args)
      const totals = deps.db.prepare(`SELECT count(*) AS recordings, coalesce(sum(r.size), 0) AS bytes, ${hours} AS hours ${from}`).get(...args)
      const delayExpr = 'max(0, round((julianday(r.ingested_at) - julianday(r.recorded_at)) * 86400))'
      const n = (deps.db.prepare(`SELECT count(*) AS n ${from}`).get(...args) as { n: number }).n
      const at = (q: number): number | null => {
        if (n === 0) return null
        const row = deps.db.prepare(`SELECT ${delayExpr} AS d ${from} ORDER BY d LIMIT 1 OFFSET ?`).get(...args, Math.min(n - 1, Math.floor(q * n))) as {
          d: number
        }
        return row.d
      }
      const buckets = [
        ['le1h', 3600],
        ['le8h', 8 * 3600],
        ['le24h', 86400],
        ['le72h', 3 * 86400],
        ['le7d', 7 * 86400],
      ] as const
      const hist = deps.db
        .prepare(
          `SELECT ${buckets.map(([k, s]) => `sum(CASE WHEN ${delayExpr} <= ${s} THEN 1 ELSE 0 END) AS ${k}`).join(', ')}, sum(CASE WHEN ${delayExpr} > ${7 * 86400} THEN 1 ELSE 0 END) AS over7d ${from}`,
        )
        .get(...args)
      return {
        totals,
        byOfficer: by("coalesce(r.officer_id, '(unknown)')", 'officerId'),
        byDevice: by("coalesce(r.device_id, '(unknown)')", 'deviceId'),
        byDay: by('date(r.recorded_at, r.recorded_offset)', 'day'),
        dockingDelaySeconds: { count: n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), histogram: hist },
        uncategorised: (deps.db.prepare(`SELECT count(*) AS n ${from} AND r.category IS NULL`).get(...args) as { n: number }).n,
        failedJobs: tableExists(deps, 'media_jobs')
          ? (deps.db.prepare("SELECT count(*) AS n FROM media_jobs WHERE state = 'failed'").get() as { n: number }).n
          : null,
      }
    },
  )
}
