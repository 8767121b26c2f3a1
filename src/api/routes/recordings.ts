import { subjects } from '../../ledger/events.js'
import type { FastifyRequest } from 'fastify'
import { getRecording, type Recording } from '../../catalog/recordings.js'
import { BadCursorError, SORTS, searchRecordings } from '../../catalog/search.js'
import { BodyvaultError } from '../../common/errors.js'
import { appendEvent, eventsFor } from '../../ledger/ledger.js'
import { casesOf, holdsOf } from '../../catalog/cases.js'
import { derivativesOf, getDerivative } from '../../catalog/derivatives.js'
import { getMediaInfo } from '../../catalog/media-info.js'
import { decide } from '../../retention/deadlines.js'
import type { ApiDeps } from '../deps.js'
import { actorOf, tokenOf } from '../auth.js'
import { isoInstant } from '../params.js'
import { type ApiPlugin, idParams, instant, ref } from '../schemas.js'
import { getAttribution } from '../../catalog/assignments.js'
import { listFindings } from '../../catalog/findings.js'
import { sendObject } from '../stream.js'

const ident = { type: 'string', minLength: 1, maxLength: 64 } as const

/**
 * The recording a request may see. One answer for "there is none" and
 * "it is not yours" (404 RECORDING_NOT_FOUND), so an officer cannot learn
 * which ids exist by trying them.
 */
export function visibleRecording(deps: ApiDeps, req: FastifyRequest, id: number): Recording {
  const r = getRecording(deps.db, id)
  const t = tokenOf(req)
  if (!r || (t.role === 'officer' && r.officerId !== t.officerId)) throw new BodyvaultError('RECORDING_NOT_FOUND', `no recording ${id}`)
  return r
}

/** The footage of a recording can be read: it was not purged (410 RECORDING_PURGED, as everywhere). */
export function requireStored(r: Recording): void {
  if (r.status !== 'stored') throw new BodyvaultError('RECORDING_PURGED', `recording ${r.id} was purged under its retention rule; its ledger events remain`)
}

/**
 * Writes the access record for a read of footage: who (token and role),
 * why, from where, which bytes (or, for a GPS track, which positions: the
 * SHA-256 of the track its probe stored). Appended before any byte is sent.
 */
export function recordView(deps: ApiDeps, req: FastifyRequest, r: Recording, what: string, sha256: string, range: string, reason: string | null): void {
  const t = tokenOf(req)
  appendEvent(deps.db, {
    type: 'viewed',
    actor: actorOf(req),
    subject: subjects.recording(r.id),
    payload: { recordingId: r.id, what, sha256, tokenId: t.id, role: t.role, reason, client: req.ip, range },
  })
  deps.logger.info({ event: 'api.viewed', recordingId: r.id, what, tokenId: t.id, role: t.role, range }, 'footage read')
}

const fileName = (r: Recording): string => r.sourcePath.slice(r.sourcePath.lastIndexOf('/') + 1)

