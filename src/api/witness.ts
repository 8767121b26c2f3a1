import type { FastifyInstance } from 'fastify'
import { type RestoreRequest, restoreRequestSchema } from '../anchor/protocol.js'
import type { Witness } from '../anchor/witness.js'

/**
 * The witness routes under /v1/witness (src/anchor/protocol.ts says the
 * messages, src/anchor/witness.ts decides): other stations submit their
 * checkpoints here to be co-signed. Open to anyone, as C2SP tlog-witness
 * says (the checkpoint's signature by a configured station key is the only
 * authentication), behind the per-address rate limit. The daemon registers
 * them (buildApi's `register`).
 */
export async function witnessRoutes(app: FastifyInstance, deps: { witness: Witness }): Promise<void> {
  // add-checkpoint bodies are text; take them whatever the client calls them (small: 64 KiB).
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1 << 16 }, (_req, body, done) => done(null, body))
  app.post(
    '/witness/add-checkpoint',
    {
      config: { public: true },
      schema: { summary: 'C2SP tlog-witness add-checkpoint: co-sign a witnessed station checkpoint (text body)', security: [] },
    },
    async (req, reply) => {
      const r = deps.witness.addCheckpoint(typeof req.body === 'string' ? req.body : '')
      return reply.status(r.status).type(r.type).send(r.body)
    },
  )
  app.post<{ Body: RestoreRequest }>(
    '/witness/add-restore',
    {
      config: { public: true },
      schema: { summary: "Co-sign a witnessed station's checkpoint on the branch its restored event started", security: [], body: restoreRequestSchema },
    },
    async (req, reply) => {
      const r = deps.witness.addRestore(req.body)
      return reply.status(r.status).type(r.type).send(r.body)
    },
  )
  app.get<{ Querystring: { origin: string } }>(
    '/witness/checkpoint',
    {
      config: { public: true },
      schema: {
        summary: 'The checkpoint this station co-signed last for a witnessed origin, with its co-signature (text)',
        security: [],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['origin'],
          properties: { origin: { type: 'string', minLength: 1, maxLength: 300 } },
        },
      },
    },
    async (req, reply) => {
      const r = deps.witness.latest(req.query.origin)
      return reply.status(r.status).type(r.type).send(r.body)
    },
  )
}
