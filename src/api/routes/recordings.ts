import type { FastifyInstance, FastifyRequest } from 'fastify'
import { getRecording, type Recording } from '../../catalog/recordings.js'
import { BadCursorError, searchRecordings, SORTS, type Sort } from '../../catalog/search.js'
import { appendEvent, eventsFor } from '../../ledger/ledger.js'
import { derivativesOf, getDerivative, getMediaInfo } from '../../media/catalog.js'
import { casesOf, decide, holdsOf } from '../../retention/store.js'
import { actorOf, tokenOf } from '../auth.js'
import { ApiError, errorSchema } from '../errors.js'
import { sendObject } from '../stream.js'
import type { ApiDeps } from '../app.js'

export const recordingSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    sha256: { type: 'string' },
    size: { type: 'integer' },
    kind: { type: 'string' },
    sourcePath: { type: 'string' },
    stationId: { type: 'string' },
    deviceId: { type: ['string', 'null'] },
    officerId: { type: ['string', 'null'] },
    recordedAt: { type: 'string' },
    recordedOffset: { type: 'string' },
    recordedSource: { type: 'string' },
    important: { type: 'boolean' },
    category: { type: ['string', 'null'] },
    caseNumber: { type: ['string', 'null'] },
    profileId: { type: 'string' },
    sessionId: { type: ['integer', 'null'] },
    ingestedAt: { type: 'string' },
    eventSeq: { type: 'integer' },
    status: { type: 'string' },
  },
} as const

export const eventSchema = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    type: { type: 'string' },
    at: { type: 'string' },
    actor: { type: 'string' },
    subject: { type: 'string' },
    payload: { type: 'object', additionalProperties: true },
    prevHash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const

export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'integer', minimum: 1, maximum: 9007199254740991 } },
} as const
const ident = { type: 'string', minLength: 1, maxLength: 64 } as const

/** The recording a request may see: 404 if absent; officers only their own (403). */
export function visibleRecording(deps: ApiDeps, req: FastifyRequest, id: number): Recording {
  const r = getRecording(deps.db, id)
  if (!r) throw new ApiError(404, 'RECORDING_NOT_FOUND', `no recording ${id}`)
  const t = tokenOf(req)
  if (t.role === 'officer' && r.officerId !== t.officerId) throw new ApiError(403, 'FORBIDDEN', 'officers see only their own recordings')
  return r
}

/**
 * Writes the access record for a read of footage: who (token and role),
 * why, from where, which bytes. Appended before any byte is sent.
 */
export function recordView(deps: ApiDeps, req: FastifyRequest, r: Recording, what: string, sha256: string, range: string, reason: string | null): void {
  const t = tokenOf(req)
  appendEvent(deps.db, {
    type: 'viewed',
    actor: actorOf(req),
    subject: `recording:${r.id}`,
    payload: { recordingId: r.id, what, sha256, tokenId: t.id, role: t.role, reason, client: req.ip, range },
  })
  deps.logger.info({ event: 'api.viewed', recordingId: r.id, what, tokenId: t.id, role: t.role, range }, 'footage read')
}

