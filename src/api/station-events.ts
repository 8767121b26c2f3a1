import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { StationStatus, StatusChange } from '../dock/status.js'
import { ref } from './schemas.js'

/** What the stream needs of the station daemon (src/dock/daemon.ts). */
export interface StatusSource {
  status(): StationStatus
  onChange(fn: (change: StatusChange) => void): () => void
}

export interface StationEventsOptions {
  /** Progress is sent at most this often per client (a state change is sent at once). */
  progressMs?: number
  /** A comment line this often keeps proxies from closing an idle stream and lets clients notice a dead one. */
  heartbeatMs?: number
}

/**
 * GET /v1/station/events: the station status as server-sent events, for
 * the dock screen. Each `status` event carries the whole of GET
 * /v1/station (a few KB: no diffs to get wrong, and a client that
 * reconnects is current with its first event). A camera's state change is
 * pushed at once; progress at most every `progressMs`. `retry: 1000` asks
 * clients to reconnect a second after the stream drops (a daemon restart).
 * Open streams end when the server closes, so a stop never waits on them.
 */
export async function stationEventRoutes(app: FastifyInstance, deps: { station: StatusSource }, o: StationEventsOptions = {}): Promise<void> {
  const progressMs = o.progressMs ?? 250
  const heartbeatMs = o.heartbeatMs ?? 15_000
  const open = new Set<PassThrough>()
  app.addHook('preClose', async () => {
    for (const s of open) s.end()
  })
  app.get(
    '/station/events',
    {
      config: { right: 'station:read' },
      schema: {
        summary: 'Station status as server-sent events (text/event-stream): one `status` event with the whole of GET /v1/station at each change',
        response: { '4xx': ref.error },
      },
    },
    async (_req, reply) => {
      const out = new PassThrough()
      open.add(out)
      let timer: NodeJS.Timeout | null = null
      let lastSent = 0
      const send = (): void => {
        if (timer) clearTimeout(timer)
        timer = null
        lastSent = Date.now()
        out.write(`event: status\ndata: ${JSON.stringify(deps.station.status())}\n\n`)
      }
      const unsubscribe = deps.station.onChange((change) => {
        if (change === 'state') send()
        else if (!timer) timer = setTimeout(send, Math.max(0, lastSent + progressMs - Date.now()))
      })
      const heartbeat = setInterval(() => out.write(': heartbeat\n\n'), heartbeatMs)
      const cleanup = (): void => {
        unsubscribe()
        clearInterval(heartbeat)
        if (timer) clearTimeout(timer)
        open.delete(out)
        out.end()
      }
      reply.raw.on('close', cleanup)
      out.on('close', cleanup)
      out.write('retry: 1000\n\n')
      send()
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-store')
        .header('x-accel-buffering', 'no')
        .send(out)
    },
  )
}
