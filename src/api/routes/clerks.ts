import { getDerivative } from '../../catalog/derivatives.js'
import { markersOf } from '../../catalog/markers.js'
import { subjects } from '../../ledger/events.js'
import { eventsFor } from '../../ledger/ledger.js'
import { actorOf, tokenOf } from '../auth.js'
import { can } from '../roles.js'
import type { ApiDeps } from '../deps.js'
import { addMarker } from '../markers.js'
import { proofMaterial } from '../proof.js'
import { type ApiPlugin, id, idParams, ref } from '../schemas.js'
import { visibleRecording } from './recordings.js'

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
 * cases: the choices of the search form, markers on a recording, and the
 * proof material of a recording's events for the browser to check itself.
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
    '/recordings/:id/proof',
    {
      config: { right: 'recordings:read' },
      schema: {
        summary:
          "The proof material of a recording's ledger events: each event, its inclusion proof in the latest signed checkpoint, the checkpoint's signed note and the keys that may have signed it",
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
      return proofMaterial(deps.db, eventsFor(deps.db, subjects.recording(r.id)), deps.checkpointNow)
    },
  )
}
