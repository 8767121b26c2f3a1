/**
 * What `bodyvault start` runs on an opened station, in the order it starts
 * and the reverse order it stops: the restore check against the checkpoint
 * anchors, docking, the HTTP API (with the witness routes when witnesses
 * are configured) and the web front end, the media worker, the nightly
 * retention purge, the S3 offload worker (when configured), the signed
 * ledger checkpoints and the anchor job that takes them to the bucket and
 * the witnesses.
 */
import { handoverLimitSeconds } from '../retention/config.js'
import { rm } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { startAnchoring } from '../anchor/job.js'
import { checkForRestore } from '../anchor/restore-check.js'
import { gatherOutside } from '../anchor/sources.js'
import { buildApi } from '../api/app.js'
import { stationSigners } from '../ledger/checkpoint-check.js'
import { CLOSE_GRACE_MS, closeApi, listenOn, parseListen, stationFixityRoutes, stationRoutes, statusSecretPath, writeStatusSecret } from '../api/server.js'
import { recordSignInFailures } from '../api/sign-in.js'
import { describeCertificate, loadOrMakeCertificate, TLS_DEFAULTS, tlsWanted } from '../api/tls.js'
import { stationEventRoutes } from '../api/station-events.js'
import { dockRoutes } from '../api/routes/dock.js'
import { witnessRoutes } from '../api/witness.js'
import { startCronJob } from '../common/cron.js'
import { errorMessage } from '../common/errors.js'
import type { StationDaemon, StationDaemonDeps } from '../dock/daemon.js'
import { startFixityJob } from '../fixity/job.js'
import { type CheckpointPolicy, checkpointStation } from '../ledger/checkpoint.js'
import { ledgerHead } from '../ledger/ledger.js'
import { startNightlyBackup } from '../backup/schedule.js'
import { startOffloadWorker } from '../offload/worker.js'
import { purgeSchedule } from '../retention/config.js'
import { startNightlyPurge } from '../retention/schedule.js'
import { webRoutes } from '../web/static.js'
import type { Notifier } from '../notify/notifier.js'
import type { Station } from './station.js'

export interface RunningStation {
  dock: StationDaemon
  server: FastifyInstance
  /** Stops taking work; each ingest finishes or rolls back its current file; then the server, media, jobs and a last checkpoint. */
  stop(): Promise<void>
}

/** Starts every part of the daemon on `st`; the caller keeps the station open until stop() resolved, then closes it. */
export async function startDaemon(st: Station, o: Pick<StationDaemonDeps, 'usb' | 'paths' | 'env' | 'now'>): Promise<RunningStation> {
  // A missing or different station key stops `start` (KEY_MISMATCH) before anything is taken in: nothing would be signed.
  st.key()
  const cleaned = await st.vault.cleanStaging()
  // Before anything is signed: is this catalog older than its checkpoints outside (a restored backup)?
  try {
    await checkForRestore(st.anchors(), { detectedBy: 'first-start', reason: 'at start, checkpoints kept outside the catalog were ahead of it' })
  } catch (err) {
    st.logger.error({ event: 'anchor.restore_check_failed', err: errorMessage(err) }, 'the catalog could not be compared with its checkpoint anchors')
  }
  const head = ledgerHead(st.db)
  const witness = st.witness()
  // Docking: USB hotplug and mount discovery -> one ingest session per camera.
  const dock = st.dock(o)
  const jobs = startBackgroundJobs(st)
  // The HTTP API (lookup, playback, exports, /v1/station and its event stream) and the web front end;
  // `bodyvault status` uses the station-local credential.
  let server: FastifyInstance
  // Accounts, sign-in and sessions: one lockout and one window of counted failures per daemon, written every minute it is over.
  const people = st.people()
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
        openChecked: st.openChecked,
        fixityState: st.fixityState,
        anchorNow: st.anchorNow,
        anchoring: async () => (await gatherOutside({ db: st.db, publicKey: stationSigners(st.db, st.cfg.dataDir), ...st.anchorSources() })).report,
        reserveBytes: st.cfg.ingest.minFreeBytes,
        checkpointNow: () => void st.checkpoint(),
        witnessKeys: st.anchorSources().peers.filter((p) => p.url !== null),
        rateLimitPerMinute: st.cfg.api.rateLimitPerMinute,
        handoverLimitSeconds: handoverLimitSeconds(st.cfg.retention),
        localSecret: await writeStatusSecret(st.cfg.dataDir),
        people,
        ...(https ? { https: { cert: https.cert, key: https.key } } : {}),
      },
      async (app) => {
        await stationRoutes(app, { station: dock })
        await stationFixityRoutes(app, { state: st.fixityState })
        await stationEventRoutes(app, { station: dock })
        await dockRoutes(app, {
          people,
          policy: st.policy,
          officerInput: st.cfg.docking.officerInput ?? false,
          idleSeconds: st.cfg.docking.officerIdleSeconds ?? 60,
          categories: st.cfg.retention.categories,
          zone: st.cfg.station.timezone,
          cameras: () => dock.status().cameras,
        })
        if (witness) await witnessRoutes(app, { witness })
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
  const anchoring = startAnchoring(st.anchors()) // checkpoints to the bucket and the witnesses
  const checkpoints = startCheckpoints(st, { onCreated: () => anchoring.kick() }) // signed ledger checkpoints; a last one at stop
  // The rolling fixity check, paused while any camera is copying or being verified.
  const fixity = startFixityJob(st.fixity, { busy: () => dock.status().scheduler.active > 0 })
  await dock.start()
  return {
    dock,
    server,
    stop: async () => {
      await dock.stop()
      const cut = await closeApi(server)
      if (cut > 0)
        st.logger.warn(
          { event: 'api.connections_cut', connections: cut, graceMs: CLOSE_GRACE_MS },
          `stopping: ${cut} connection(s) still sending after ${CLOSE_GRACE_MS / 1000} s were cut (a download is taken up again with a Range request)`,
        )
      clearInterval(failures)
      recordSignInFailures(people, 'api', true)
      await rm(statusSecretPath(st.cfg.dataDir), { force: true })
      await fixity.stop()
      await media.stop()
      await jobs.stop()
      checkpoints.stop()
      await anchoring.stop()
    },
  }
}