export async function recordingRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get<{
    Querystring: {
      officer?: string
      device?: string
      station?: string
      category?: string
      case?: string
      important?: boolean
      kind?: string
      from?: string
      to?: string
      q?: string
      sort?: Sort
      limit?: number
      cursor?: string
    }
  }>(
    '/v1/recordings',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary: 'Search recordings',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            officer: ident,
            device: ident,
            station: ident,
            case: ident,
            category: { type: 'string', pattern: '^[a-z][a-z-]{0,31}$', description: 'a category, or "uncategorised"' },
            important: { type: 'boolean' },
            kind: { enum: ['video', 'audio', 'photo', 'sidecar'] },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            q: { type: 'string', minLength: 1, maxLength: 200, description: 'words of the original file name, in order, the last one by its start' },
            sort: { enum: [...SORTS], default: '-recordedAt' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            cursor: { type: 'string', maxLength: 512 },
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: recordingSchema }, nextCursor: { type: ['string', 'null'] } } },
          '4xx': errorSchema,
        },
      },
    },
    async (req) => {
      const q = req.query
      const t = tokenOf(req)
      if (t.role === 'officer' && q.officer !== undefined && q.officer !== t.officerId)
        throw new ApiError(403, 'FORBIDDEN', 'officers see only their own recordings')
      const iso = (v: string | undefined, key: string): string | undefined => {
        if (v === undefined) return undefined
        const d = new Date(v)
        if (Number.isNaN(d.getTime())) throw new ApiError(400, 'BAD_REQUEST', `${key} is not a valid date-time`)
        return d.toISOString()
      }
      try {
        return searchRecordings(deps.db, {
          officerId: t.role === 'officer' ? (t.officerId ?? '') : q.officer,
          deviceId: q.device,
          stationId: q.station,
          category: q.category === 'uncategorised' ? null : q.category,
          caseNumber: q.case,
          important: q.important,
          kind: q.kind,
          from: iso(q.from, 'from'),
          to: iso(q.to, 'to'),
          text: q.q,
          sort: q.sort,
          limit: q.limit,
          cursor: q.cursor,
        })
      } catch (err) {
        if (err instanceof BadCursorError) throw new ApiError(400, 'BAD_CURSOR', err.message)
        throw err
      }
    },
  )

  app.get<{ Params: { id: number } }>(
    '/v1/recordings/:id',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary: 'One recording: metadata, hashes, its ledger events',
        params: idParams,
        response: {
          200: { type: 'object', additionalProperties: true, properties: { recording: recordingSchema, events: { type: 'array', items: eventSchema } } },
          '4xx': errorSchema,
        },
      },
    },
    async (req) => {
      const r = visibleRecording(deps, req, req.params.id)
      const d = decide(deps.db, r, deps.policy)
      return {
        recording: r,
        media: getMediaInfo(deps.db, r.id) ?? null,
        derivatives: derivativesOf(deps.db, r.id).map(({ id, kind, sha256, size, mimeType, createdAt }) => ({ id, kind, sha256, size, mimeType, createdAt })),
        retention: {
          deadline: d.deadline === 'indefinite' ? 'indefinite' : d.deadline.toISOString(),
          rule: d.rule,
          ref: d.ref,
          holds: holdsOf(deps.db, r.id, true),
          cases: casesOf(deps.db, r.id),
        },
        events: eventsFor(deps.db, `recording:${r.id}`),
      }
    },
  )

  app.get<{ Params: { id: number } }>(
    '/v1/recordings/:id/events',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary: "A recording's ledger events",
        params: idParams,
        response: { 200: { type: 'object', properties: { events: { type: 'array', items: eventSchema } } }, '4xx': errorSchema },
      },
    },
    async (req) => {
      const r = visibleRecording(deps, req, req.params.id)
      return { events: eventsFor(deps.db, `recording:${r.id}`) }
    },
  )

  app.get<{ Params: { id: number }; Querystring: { reason?: string } }>(
    '/v1/recordings/:id/original',
    {
      config: { right: 'media:read' },
      schema: {
        summary: 'Stream the original (HTTP Range); requires a reason, and every read is written to the ledger',
        params: idParams,
        querystring: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 500 } } },
        response: { '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      const r = visibleRecording(deps, req, req.params.id)
      const reason = req.query.reason?.trim()
      if (!reason || reason.length < 4)
        throw new ApiError(400, 'REASON_REQUIRED', 'reading an original needs ?reason= (at least 4 characters): recordings are not given out without cause')
      if (r.status !== 'stored') throw new ApiError(410, 'PURGED', `recording ${r.id} was purged under its retention rule; its ledger events remain`)
      const path = await deps.openObject(r.sha256)
      return sendObject(req, reply, {
        path,
        size: r.size,
        sha256: r.sha256,
        fileName: r.sourcePath.slice(r.sourcePath.lastIndexOf('/') + 1),
        beforeSend: (s) => {
          if (req.method !== 'HEAD') recordView(deps, req, r, 'original', r.sha256, s.range, reason)
        },
      })
    },
  )

  // The browser-playable proxy and the thumbnail: no reason needed, every read still recorded.
  for (const [route, kinds] of [
    ['proxy', ['proxy', 'audio-proxy']],
    ['thumbnail', ['thumbnail']],
  ] as const) {
    app.get<{ Params: { id: number }; Querystring: { reason?: string } }>(
      `/v1/recordings/:id/${route}`,
      {
        config: { right: 'media:read' },
        schema: {
          summary:
            route === 'proxy'
              ? 'Stream the H.264/AAC (or AAC) proxy with HTTP Range; every read is written to the ledger'
              : 'The JPEG thumbnail; every read is written to the ledger',
          params: idParams,
          querystring: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 500 } } },
          response: { '4xx': errorSchema },
        },
      },
      async (req, reply) => {
        const r = visibleRecording(deps, req, req.params.id)
        if (r.status !== 'stored') throw new ApiError(410, 'PURGED', `recording ${r.id} was purged under its retention rule`)
        const d = kinds.map((k) => getDerivative(deps.db, r.id, k)).find((x) => x !== undefined)
        if (!d) throw new ApiError(404, 'NO_DERIVATIVE', `recording ${r.id} has no ${route} yet (bodyvault media status shows the queue)`)
        const path = await deps.openObject(d.sha256)
        const base = r.sourcePath.slice(r.sourcePath.lastIndexOf('/') + 1).replace(/\.[^.]*$/, '')
        const ext = d.kind === 'thumbnail' ? '.jpg' : d.kind === 'audio-proxy' ? '.m4a' : '.mp4'
        return sendObject(req, reply, {
          path,
          size: d.size,
          sha256: d.sha256,
          fileName: `${base}.${route}${ext}`,
          contentType: d.mimeType,
          beforeSend: (s) => {
            if (req.method !== 'HEAD') recordView(deps, req, r, d.kind, d.sha256, s.range, req.query.reason?.trim() || null)
          },
        })
      },
    )
  }
}
