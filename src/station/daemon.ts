/**
 * What `bodyvault start` runs on an opened station, in the order it starts
 * and the reverse order it stops: docking, the HTTP API and the web front
 * end, the media worker, the nightly retention purge, the S3 offload worker
 * (when configured) and the signed ledger checkpoints.
 */
import { rm } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { buildApi } from '../api/app.js'
import { peopleSettings } from '../api/people-settings.js'
import { listenOn, parseListen, stationRoutes, statusSecretPath, writeStatusSecret } from '../api/server.js'
import { describeCertificate, loadOrMakeCertificate, TLS_DEFAULTS, tlsWanted } from '../api/tls.js'
import { makePeople, recordSignInFailures } from '../api/sign-in.js'
import { stationEventRoutes } from '../api/station-events.js'
import type { StationDaemon, StationDaemonDeps } from '../dock/daemon.js'
import { type CheckpointPolicy, checkpointStation } from '../ledger/checkpoint.js'
import { ledgerHead } from '../ledger/ledger.js'
import { startOffloadWorker } from '../offload/worker.js'
import { purgeSchedule } from '../retention/config.js'
import { startNightlyPurge } from '../retention/schedule.js'
import { webRoutes } from '../web/static.js'
import type { Station } from './station.js'

export interface RunningStation {
  dock: StationDaemon
  server: FastifyInstance
  /** Stops taking work; each ingest finishes or rolls back its current file; then the server, media, jobs and a last checkpoint. */
  stop(): Promise<void>
}

/** Starts every part of the daemon on `st`; the caller keeps the station open until stop() resolved, then closes it. */
export async function startDaemon(st: Station, o: Pick<StationDaemonDeps, 'usb' | 'paths' | 'env' | 'now'>): Promise<RunningStation> {
  const cleaned = await st.vault.cleanStaging()
  const head = ledgerHead(st.db)
  // Docking: USB hotplug and mount discovery -> one ingest session per camera.
  const dock = st.dock(o)
  const jobs = startBackgroundJobs(st)
  // The HTTP API (lookup, playback, exports, /v1/station and its event stream) and the web front end;
  // `bodyvault status` uses the station-local credential.
  let server: FastifyInstance
  // Accounts, sign-in and sessions: one lockout and one window of counted failures per daemon, written every minute it is over.
  const people = makePeople(st.db, peopleSettings(st.cfg.people), st.cfg.station.id)
  const failures = setInterval(() => recordSignInFailures(people), 60_000)
  failures.unref()
  try {
    // HTTPS on any address but loopback (a configured certificate, else the station's own, made at the first start).
    const tls = { ...TLS_DEFAULTS, ...st.cfg.tls }
    const host = parseListen(st.cfg.listen).host
    const https = tlsWanted(tls, host)
      ? await loadOrMakeCertificate({
          settings: tls,
          dataDir: st.cfg.dataDir,
          stationId: st.cfg.station.id,
          hostnames: st.cfg.station.hostnames ?? [],
          listenHost: host,
        })
      : undefined
    if (https) {
      const d = describeCertificate(https.cert)
      st.logger.info({ event: 'tls.ready', certificate: https.path, generated: https.generated, names: d.names, spkiSha256: d.spkiSha256 }, 'serving HTTPS')
    }
    server = await buildApi(
      {
        db: st.db,
        vault: st.vault,
        logger: st.logger,
        station: st.cfg.station,
        policy: st.policy,
        openObject: st.openObject,
        rateLimitPerMinute: st.cfg.api.rateLimitPerMinute,
        localSecret: await writeStatusSecret(st.cfg.dataDir),
        people,
        ...(https ? { https: { cert: https.cert, key: https.key } } : {}),
      },
      async (app) => {
        await stationRoutes(app, { station: dock })
        await stationEventRoutes(app, { station: dock })
      },
    )
    await webRoutes(server) // the web front end (the dock screen at /station), outside /v1
    await listenOn(server, st.cfg.listen)
  } catch (err) {
    clearInterval(failures)
    await jobs.stop()
    throw err
  }
  st.logger.info(
    {
      event: 'station.start',
      station: st.cfg.station.id,
      dataDir: st.cfg.dataDir,
      listen: st.cfg.listen,
      ledgerHead: head.seq,
      stagingCleaned: cleaned.length,
      profiles: [...st.profiles.keys()],
    },
    'bodyvault station ready',
  )
  const media = st.mediaWorker() // media jobs (probe, proxy, thumbnail) run beside docking; stopped before the catalog closes
  media.start()
  const checkpoints = startCheckpoints(st) // signed ledger checkpoints; a last one at stop
  await dock.start()
  return {
    dock,
    server,
    stop: async () => {
      await dock.stop()
      await server.close()
      clearInterval(failures)
      recordSignInFailures(people, 'api', true)
      await rm(statusSecretPath(st.cfg.dataDir), { force: true })
      await media.stop()
      await jobs.stop()
      checkpoints.stop()
    },
  }
}

/**
 * Beside docking and media: the nightly purge (retention.purge, default
 * 02:30 station time) and, when an offload section is configured, the S3
 * offload worker.
 */
export function startBackgroundJobs(st: Station): { stop(): Promise<void> } {
  const sched = purgeSchedule(st.cfg)
  const purge = sched.enabled
    ? startNightlyPurge({
        db: st.db,
        vault: st.vault,
        policy: st.policy,
        schedule: sched.schedule,
        timezone: sched.timezone,
        actor: st.actor,
        logger: st.logger,
      })
    : null
  if (!purge) st.logger.warn({ event: 'retention.disabled' }, 'retention.purge.enabled is false: nothing is ever purged automatically')
  const deps = st.offload()
  const worker = deps ? startOffloadWorker(deps) : null
  if (deps)
    st.logger.info(
      { event: 'offload.start', bucket: deps.settings.bucket, endpoint: deps.settings.endpoint, prefix: deps.settings.prefix },
      'S3 offload worker started',
    )
  return {
    stop: async () => {
      await purge?.stop()
      await worker?.stop()
    },
  }
}

/**
 * Signed ledger checkpoints for the daemon: makes the station key if there
 * is none (first start), signs whenever the `ledger` policy says one is due
 * (checked every `checkMs`, default 30 s or less), and a last one at stop().
 */
export function startCheckpoints(st: Station, o: { checkMs?: number; policy?: CheckpointPolicy } = {}): { stop(): void } {
  const policy = o.policy ?? st.cfg.ledger
  const base = { dataDir: st.cfg.dataDir, stationId: st.cfg.station.id, logger: st.logger }
  checkpointStation(st.db, { ...base, policy })
  const every = o.checkMs ?? Math.max(1000, Math.min(30_000, policy.checkpointMinutes * 60_000))
  const timer = setInterval(() => {
    if (st.db.open) checkpointStation(st.db, { ...base, policy })
  }, every)
  timer.unref()
  return {
    stop: () => {
      clearInterval(timer)
      if (st.db.open) checkpointStation(st.db, base)
    },
  }
}
