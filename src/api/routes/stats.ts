import { recordingStats } from '../../catalog/stats.js'
import type { ApiDeps } from '../deps.js'
import { isoInstant } from '../params.js'
import { type ApiPlugin, instant, ref } from '../schemas.js'

const group = { type: 'array', items: { type: 'object', additionalProperties: true } } as const

/**
 * GET /v1/stats: recordings and hours per officer, device, unit (the officer's
 * at the recorded time) and (camera-local)
 * day; the docking delay (ingested - recorded) as a distribution; the
 * uncategorised count; failed media jobs. Optional from/to on recorded_at.
 */
export const statsRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  app.get(
    '/stats',
    {
      config: { right: 'stats:read' },
      schema: {
        summary: 'Statistics for case review, supervision and performance evaluation',
        querystring: { type: 'object', additionalProperties: false, properties: { from: instant, to: instant } },
        response: {
          200: {
            type: 'object',
            properties: {
              totals: { type: 'object', additionalProperties: true },
              byOfficer: group,
              byDevice: group,
              byUnit: group,
              byDay: group,
              dockingDelaySeconds: { type: 'object', additionalProperties: true },
              uncategorised: { type: 'integer' },
              failedJobs: { type: ['integer', 'null'] },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req) =>
      recordingStats(deps.db, {
        from: req.query.from === undefined ? undefined : isoInstant(req.query.from, 'from'),
        to: req.query.to === undefined ? undefined : isoInstant(req.query.to, 'to'),
      }),
  )
}
