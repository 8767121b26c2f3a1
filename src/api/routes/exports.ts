import { createHash } from 'node:crypto'
import { extname } from 'node:path'
import type { FastifyInstance } from 'fastify'
import yazl from 'yazl'
import { getRecording } from '../../catalog/recordings.js'
import { eventsFor } from '../../ledger/ledger.js'
import { tokenOf } from '../auth.js'
import { ApiError, errorSchema } from '../errors.js'
import { decideExport, getExport, listExports, recordDownload, requestExport } from '../exports.js'
import { idParams } from './recordings.js'
import type { ApiDeps } from '../app.js'

const exportSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, recordingIds: { type: 'array', items: { type: 'integer' } }, reason: { type: 'string' }, recipient: { type: 'string' },
    requestedBy: { type: 'integer' }, requestedAt: { type: 'string' }, state: { type: 'string' }, decidedBy: { type: ['integer', 'null'] },
    decidedAt: { type: ['string', 'null'] }, decisionReason: { type: ['string', 'null'] }, downloads: { type: 'integer' },
  },
} as const
const text = (min: number, max: number) => ({ type: 'string', minLength: min, maxLength: max }) as const

export async function exportRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.post<{ Body: { recordingIds: number[]; reason: string; recipient: string } }>('/v1/exports', {
    config: { right: 'exports:request' },
    schema: {
      summary: 'Request an export (a supervisor other than the requester must approve it)',
      body: {
        type: 'object', additionalProperties: false, required: ['recordingIds', 'reason', 'recipient'],
        properties: { recordingIds: { type: 'array', minItems: 1, maxItems: 200, items: { type: 'integer', minimum: 1, maximum: 9007199254740991 } }, reason: text(4, 1000), recipient: text(1, 200) },
      },
      response: { 201: exportSchema, '4xx': errorSchema },
    },
  }, async (req, reply) => {
    const t = tokenOf(req)
    const reason = req.body.reason.trim()
    const recipient = req.body.recipient.trim()
    if (reason.length < 4 || recipient.length < 1) throw new ApiError(400, 'BAD_REQUEST', 'reason (4+ characters) and recipient must not be blank')
    return reply.status(201).send(requestExport(deps.db, t, { recordingIds: req.body.recordingIds, reason, recipient }))
  })

  app.get<{ Querystring: { state?: string } }>('/v1/exports', {
    config: { right: 'exports:read' },
    schema: {
      summary: 'Export requests, newest first',
      querystring: { type: 'object', additionalProperties: false, properties: { state: { enum: ['requested', 'approved', 'rejected'] } } },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: exportSchema } } }, '4xx': errorSchema },
    },
  }, async (req) => ({ items: listExports(deps.db, req.query.state) }))

  app.get<{ Params: { id: number } }>('/v1/exports/:id', {
    config: { right: 'exports:read' },
    schema: { summary: 'One export request', params: idParams, response: { 200: exportSchema, '4xx': errorSchema } },
  }, async (req) => getExport(deps.db, req.params.id))

  for (const [verb, decision] of [['approve', 'approved'], ['reject', 'rejected']] as const) {
    app.post<{ Params: { id: number }; Body: { reason?: string } | undefined }>(`/v1/exports/:id/${verb}`, {
      config: { right: 'exports:approve' },
      schema: {
        summary: `${verb === 'approve' ? 'Approve' : 'Reject'} an export request (supervisor; not the requester)`,
        params: idParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: text(1, 1000) } },
        response: { 200: exportSchema, '4xx': errorSchema },
      },
    }, async (req) => decideExport(deps.db, tokenOf(req), req.params.id, decision, req.body?.reason?.trim() ?? null))
  }

  app.get<{ Params: { id: number } }>('/v1/exports/:id/download', {
    config: { right: 'exports:request' },
    schema: { summary: 'Download an approved export as a zip (originals, manifest.json, ledger events)', params: idParams, response: { '4xx': errorSchema } },
  }, async (req, reply) => {
    const t = tokenOf(req)
    const e = getExport(deps.db, req.params.id)
    if (e.state !== 'approved') throw new ApiError(409, 'NOT_APPROVED', `export request ${e.id} is ${e.state}: only an approved request can be downloaded`)
    const recs = e.recordingIds.map((id) => {
      const r = getRecording(deps.db, id)
      if (!r || r.status !== 'stored') throw new ApiError(409, 'PURGED', `recording ${id} is no longer in the vault`)
      return r
    })
    const files = recs.map((r) => ({ r, name: `originals/${r.sha256}${extname(r.sourcePath).toLowerCase()}` }))
    const manifest = Buffer.from(JSON.stringify({
      format: 'bodyvault-export/1', station: deps.stationId, exportId: e.id, reason: e.reason, recipient: e.recipient,
      requestedBy: e.requestedBy, approvedBy: e.decidedBy, approvedAt: e.decidedAt, createdAt: new Date().toISOString(),
      recordings: files.map(({ r, name }) => ({ ...r, file: name, events: `events/recording-${r.id}.json` })),
    }, null, 2))
    const paths = await Promise.all(files.map(({ r }) => deps.objectPath(r.sha256)))
    recordDownload(deps.db, t, e, req.ip, createHash('sha256').update(manifest).digest('hex'))
    const zip = new yazl.ZipFile()
    zip.addBuffer(manifest, 'manifest.json')
    files.forEach(({ r, name }, i) => {
      zip.addFile(paths[i]!, name, { compress: false })
      zip.addBuffer(Buffer.from(JSON.stringify(eventsFor(deps.db, `recording:${r.id}`), null, 2)), `events/recording-${r.id}.json`)
    })
    zip.end()
    reply.header('content-type', 'application/zip').header('content-disposition', `attachment; filename="bodyvault-export-${e.id}.zip"`)
    return reply.send(zip.outputStream)
  })
}
