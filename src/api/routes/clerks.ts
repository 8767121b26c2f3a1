import { createHash } from 'node:crypto'
import { getDerivative } from '../../catalog/derivatives.js'
import { getRecording } from '../../catalog/recordings.js'
import { gpsTrackOf } from '../../catalog/media-info.js'
import { BodyvaultError } from '../../common/errors.js'
import { markersOf } from '../../catalog/markers.js'
import { subjects } from '../../ledger/events.js'
import { eventsFor } from '../../ledger/ledger.js'
import { actorOf, tokenOf } from '../auth.js'
import { can } from '../roles.js'
import type { ApiDeps } from '../deps.js'
import { addMarker } from '../markers.js'
import { proofMaterial } from '../proof.js'
import { type ApiPlugin, id, idParams, ref } from '../schemas.js'
import { recordView, requireStored, visibleRecording } from './recordings.js'

const marker = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    recordingId: { type: 'integer' },
    positionMs: { type: 'integer' },
    note: { type: 'string' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    eventSeq: { type: 'integer' },
  },
} as const

const KINDS = ['video', 'audio', 'photo', 'sidecar'] as const

/**
 * What the clerks' workspace (web/src/clerks/) needs beside search and
 * cases: the choices of the search form, markers on a recording, its GPS
 * track, and the proof material of a recording's events for the browser to
 * check itself.
 */
export const clerkRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  app.get(
    '/search/facets',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary: "The search form's choices: categories and case types (from the retention config), kinds of recording",
        response: {
          200: {
            type: 'object',
            properties: {
              categories: { type: 'array', items: { type: 'string' } },
              caseTypes: { type: 'array', items: { type: 'string' } },
              kinds: { type: 'array', items: { type: 'string' } },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async () => ({ categories: Object.keys(deps.policy.categories), caseTypes: Object.keys(deps.policy.caseTypes), kinds: [...KINDS] }),
  )

  app.get(
    '/search/thumbnails',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary: 'Which of these recordings have a thumbnail (a results page asks before it shows them: no request for one that is not there)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'array', minItems: 1, maxItems: 500, items: id } },
        },
        response: { 200: { type: 'object', properties: { ids: { type: 'array', items: { type: 'integer' } } } }, '4xx': ref.error },
      },
    },
    async (req) => ({
      // Who may not see footage (auditors: not even thumbnails) is told of none: the page then asks for none.
      ids: !tokenOf(req).roles.some((r) => can(r, 'media:read'))
        ? []
        : req.query.id.filter((n) => {
            try {
              return visibleRecording(deps, req, n).status === 'stored' && getDerivative(deps.db, n, 'thumbnail') !== undefined
            } catch {
              return false // not there, or not the asker's to see: no thumbnail either way
            }
          }),
    }),
  )

  app.get(
    '/recordings/:id/markers',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary: "A recording's markers, by position",
        params: idParams,
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: marker } } }, '4xx': ref.error },
      },
    },
    async (req) => ({ items: markersOf(deps.db, visibleRecording(deps, req, req.params.id).id) }),
  )

  app.post(
    '/recordings/:id/markers',
    {
      config: { right: 'recordings:categorize' },
      schema: {
        summary: 'Add a marker (a time in the recording and a note); it is a ledger event',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['positionMs', 'note'],
          properties: { positionMs: { type: 'integer', minimum: 0, maximum: 864_000_000 }, note: { type: 'string', minLength: 1, maxLength: 500 } },
        },
        response: { 201: marker, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const r = visibleRecording(deps, req, req.params.id)
      return reply.status(201).send(addMarker(deps.db, r, { positionMs: req.body.positionMs, note: req.body.note, actor: actorOf(req) }))
    },
  )

  app.get(
    '/recordings/:id/track',
    {
      // Where an officer walked is personal data: read like footage (not for auditors), and every read is in the ledger.
      config: { right: 'media:read' },
      schema: {
        summary:
          "A recording's GPS track, from its recorder's .SRT sidecar: [seconds from the start, latitude, longitude] per point, and their extent; every read is written to the ledger",
        params: idParams,
        querystring: { type: 'object', additionalProperties: false, properties: { reason: ref.reason } },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: {
              recordingId: { type: 'integer' },
              sidecarId: { type: 'integer', description: 'the sidecar recording the positions come from (the recording itself when it is one)' },
              sha256: { type: 'string', description: "SHA-256 of the track as the sidecar's probe stored it (its probed event's gpsTrackSha256)" },
              points: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3, items: { type: 'number' } } },
              extent: {
                type: 'object',
                additionalProperties: false,
                properties: { south: { type: 'number' }, west: { type: 'number' }, north: { type: 'number' }, east: { type: 'number' } },
              },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req, reply) => {
      const r = visibleRecording(deps, req, req.params.id)
      requireStored(r)
      const found = gpsTrackOf(deps.db, r.id)
      const points = found ? (JSON.parse(found.track) as [number, number, number][]) : []
      if (!found || points.length === 0 || getRecording(deps.db, found.sidecarId)?.status !== 'stored')
        throw new BodyvaultError('NO_GPS_TRACK', `recording ${r.id} has no GPS track (no sidecar with positions beside it)`)
      const sha256 = createHash('sha256').update(found.track, 'utf8').digest('hex')
      recordView(deps, req, r, 'gps-track', sha256, 'full', req.query.reason?.trim() || null)
      reply.header('cache-control', 'no-store')
      const extent = { south: 90, west: 180, north: -90, east: -180 }
      for (const [, lat, lon] of points) {
        extent.south = Math.min(extent.south, lat)
        extent.north = Math.max(extent.north, lat)
        extent.west = Math.min(extent.west, lon)
        extent.east = Math.max(extent.east, lon)
      }
      return { recordingId: r.id, sidecarId: found.sidecarId, sha256, points, extent }
    },
  )

  app.get(
    '/recordings/:id/proof',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary:
          "The proof material of a recording's ledger events: each event, its inclusion proof in the latest signed checkpoint (or the latest a witness co-signed that covers them), the checkpoint's signed note, the keys that may have signed it and the witnesses' co-signatures",
        params: idParams,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: {
              checkpoint: {
                type: ['object', 'null'],
                additionalProperties: false,
                properties: { id: { type: 'integer' }, treeSize: { type: 'integer' }, note: { type: 'string' }, createdAt: { type: 'string' } },
              },
              keys: {
                type: 'array',
                items: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' }, publicKey: { type: 'string' } } },
              },
              witnesses: {
                type: 'array',
                description:
                  "the witnesses' co-signatures of the checkpoint (C2SP tlog-cosignature lines) beside the keys the config names; line null: not co-signed (yet)",
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { name: { type: 'string' }, publicKey: { type: ['string', 'null'] }, line: { type: ['string', 'null'] } },
                },
              },
              events: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    event: ref.event,
                    leafIndex: { type: ['integer', 'null'] },
                    proof: { type: ['array', 'null'], items: { type: 'string' } },
                  },
                },
              },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req, reply) => {
      const r = visibleRecording(deps, req, req.params.id)
      reply.header('cache-control', 'no-store')
      return proofMaterial(deps.db, eventsFor(deps.db, subjects.recording(r.id)), deps.checkpointNow, deps.witnessKeys)
    },
  )
}
