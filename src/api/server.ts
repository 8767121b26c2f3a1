import Fastify, { type FastifyInstance } from 'fastify'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { stationStatusSchema, type StationStatus } from '../dock/status.js'

export interface ServerDeps {
  /** The station daemon (or anything that reports its status). */
  station: { status(): StationStatus }
  logger: Logger
}

/** GET /v1/station: the docked cameras and what each is doing. Registered by buildServer; another app can register it too. */
export async function stationRoutes(app: FastifyInstance, deps: Pick<ServerDeps, 'station'>): Promise<void> {
  app.get('/v1/station', { schema: { summary: 'Docked cameras: state, progress, rate, ETA, clock drift, last error', response: { 200: stationStatusSchema } } }, async () => deps.station.status())
}

/**
 * The daemon's HTTP server: a small fastify 5 factory with /healthz and
 * /v1/station (the lookup API is added to it later). Requests are not
 * logged one by one (status is polled); errors are.
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, return503OnClosing: true })
  const log = deps.logger.child({ component: 'api' })
  app.setErrorHandler((err, req, reply) => {
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500
    if (status >= 500) log.error({ event: 'api.error', url: req.url, err: errorMessage(err) }, 'request failed')
    void reply.code(status).send({ error: { code: status >= 500 ? 'INTERNAL' : 'BAD_REQUEST', message: status >= 500 ? 'internal error: see the station log' : errorMessage(err) } })
  })
  app.get('/healthz', { schema: { response: { 200: { type: 'object', additionalProperties: false, required: ['ok'], properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }))
  await stationRoutes(app, deps)
  return app
}

/** Splits "host:port" ("[::1]:8080" for IPv6). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':')
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(listen.slice(i + 1)) }
}

/** Listens on the configured address; a taken or unusable address says what to do. */
export async function listenOn(app: FastifyInstance, listen: string): Promise<string> {
  const { host, port } = parseListen(listen)
  try {
    return await app.listen({ host, port })
  } catch (err) {
    const code = errnoCode(err)
    const why = code === 'EADDRINUSE' ? 'the address is in use (is another bodyvault running?)' : code === 'EADDRNOTAVAIL' ? 'this host has no such address' : errorMessage(err)
    throw new BodyvaultError('LISTEN', `cannot listen on ${listen}: ${why}; set listen in the config or BODYVAULT_LISTEN`, 3, { cause: err })
  }
}
