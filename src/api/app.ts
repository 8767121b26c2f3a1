import { createHash } from 'node:crypto'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifySwagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { Db } from '../catalog/db.js'
import type { RetentionPolicy } from '../retention/policy.js'
import type { Vault } from '../vault/store.js'
import type { Logger } from '../common/log.js'
import { installAuth } from './auth.js'
import { errorSchema, installErrorHandling } from './errors.js'
import { Metrics } from './metrics.js'
import { caseRoutes } from './routes/cases.js'
import { exportRoutes } from './routes/exports.js'
import { recordingRoutes } from './routes/recordings.js'
import { statsRoutes } from './routes/stats.js'

export interface ApiDeps {
  db: Db
  logger: Logger
  station: { id: string; name: string; timezone: string }
  policy: RetentionPolicy
  vault: Vault
  /** A readable local path of a vault object (fetched back and re-verified first if it was evicted to S3). */
  openObject(sha256: string): Promise<string>
  rateLimitPerMinute?: number
  /** The daemon's station-local status credential (see roles.ts), if any. */
  localSecret?: string
}

/**
 * The HTTP API: fastify 5 under /v1, JSON schemas on every route, OpenAPI
 * at /docs/json, bearer tokens with roles on everything but /healthz, a
 * per-token rate limit, Prometheus metrics at /metrics, errors as
 * `{ error: { code, message } }`.
 */
export async function buildApi(deps: ApiDeps, register?: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 1 << 20,
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    exposeHeadRoutes: true,
    return503OnClosing: true,
    // Errors the router raises before any route runs (a URL that does not decode).
    frameworkErrors: (err, _req, reply) => {
      void (reply as FastifyReply).status(400).send({ error: { code: 'BAD_REQUEST', message: err.message } })
    },
  })
  installErrorHandling(app, deps.logger)
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'bodyvault', version: '1', description: 'Body-camera evidence vault: lookup API for evidence clerks, supervisors and auditors.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  })
  installAuth(app, deps.db, deps.localSecret)
  await app.register(fastifyRateLimit, {
    global: true,
    max: deps.rateLimitPerMinute ?? 1200,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const h = req.headers.authorization
      return typeof h === 'string' ? createHash('sha256').update(h).digest('hex') : `ip:${req.ip}`
    },
    errorResponseBuilder: (_req, ctx) => ({
      statusCode: 429,
      error: { code: 'RATE_LIMITED', message: `more than ${ctx.max} requests a minute for this token: retry in ${Math.ceil(ctx.ttl / 1000)} s` },
    }),
  })
  const metrics = new Metrics(deps.db)
  metrics.instrument(app)

  app.get(
    '/healthz',
    { config: { public: true }, schema: { summary: 'Liveness', security: [], response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } },
    async () => ({ ok: true }),
  )
  app.get(
    '/metrics',
    { config: { right: 'station:read' }, schema: { summary: 'Prometheus metrics', response: { '4xx': errorSchema } } },
    async (_req, reply) => {
      reply.header('content-type', metrics.contentType)
      return metrics.render()
    },
  )
  app.get('/docs/json', { config: { right: 'station:read' }, schema: { summary: 'This OpenAPI document', hide: true } }, async () => app.swagger())

  await recordingRoutes(app, deps)
  await caseRoutes(app, deps)
  await exportRoutes(app, deps)
  await statsRoutes(app, deps)
  if (register) await register(app)
  return app
}