/** Search, one recording, its events, and its footage (original, proxy, thumbnail), every read of footage in the ledger. */
export const recordingRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  app.get(
    '/recordings',
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
            kind: { type: 'string', enum: ['video', 'audio', 'photo', 'sidecar'] },
            from: instant,
            to: instant,
            q: { type: 'string', minLength: 1, maxLength: 200, description: 'words of the original file name, in order, the last one by its start' },
            sort: { type: 'string', enum: SORTS, default: '-recordedAt' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            cursor: { type: 'string', maxLength: 512 },
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: ref.recording }, nextCursor: { type: ['string', 'null'] } } },
          '4xx': ref.error,
        },
      },
    },
    async (req) => {
      const q = req.query
      const t = tokenOf(req)
      if (t.role === 'officer' && q.officer !== undefined && q.officer !== t.officerId)
        throw new BodyvaultError('FORBIDDEN', 'officers see only their own recordings')
      try {
        return searchRecordings(deps.db, {
          officerId: t.role === 'officer' ? (t.officerId ?? '') : q.officer,
          deviceId: q.device,
          stationId: q.station,
          category: q.category === 'uncategorised' ? null : q.category,
          caseNumber: q.case,
          important: q.important,
          kind: q.kind,
          from: q.from === undefined ? undefined : isoInstant(q.from, 'from'),
          to: q.to === undefined ? undefined : isoInstant(q.to, 'to'),
          text: q.q,
          sort: q.sort,
          limit: q.limit,
          cursor: q.cursor,
        })
      } catch (err) {
        if (err instanceof BadCursorError) throw new BodyvaultError('BAD_CURSOR', err.message)
        throw err
      }
    },
  )

  app.get(
    '/recordings/:id',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary: 'One recording: metadata, hashes, its ledger events',
        params: idParams,
        response: {
          200: { type: 'object', additionalProperties: true, properties: { recording: ref.recording, events: { type: 'array', items: ref.event } } },
          '4xx': ref.error,
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
        // Whose it is and why (file name, camera, assignment, checkout), and what a clerk must still decide about it.
        attribution: getAttribution(deps.db, r.id) ?? null,
        findings: listFindings(deps.db, { recordingId: r.id }),
        events: eventsFor(deps.db, subjects.recording(r.id)),
      }
    },
  )

  app.get(
    '/recordings/:id/events',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary: "A recording's ledger events",
        params: idParams,
        response: { 200: { type: 'object', properties: { events: { type: 'array', items: ref.event } } }, '4xx': ref.error },
      },
    },
    async (req) => ({ events: eventsFor(deps.db, subjects.recording(visibleRecording(deps, req, req.params.id).id)) }),
  )

  app.get(
    '/recordings/:id/original',
    {
      config: { right: 'media:read' },
      schema: {
        summary: 'Stream the original (HTTP Range); requires a reason, and every read is written to the ledger',
        params: idParams,
        querystring: { type: 'object', additionalProperties: false, properties: { reason: ref.reason } },
        response: { '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const r = visibleRecording(deps, req, req.params.id)
      const reason = req.query.reason?.trim()
      if (!reason)
        throw new BodyvaultError(
          'REASON_REQUIRED',
          'reading an original needs ?reason= (at least 4 visible characters): recordings are not given out without cause',
        )
      requireStored(r)
      return sendObject(req, reply, {
        object: await deps.openChecked(r.sha256, r.size),
        fileName: fileName(r),
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
    app.get(
      `/recordings/:id/${route}`,
      {
        config: { right: 'media:read' },
        schema: {
          summary:
            route === 'proxy'
              ? 'Stream the H.264/AAC (or AAC) proxy with HTTP Range; every read is written to the ledger'
              : 'The JPEG thumbnail; every read is written to the ledger',
          params: idParams,
          querystring: { type: 'object', additionalProperties: false, properties: { reason: ref.reason } },
          response: { '4xx': ref.error },
        },
      },
      async (req, reply) => {
        const r = visibleRecording(deps, req, req.params.id)
        requireStored(r)
        const d = kinds.map((k) => getDerivative(deps.db, r.id, k)).find((x) => x !== undefined)
        if (!d) throw new BodyvaultError('NO_DERIVATIVE', `recording ${r.id} has no ${route} yet (bodyvault media status shows the queue)`)
        const ext = d.kind === 'thumbnail' ? '.jpg' : d.kind === 'audio-proxy' ? '.m4a' : '.mp4'
        return sendObject(req, reply, {
          object: await deps.openChecked(d.sha256, d.size),
          fileName: `${fileName(r).replace(/\.[^.]*$/, '')}.${route}${ext}`,
          contentType: d.mimeType,
          beforeSend: (s) => {
            if (req.method !== 'HEAD') recordView(deps, req, r, d.kind, d.sha256, s.range, req.query.reason?.trim() || null)
          },
        })
      },
    )
  }
}
