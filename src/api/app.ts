import fastifyRateLimit from '@fastify/rate-limit'
import fastifySwagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyTypeProviderDefault } from 'fastify'
import { isReason } from '../common/reason.js'
import { installAuth, rateKey } from './auth.js'
import type { ApiDeps } from './deps.js'
import { clientErrorHandler, installErrorHandling, sendError } from './errors.js'
import { Metrics } from './metrics.js'
import { strictNumbers } from './params.js'
import { PEOPLE_DEFAULTS } from './people-settings.js'
import { makePeople } from './sign-in.js'
import { caseRoutes } from './routes/cases.js'
import { flagRoutes } from './routes/flags.js'
import { reviewRoutes } from './routes/reviews.js'
import { reportRoutes } from './routes/reports.js'
import { complianceStatsRoutes } from './routes/compliance-stats.js'
import { auditRoutes } from './routes/audit.js'
import { dashboardRoutes } from './routes/dashboard.js'
import { exportRoutes } from './routes/exports.js'
import { sessionRoutes } from './routes/session.js'
import { securityRoutes } from './routes/security.js'
import { userRoutes } from './routes/users.js'
import { recordingRoutes } from './routes/recordings.js'
import { registryRoutes } from './routes/registry.js'
import { statsRoutes } from './routes/stats.js'
import { clerkRoutes } from './routes/clerks.js'
import { type ApiTypeProvider, ref, SHARED } from './schemas.js'

export type { ApiDeps }

/** The route groups under /v1, each a fastify plugin with the API's type provider. */
const V1 = [
  recordingRoutes,
  caseRoutes,
  flagRoutes,
  reportRoutes,
  exportRoutes,
  statsRoutes,
  complianceStatsRoutes,
  reviewRoutes,
  registryRoutes,
  sessionRoutes,
  userRoutes,
  auditRoutes,
  dashboardRoutes,
  clerkRoutes,
  securityRoutes,
] as const

/**
 * The HTTP API: fastify 5, JSON schemas on every route (shared ones by
 * $ref, TypeScript types from them), the route groups as plugins under
 * /v1, OpenAPI at /docs/json, bearer tokens with roles on everything but
 * /healthz, a rate limit per token (per address without one), Prometheus
 * metrics at /metrics, errors as `{ error: { code, message } }` with codes
 * from the catalogue. `register` adds more routes under /v1 (the daemon's
 * /v1/station).
 */
export async function buildApi(deps: ApiDeps, register?: (v1: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key, minVersion: 'TLSv1.2' as const } } : {}),
    logger: false,
    bodyLimit: 1 << 20,
    routerOptions: { maxParamLength: 200 },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false },
      plugins: [(ajv) => ajv.addFormat('reason', { type: 'string', validate: isReason })],
    },
    exposeHeadRoutes: true,
    return503OnClosing: true,
    // Errors the router raises before any route runs (a URL that does not decode).
    frameworkErrors: (err, _req, reply) => void sendError(reply as FastifyReply, 400, 'BAD_REQUEST', err.message),
    clientErrorHandler,
  }).withTypeProvider<ApiTypeProvider>()
  installErrorHandling(app, deps.logger)
  // On TLS, browsers are told to come back only over TLS (a year).
  if (deps.https) app.addHook('onSend', async (_req, reply) => void reply.header('strict-transport-security', 'max-age=31536000'))
  for (const s of SHARED) app.addSchema(s)
  app.addHook('onRoute', strictNumbers)
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'bodyvault', version: '1', description: 'Body-camera evidence vault: lookup API for evidence clerks, supervisors and auditors.' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'bv_session' } },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
  })
  await app.register(fastifyRateLimit, { global: false })
  const people = deps.people ?? makePeople(deps.db, PEOPLE_DEFAULTS, deps.station.id)
  installAuth(app, {
    people,
    db: deps.db,
    localSecret: deps.localSecret,
    limiter: app.createRateLimit({ max: deps.rateLimitPerMinute ?? 1200, timeWindow: 60_000, keyGenerator: rateKey }),
  })
  const metrics = new Metrics(deps.db, deps.fixityState)
  metrics.instrument(app)

  app.get(
    '/healthz',
    { config: { public: true }, schema: { summary: 'Liveness', security: [], response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } },
    async () => ({ ok: true }),
  )
  app.get(
    '/metrics',
    { config: { right: 'metrics:read' }, schema: { summary: 'Prometheus metrics', response: { 200: { type: 'string' }, '4xx': ref.error } } },
    async (_req, reply) => {
      reply.header('content-type', metrics.contentType)
      return metrics.render()
    },
  )
  app.get('/docs/json', { config: { right: 'docs:read' }, schema: { summary: 'This OpenAPI document', hide: true } }, async () => app.swagger())

  for (const plugin of V1) await app.register(plugin, { ...deps, people, prefix: '/v1' })
  if (register) await app.register(async (v1) => register(v1.withTypeProvider<FastifyTypeProviderDefault>()), { prefix: '/v1' })
  return app
}
