import type { FastifyReply } from 'fastify'
import { custodyReport } from '../../report/custody.js'
import { custodyHtml } from '../../report/html.js'
import { custodyPdf } from '../../report/pdf.js'
import type { ApiDeps } from '../deps.js'
import { type ApiPlugin, ref } from '../schemas.js'

function send(reply: FastifyReply, type: string, name: string, body: string | Buffer): FastifyReply {
  return reply.type(type).header('content-disposition', `inline; filename="${name}"`).send(body)
}

/**
 * GET /v1/reports/:kind/:id: the custody report (视听资料清单 and chain of
 * custody) of a recording, a case or an export request, as PDF (default) or
 * HTML, in Chinese (default) or English. Auditors and clerks read it: it
 * holds hashes and the trail, never footage.
 */
export const reportRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  app.get(
    '/reports/:kind/:id',
    {
      config: { right: 'cases:read' },
      schema: {
        summary: 'Custody report (视听资料清单, chain of custody, checkpoint, how to verify) of a recording, a case or an export: PDF or HTML',
        params: {
          type: 'object',
          required: ['kind', 'id'],
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: ['recording', 'case', 'export'] }, id: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { lang: { type: 'string', enum: ['zh', 'en'], default: 'zh' }, format: { type: 'string', enum: ['pdf', 'html'], default: 'pdf' } },
        },
        response: { '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const r = custodyReport(deps.db, { kind: req.params.kind, ref: req.params.id, lang: req.query.lang ?? 'zh', station: deps.station, now: new Date() })
      const name = `custody-${req.params.kind}-${req.params.id.replace(/[^A-Za-z0-9._-]/g, '_')}`
      if (req.query.format === 'html') return send(reply, 'text/html; charset=utf-8', `${name}.html`, custodyHtml(r))
      return send(reply, 'application/pdf', `${name}.pdf`, await custodyPdf(r))
    },
  )
}
