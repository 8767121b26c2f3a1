import { listFindings } from '../../catalog/findings.js'
import { dashboardSeries, INFLOW_DAYS, inflowBytesSince, queueDepth, storedBytes } from '../../catalog/stats.js'
import { BodyvaultError, errorMessage } from '../../common/errors.js'
import { handoverStats } from '../../catalog/handovers.js'
import { WORK_ITEMS, workItems } from '../../catalog/work-items.js'
import { retentionPlan } from '../../retention/plan.js'
import { refreshHandovers } from '../../stats/handover.js'
import type { ApiDeps } from '../deps.js'
import { isoInstant } from '../params.js'
import { type ApiPlugin, instant, ref } from '../schemas.js'
import { handoverSchema } from './compliance-stats.js'

const DAY_MS = 86_400_000
const HORIZON_DAYS = 30

const num = { type: 'number' } as const
const int = { type: 'integer' } as const
const str = { type: 'string' } as const
const strOrNull = { type: ['string', 'null'] } as const
const rows = (properties: Record<string, unknown>) => ({ type: 'array', items: { type: 'object', additionalProperties: false, properties } }) as const

/**
 * GET /v1/dashboard (stats:read): the supervisors' and auditors' figures
 * in one read, each series in the units its chart draws, with what the web
 * page needs to link a bar to the recordings behind it: footage hours per
 * officer and day and the uncategorised recordings per day (recorded
 * between `from` and `to`, default the last 30 days), open reconciliation
 * findings, deletions due in the next 30 days, storage and days left at
 * the last 14 days' inflow, the media and offload queues, the fixity
 * state, and the anchoring level.
 */
