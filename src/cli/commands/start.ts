import { rm } from 'node:fs/promises'
import { buildApi } from '../../api/app.js'
import { listenOn, stationRoutes, statusSecretPath, writeStatusSecret } from '../../api/server.js'
import { openObject } from '../../offload/cache.js'
import { retentionPolicy } from '../../retention/config.js'
import { StationDaemon } from '../../dock/daemon.js'
import { realUsbBackend } from '../../dock/usb.js'
import { startCheckpoints } from '../../ledger/checkpoint.js'
import { ledgerHead } from '../../ledger/ledger.js'
import { startBackgroundJobs } from '../../retention/background.js'
import { EXIT, parse, station, type Command, showUsage } from '../common.js'
import { mediaWorkerFor } from './media.js'

const usage = 'start'

async function cmdStart(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  const st = station(values, false)
  const cleaned = await st.vault.cleanStaging()
  const head = ledgerHead(st.db)
  // Docking: USB hotplug and mount discovery -> one ingest session per camera.
  const dock = new StationDaemon({ cfg: st.cfg, db: st.db, vault: st.vault, profiles: st.profiles, logger: st.logger, usb: realUsbBackend() })
  const jobs = startBackgroundJobs(st) // nightly retention purge; S3 offload worker when configured
  // The HTTP API (lookup, playback, exports, /v1/station); `bodyvault status` uses the station-local credential.
  let server: Awaited<ReturnType<typeof buildApi>>
  try {
    server = await buildApi(
      {
        db: st.db,
        vault: st.vault,
        logger: st.logger,
        station: st.cfg.station,
        policy: retentionPolicy(st.cfg),
        openObject: async (sha) => (await openObject({ db: st.db, vault: st.vault, s3: jobs.s3, logger: st.logger }, sha)).path,
        rateLimitPerMinute: st.cfg.api.rateLimitPerMinute,
        localSecret: await writeStatusSecret(st.cfg.dataDir),
      },
      (app) => stationRoutes(app, { station: dock }),
    )
    await listenOn(server, st.cfg.listen)
  } catch (err) {
    await jobs.stop()
    st.close()
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
  const media = mediaWorkerFor(st) // media jobs (probe, proxy, thumbnail) run beside docking; stopped before the catalog closes
  media.start()
  const checkpoints = startCheckpoints({ db: st.db, dataDir: st.cfg.dataDir, stationId: st.cfg.station.id, logger: st.logger, policy: st.cfg.ledger }) // signed ledger checkpoints; a last one at stop
  const stopped = new Promise<void>((done) => {
    const stop = (sig: string): void => {
      st.logger.info({ event: 'station.stop', signal: sig }, 'bodyvault station stopping')
      done()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  await dock.start()
  await stopped
  // Stop taking work; each ingest finishes or rolls back its current file; then the server, media and catalog.
  await dock.stop()
  await server.close()
  await rm(statusSecretPath(st.cfg.dataDir), { force: true })
  await media.stop()
  await jobs.stop()
  checkpoints.stop()
  st.close()
  return EXIT.ok
}

export const startCommand: Command = { name: 'start', usage, run: cmdStart }
