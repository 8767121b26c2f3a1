import { EXPORT_STATES } from '../../catalog/exports.js'
import { BodyvaultError } from '../../common/errors.js'
import { recordPackageFailure } from '../../fixity/record.js'
import { actors } from '../../ledger/events.js'
import { decideExport, getExport, listExports, packageApprovedExport, requestExport } from '../../export/approvals.js'
import type { ApiDeps } from '../deps.js'
import { tokenOf } from '../auth.js'
import { type ApiPlugin, id, idParams, ref } from '../schemas.js'
import type { People } from '../sign-in.js'
import { requireStepUp } from '../step-up.js'
import { sendEvidencePackage } from '../stream.js'

/**
 * Export with approval, as HTTP over src/export/approvals.ts: a clerk
 * requests, another supervisor decides, the requester downloads the
 * evidence package.
 */
export const exportRoutes: ApiPlugin<ApiDeps & { people: People }> = async (app, deps) => {
  app.post(
    '/exports',
    {
      config: { right: 'exports:request' },
      schema: {
        summary: 'Request an export (a supervisor other than the requester must approve it)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['recordingIds', 'reason', 'recipient'],
          properties: {
            recordingIds: { type: 'array', minItems: 1, maxItems: 200, items: id },
            reason: ref.reason,
            recipient: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
        response: { 201: ref.export, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const recipient = req.body.recipient.trim()
      if (recipient.length < 1) throw new BodyvaultError('BAD_REQUEST', 'recipient must not be blank')
      return reply.status(201).send(requestExport(deps.db, tokenOf(req), { recordingIds: req.body.recordingIds, reason: req.body.reason.trim(), recipient }))
    },
  )

  app.get(
    '/exports',
    {
      config: { right: 'exports:read' },
      schema: {
        summary: 'Export requests, newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'string', enum: EXPORT_STATES } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: ref.export } } }, '4xx': ref.error },
      },
    },
    async (req) => ({ items: listExports(deps.db, req.query.state) }),
  )

  app.get(
    '/exports/:id',
    {
      config: { right: 'exports:read' },
      schema: { summary: 'One export request', params: idParams, response: { 200: ref.export, '4xx': ref.error } },
    },
    async (req) => getExport(deps.db, req.params.id),
  )

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    app.post(
      `/exports/:id/${verb}`,
      {
        config: { right: 'exports:approve' },
        schema: {
          summary: `${verb === 'approve' ? 'Approve (again, once its downloads are used up)' : 'Reject'} an export request (a supervisor who is not the requesting person)`,
          params: idParams,
          body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: ref.reason } },
          response: { 200: ref.export, '4xx': ref.error },
        },
      },
      async (req) => {
        // Approving is guarded by a fresh second factor (issue 23); rejecting gives nothing out.
        if (decision === 'approved') requireStepUp(req)
        return decideExport(deps.db, tokenOf(req), req.params.id, decision, req.body?.reason?.trim() ?? null, deps.people.settings.exportDownloadsPerApproval)
      },
    )
  }

  app.get(
    '/exports/:id/download',
    {
      config: { right: 'exports:request' },
      schema: {
        summary:
          'The requester downloads an approved export (as many times as its approvals allow) as an offline-verifiable evidence package (zip: originals, manifest, ledger events with inclusion proofs to a signed checkpoint, station key, evidence sheets, VERIFY.md)',
        params: idParams,
        response: { '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const t = tokenOf(req)
      const pkg = await packageApprovedExport(deps, req.params.id, t, req.ip)
      deps.logger.info(
        { event: 'api.exported', exportId: req.params.id, tokenId: t.id, package: pkg.packageId, bytes: pkg.bytes },
        'evidence package downloaded',
      )
      const station = { db: deps.db, logger: deps.logger, actor: actors.station(deps.station.id), now: () => new Date() }
      return sendEvidencePackage(reply, {
        path: pkg.path,
        bytes: pkg.bytes,
        sha256: pkg.sha256,
        blockBytes: pkg.blockBytes,
        blocks: pkg.blocks,
        fileName: `bodyvault-export-${req.params.id}.zip`,
        contentType: 'application/zip',
        onMismatch: (m) => {
          const problem = m.problem === 'short' ? ('size' as const) : ('block' as const)
          const failure = { sha256: pkg.sha256, size: pkg.bytes, problem, block: m.block, blockBytes: pkg.blockBytes, foundSize: null, foundSha256: null }
          recordPackageFailure(station, req.params.id, getExport(deps.db, req.params.id).recordingIds, { ...failure, where: 'export-download' })
          return new BodyvaultError('OBJECT_CORRUPT', `the evidence package changed on disk while it was sent (${m.message}): download it again`)
        },
      })
    },
  )
}