export const dashboardRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  const limitSeconds = deps.handoverLimitSeconds ?? 86400
  // Each recording's delay is stored when first asked for (and again once probed): the figures of the window, as the monthly statistics count them.
  const handoversIn = (from: string, to: string) => {
    refreshHandovers(deps.db, limitSeconds)
    return handoverStats(deps.db, { from, to, limitSeconds })
  }
  app.get(
    '/dashboard',
    {
      config: { right: 'stats:read' },
      schema: {
        summary: 'The compliance dashboard: footage, uncategorised footage, reconciliation findings, deletions due, storage, queues, fixity, anchoring',
        querystring: { type: 'object', additionalProperties: false, properties: { from: instant, to: instant } },
        response: {
          200: {
            type: 'object',
            properties: {
              at: str,
              from: str,
              to: str,
              hoursByOfficerDay: rows({ officerId: str, day: str, recordings: int, hours: num, recordedFrom: str, recordedTo: str }),
              uncategorisedByDay: rows({ day: str, recordings: int, hours: num, recordedFrom: str, recordedTo: str }),
              findings: rows({
                id: int,
                code: str,
                deviceId: strOrNull,
                recordingId: { type: ['integer', 'null'] },
                sessionId: { type: ['integer', 'null'] },
                message: str,
                detail: { type: 'object', additionalProperties: true },
                foundAt: str,
              }),
              deletionsDue: rows({ day: str, recordings: int, bytes: int, recordedFrom: str, recordedTo: str }),
              storage: {
                type: 'object',
                properties: {
                  usedBytes: int,
                  freeBytes: { type: ['integer', 'null'] },
                  reserveBytes: int,
                  inflowDays: int,
                  perDayBytes: num,
                  daysLeft: { type: ['integer', 'null'] },
                },
              },
              /** Handover on time (及时移交) of the recordings recorded in the window: the delay histogram, late ones per officer and unit. */
              handovers: handoverSchema,
              queues: rows({ queue: str, state: str, n: int }),
              fixity: { type: ['object', 'null'], additionalProperties: true },
              anchoring: {
                type: ['object', 'null'],
                properties: {
                  level: str,
                  checkpoint: { type: ['integer', 'null'] },
                  treeSize: { type: ['integer', 'null'] },
                  error: strOrNull,
                  /** Recordings ingested after the latest checkpoint's tree: not yet at this level (GET /v1/dashboard/items?what=unanchored lists them). */
                  unanchored: { type: ['integer', 'null'] },
                },
              },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req) => {
      const now = new Date()
      const to = req.query.to === undefined ? now.toISOString() : isoInstant(req.query.to, 'to')
      const from = req.query.from === undefined ? new Date(Date.parse(to) - HORIZON_DAYS * DAY_MS).toISOString() : isoInstant(req.query.from, 'from')
      if (from >= to) throw new BodyvaultError('BAD_REQUEST', `from (${from}) must be before to (${to})`)
      const series = dashboardSeries(deps.db, { from, to })
      const findings = listFindings(deps.db, { kind: 'reconciliation', open: true }).map((f) => ({
        id: f.id,
        code: f.code,
        deviceId: f.deviceNumber,
        recordingId: f.recordingId,
        sessionId: f.sessionId,
        message: f.message,
        detail: f.detail,
        foundAt: f.foundAt,
      }))
      const horizon = new Date(now.getTime() + HORIZON_DAYS * DAY_MS)
      const due = new Map<string, { day: string; recordings: number; bytes: number; recordedFrom: string; recordedTo: string }>()
      for (const i of retentionPlan(deps.db, deps.policy, horizon).items) {
        const day = i.deadline.slice(0, 10)
        const d = due.get(day) ?? { day, recordings: 0, bytes: 0, recordedFrom: i.recordedAt, recordedTo: i.recordedAt }
        d.recordings++
        d.bytes += i.size
        if (i.recordedAt < d.recordedFrom) d.recordedFrom = i.recordedAt
        if (i.recordedAt > d.recordedTo) d.recordedTo = i.recordedAt
        due.set(day, d)
      }
      const free = await deps.vault.freeBytes().catch(() => null)
      const reserve = deps.reserveBytes ?? 0
      const perDay = inflowBytesSince(deps.db, new Date(now.getTime() - INFLOW_DAYS * DAY_MS).toISOString()) / INFLOW_DAYS
      let anchoring = null
      if (deps.anchoring)
        try {
          const r = await deps.anchoring()
          const unanchored = workItems(deps.db, 'unanchored', { limit: 0, anchoredEvents: r.latest?.treeSize ?? 0 }).total
          anchoring = { level: r.level, checkpoint: r.latest?.id ?? null, treeSize: r.latest?.treeSize ?? null, error: null, unanchored }
        } catch (err) {
          anchoring = { level: 'unknown', checkpoint: null, treeSize: null, error: errorMessage(err), unanchored: null }
        }
      return {
        at: now.toISOString(),
        from,
        to,
        ...series,
        findings,
        deletionsDue: [...due.values()].sort((a, b) => (a.day < b.day ? -1 : 1)),
        storage: {
          usedBytes: storedBytes(deps.db),
          freeBytes: free,
          reserveBytes: reserve,
          inflowDays: INFLOW_DAYS,
          perDayBytes: Math.round(perDay),
          daysLeft: free === null || perDay <= 0 ? null : Math.floor(Math.max(0, free - reserve) / perDay),
        },
        handovers: handoversIn(from, to),
        queues: queueDepth(deps.db),
        fixity: deps.fixityState ? deps.fixityState() : null,
        anchoring,
      }
    },
  )

  const workItem = {
    type: 'object',
    additionalProperties: false,
    properties: {
      item: str,
      sha256: strOrNull,
      subject: strOrNull,
      recordingId: { type: ['integer', 'null'] },
      recordedAt: strOrNull,
      officerId: strOrNull,
      deviceId: strOrNull,
      note: strOrNull,
      attempts: { type: ['integer', 'null'] },
      at: strOrNull,
    },
  } as const
  app.get(
    '/dashboard/items',
    {
      config: { right: 'stats:read' },
      schema: {
        summary:
          'The items behind a bar of the dashboard’s work chart or its anchoring panel: media jobs, offload jobs, vault objects, recordings not yet in a checkpoint',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['what'],
          properties: { what: { type: 'string', enum: [...WORK_ITEMS] }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 200 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              what: str,
              total: int,
              treeSize: { type: ['integer', 'null'] },
              // The fixity bars' cut-offs (due: last checked before dueBefore; overdue: not since overdueBefore); null for other lists.
              fixity: {
                type: ['object', 'null'],
                additionalProperties: false,
                properties: { dueBefore: str, overdueBefore: str },
              },
              items: { type: 'array', items: workItem },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req) => {
      // Unanchored: beyond the tree of the latest checkpoint the anchoring panel shows (none yet: every recording).
      let treeSize: number | null = null
      if (req.query.what === 'unanchored' && deps.anchoring) treeSize = (await deps.anchoring()).latest?.treeSize ?? 0
      // Due and overdue at the cut-offs of the fixity state the dashboard's bars were counted at.
      const fixity = req.query.what.startsWith('fixity:') ? deps.fixityState?.() : undefined
      const r = workItems(deps.db, req.query.what, { limit: req.query.limit ?? 200, anchoredEvents: treeSize ?? 0, fixity })
      const cutoffs = fixity ? { dueBefore: fixity.dueBefore, overdueBefore: fixity.overdueBefore } : null
      return { what: req.query.what, total: r.total, treeSize, fixity: cutoffs, items: r.items }
    },
  )
}