/**
 * Beside docking and media: the nightly purge (retention.purge, default
 * 02:30 station time), the scheduled backup (backup.schedule and
 * backup.target, when set) and, when an offload section is configured, the
 * S3 offload worker.
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
  const { schedule, target } = st.cfg.backup
  const backup =
    schedule !== null && target !== null
      ? startNightlyBackup({
          db: st.db,
          dataDir: st.cfg.dataDir,
          target,
          schedule,
          timezone: st.cfg.station.timezone,
          stationId: st.cfg.station.id,
          actor: st.actor,
          chunkBytes: st.cfg.ingest.chunkBytes,
          logger: st.logger,
        })
      : null
  const notices = startNotices(st) // notices by webhook and mail (notify.channels), when any is configured
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
      await backup?.stop()
      await worker?.stop()
      await notices?.stop()
    },
  }
}

/**
 * The notices (src/notify/), when notify.channels names any: every
 * notify.checkSeconds, what goes out at once (fixity failures, low disk,
 * export requests) is queued and the outbox's due attempts are made (so a
 * notice left pending by a stopped daemon goes out after the restart); the
 * daily list (notify.daily) and the weekly one (notify.weekly) on their
 * cron schedules in station time. A daily run missed while the daemon was
 * down is folded into the next one (a list starts where the last ended).
 */
export function startNotices(st: Station): { notifier: Notifier; stop(): Promise<void> } | null {
  const notifier = st.notifier()
  if (!notifier) return null
  const s = notifier.d.settings
  const log = st.logger
  let running: Promise<void> | null = null
  const tick = (): Promise<void> => {
    running ??= (async () => {
      try {
        if (st.db.open) await notifier.checkNow()
        if (st.db.open) await notifier.deliverDue()
      } catch (err) {
        log.error({ event: 'notify.check_failed', err: errorMessage(err) }, 'the notices could not be checked: trying again at the next check')
      } finally {
        running = null
      }
    })()
    return running
  }
  const cron = (name: 'daily' | 'weekly') =>
    startCronJob({
      name: `notify-${name}`,
      schedule: s[name],
      timezone: st.cfg.station.timezone,
      log,
      run: async () => {
        notifier[name]()
        return notifier.deliverDue()
      },
      failed: { event: `notify.${name}_failed`, message: `the ${name} notices failed: they are tried again at the next scheduled time` },
      whileRunning: 'join',
    })
  const daily = cron('daily')
  const weekly = cron('weekly')
  const timer = setInterval(() => void tick(), s.checkSeconds * 1000)
  timer.unref()
  void tick()
  log.info(
    { event: 'notify.start', channels: notifier.d.senders.map((c) => c.id), daily: s.daily, weekly: s.weekly },
    'notices will be sent on the configured channels',
  )
  return {
    notifier,
    stop: async () => {
      clearInterval(timer)
      await daily.stop()
      await weekly.stop()
      await running // a pass in flight ends (a notice it delivers is recorded); what is still pending waits for the next start
      notifier.close()
    },
  }
}

/**
 * Signed ledger checkpoints for the daemon: signs with the station key the
 * ledger names (never makes one) whenever the `ledger` policy says one is due
 * (checked every `checkMs`, default 30 s or less), and a last one at stop().
 */
export function startCheckpoints(st: Station, o: { checkMs?: number; policy?: CheckpointPolicy; onCreated?: () => void } = {}): { stop(): void } {
  const policy = o.policy ?? st.cfg.ledger
  const base = { dataDir: st.cfg.dataDir, stationId: st.cfg.station.id, logger: st.logger }
  const tick = (): void => {
    if (st.db.open && checkpointStation(st.db, { ...base, policy }).created) o.onCreated?.()
  }
  tick()
  const every = o.checkMs ?? Math.max(1000, Math.min(30_000, policy.checkpointMinutes * 60_000))
  const timer = setInterval(tick, every)
  timer.unref()
  return {
    stop: () => {
      clearInterval(timer)
      if (st.db.open) checkpointStation(st.db, base)
    },
  }
}
