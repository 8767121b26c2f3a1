import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { getRecording } from '../../catalog/recordings.js'
import { buildEvidencePackage } from '../../export/package.js'
import { tokenOf } from '../auth.js'
import { ApiError, errorSchema } from '../errors.js'
import { countDownload, decideExport, getExport, listExports, requestExport } from '../exports.js'
import { idParams } from './recordings.js'
import type { ApiDeps } from '../app.js'

const exportSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    recordingIds: { type: 'array', items: { type: 'integer' } },
    reason: { type: 'string' },
    recipient: { type: 'string' },
    requestedBy: { type: 'integer' },
    requestedAt: { type: 'string' },
    state: { type: 'string' },
    decidedBy: { type: ['integer', 'null'] },
    decidedAt: { type: ['string', 'null'] },
    decisionReason: { type: ['string', 'null'] },
    downloads: { type: 'integer' },
  },
} as const
const text = (min: number, max: number) => ({ type: 'string', minLength: min, maxLength: max }) as const

export async function exportRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.post<{ Body: { recordingIds: number[]; reason: string; recipient: string } }>(
    '/v1/exports',
    {
      config: { right: 'exports:request' },
      schema: {
        summary: 'Request an export (a supervisor other than the requester must approve it)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['recordingIds', 'reason', 'recipient'],
          properties: {
            recordingIds: { type: 'array', minItems: 1, maxItems: 200, items: { type: 'integer', minimum: 1, maximum: 9007199254740991 } },
            reason: text(4, 1000),
            recipient: text(1, 200),
          },
        },
        response: { 201: exportSchema, '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      const t = tokenOf(req)
      const reason = req.body.reason.trim()
      const recipient = req.body.recipient.trim()
      if (reason.length < 4 || recipient.length < 1) throw new ApiError(400, 'BAD_REQUEST', 'reason (4+ characters) and recipient must not be blank')
      return reply.status(201).send(requestExport(deps.db, t, { recordingIds: req.body.recordingIds, reason, recipient }))
    },
  )

  app.get<{ Querystring: { state?: string } }>(
    '/v1/exports',
    {
      config: { right: 'exports:read' },
      schema: {
        summary: 'Export requests, newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { state: { enum: ['requested', 'approved', 'rejected'] } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: exportSchema } } }, '4xx': errorSchema },
      },
    },
    async (req) => ({ items: listExports(deps.db, req.query.state) }),
  )

  app.get<{ Params: { id: number } }>(
    '/v1/exports/:id',
    {
      config: { right: 'exports:read' },
      schema: { summary: 'One export request', params: idParams, response: { 200: exportSchema, '4xx': errorSchema } },
    },
    async (req) => getExport(deps.db, req.params.id),
  )

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    app.post<{ Params: { id: number }; Body: { reason?: string } | undefined }>(
      `/v1/exports/:id/${verb}`,
      {
        config: { right: 'exports:approve' },
        schema: {
          summary: `${verb === 'approve' ? 'Approve' : 'Reject'} an export request (supervisor; not the requester)`,
          params: idParams,
          body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: text(1, 1000) } },
          response: { 200: exportSchema, '4xx': errorSchema },
        },
      },
      async (req) => decideExport(deps.db, tokenOf(req), req.params.id, decision, req.body?.reason?.trim() ?? null),
    )
  }

  app.get<{ Params: { id: number } }>(
    '/v1/exports/:id/download',
    {
      config: { right: 'exports:request' },
      schema: {
        summary:
          'Download an approved export as an offline-verifiable evidence package (zip: originals, manifest, ledger events with inclusion proofs to a signed checkpoint, station key, evidence sheets, VERIFY.md)',
        params: idParams,
        response: { '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      const t = tokenOf(req)
      const e = getExport(deps.db, req.params.id)
      if (e.state !== 'approved') throw new ApiError(409, 'NOT_APPROVED', `export request ${e.id} is ${e.state}: only an approved request can be downloaded`)
      // Evicted originals come back from S3 (verified) before the package is built.
      for (const id of e.recordingIds) {
        const r = getRecording(deps.db, id)
        if (r?.status === 'stored') await deps.openObject(r.sha256)
      }
      // Built in staging under this process's pid, so a crash leaves nothing that outlives the next start.
      const out = join(deps.vault.stagingDir, `${process.pid}-export-${e.id}-${randomBytes(6).toString('hex')}.zip`)
      const pkg = await buildEvidencePackage({
        db: deps.db,
        vault: deps.vault,
        recordingIds: e.recordingIds,
        requestedBy: `token:${e.requestedBy}`,
        approvedBy: `token:${e.decidedBy}`,
        reason: e.reason,
        recipient: e.recipient,
        out,
        station: deps.station,
        actor: `token:${t.id}`,
        exportPayload: { exportId: e.id, tokenId: t.id, role: t.role, client: req.ip },
        logger: deps.logger,
      })
      countDownload(deps.db, e.id)
      deps.logger.info({ event: 'api.exported', exportId: e.id, tokenId: t.id, package: pkg.packageId, bytes: pkg.bytes }, 'evidence package downloaded')
      const stream = createReadStream(pkg.path)
      stream.on('close', () => void rm(pkg.path, { force: true }))
      reply
        .header('content-type', 'application/zip')
        .header('content-length', String(pkg.bytes))
        .header('x-package-sha256', pkg.sha256)
        .header('content-disposition', `attachment; filename="bodyvault-export-${e.id}.zip"`)
      return reply.send(stream)
    },
  )
}
