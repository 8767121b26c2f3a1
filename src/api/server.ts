import { randomBytes } from 'node:crypto'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import { stationStatusSchema, type StationStatus } from '../dock/status.js'
import type { FixityState } from '../fixity/state.js'
import { ref } from './schemas.js'

/**
 * GET /v1/station: the docked cameras and what each is doing. The daemon
 * registers it on the API (buildApi's `register`, called inside the /v1
 * prefix), behind the station:read right: the one route the station-local
 * status credential may read.
 */
export async function stationRoutes(app: FastifyInstance, deps: { station: { status(): StationStatus } }): Promise<void> {
  app.get(
    '/station',
    {
      config: { right: 'station:read' },
      schema: { summary: 'Docked cameras: state, progress, rate, ETA, clock drift, last error', response: { 200: stationStatusSchema, '4xx': ref.error } },
    },
    async () => deps.station.status(),
  )
}

const count = { type: 'integer', minimum: 0 } as const
const instantOrNull = { type: ['string', 'null'] } as const
const fixityStateSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    objects: count,
    remote: count,
    localBytes: count,
    neverChecked: count,
    due: count,
    overdue: count,
    failed: count,
    oldestCheck: instantOrNull,
    dueBefore: { type: 'string' },
    overdueBefore: { type: 'string' },
    cycleDays: count,
    budgetMBps: { type: 'number' },
    lastFullCycle: instantOrNull,
    lastRun: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        startedAt: { type: 'string' },
        endedAt: { type: 'string' },
        trigger: { type: 'string' },
        scope: { type: 'string' },
        objects: count,
        bytes: count,
        failed: count,
        repaired: count,
        remaining: count,
        stopped: { type: 'boolean' },
        eventSeq: { type: ['integer', 'null'] },
      },
    },
    warning: instantOrNull,
  },
} as const

/**
 * GET /v1/station/fixity: the rolling fixity check (objects due, overdue,
 * known bad, since when everything was re-hashed, the last run, a warning),
 * for `bodyvault status`; same right as /v1/station.
 */
export async function stationFixityRoutes(app: FastifyInstance, deps: { state(): FixityState }): Promise<void> {
  app.get(
    '/station/fixity',
    {
      config: { right: 'station:read' },
      schema: {
        summary: 'Rolling fixity check: objects due, overdue and failed, the last full cycle, the last run',
        response: { 200: fixityStateSchema, '4xx': ref.error },
      },
    },
    async () => deps.state(),
  )
}

/** Where the daemon writes its station-local status credential (read by `bodyvault status`). */
export function statusSecretPath(dataDir: string): string {
  return join(dataDir, 'run', 'status.secret')
}

/** A fresh station-local status credential for this daemon run, mode 0600 in a 0700 folder. */
export async function writeStatusSecret(dataDir: string): Promise<string> {
  const secret = `bvl_${randomBytes(32).toString('base64url')}`
  const path = statusSecretPath(dataDir)
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(`${path}.tmp`, secret, { mode: 0o600 })
  await rename(`${path}.tmp`, path)
  return secret
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
    const why =
      code === 'EADDRINUSE'
        ? 'the address is in use (is another bodyvault running?)'
        : code === 'EADDRNOTAVAIL'
          ? 'this host has no such address'
          : errorMessage(err)
    throw new BodyvaultError('LISTEN', `cannot listen on ${listen}: ${why}; set listen in the config or BODYVAULT_LISTEN`, 3, { cause: err })
  }
}

/**
 * How long a stop waits for the requests in flight (an original or an export being downloaded, a proxy being
 * played) before it cuts their connections: a client that stops reading (a paused player, a stalled download)
 * would otherwise hold the stop until it went away, and systemd would SIGKILL the daemon (TimeoutStopSec, 120 s in
 * config/bodyvault.service) before its media worker, jobs and last checkpoint had stopped. A cut download is
 * taken up again with a Range request.
 */
export const CLOSE_GRACE_MS = 10_000

/**
 * Closes the server: no new request (503 while closing), idle connections closed, the requests in flight given
 * `graceMs` to end; then their connections are cut. Returns how many were cut (0: everything ended in time).
 */
export async function closeApi(app: FastifyInstance, graceMs = CLOSE_GRACE_MS): Promise<number> {
  const closing = app.close()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs)
  })
  const cutOff = await Promise.race([closing.then(() => false), late])
  clearTimeout(timer)
  if (!cutOff) return 0
  // Those that went idle meanwhile (a download that ended, kept alive) are not counted as cut.
  app.server.closeIdleConnections()
  const open = await new Promise<number>((resolve) => app.server.getConnections((err, n) => resolve(err ? 0 : n)))
  app.server.closeAllConnections()
  await closing
  return open
}
