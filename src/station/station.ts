/**
 * The composition root: the one place that builds bodyvault's parts from the
 * validated configuration. `bodyvault start`, every CLI command, the tests
 * and the benches open a Station and take what they need from it; each part
 * receives only its own settings section. Overrides (an already loaded
 * config, a logger, the environment) are for tests and benches.
 */
import { loadProfiles, type DockingProfile } from '../camera/profile.js'
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import { createLogger, type Logger } from '../common/log.js'
import { loadConfig, type Config } from '../config/load.js'
import { StationDaemon, type StationDaemonDeps } from '../dock/daemon.js'
import { ingestCamera, type IngestContext, type IngestReport, type IngestSessionOptions } from '../ingest/session.js'
import { checkpointStation } from '../ledger/checkpoint.js'
import { actors } from '../ledger/events.js'
import { signingKey } from '../ledger/key-chain.js'
import type { StationKey } from '../ledger/keys.js'
import { queueMediaJobs } from '../catalog/media-jobs.js'
import { jobsFor } from '../media/policy.js'
import { MediaWorker, type MediaWorkerOptions } from '../media/worker.js'
import { openObject } from '../offload/cache.js'
import { offloadSettings } from '../offload/config.js'
import { S3Store } from '../offload/s3.js'
import type { OffloadDeps } from '../offload/context.js'
import { retentionPolicy } from '../retention/config.js'
import type { RetentionPolicy } from '../retention/policy.js'
import { Vault } from '../vault/store.js'
import { openVault } from './vault-identity.js'

export interface StationOptions {
  /** --config; else BODYVAULT_CONFIG; else the defaults. */
  configFile?: string | undefined
  /** An already loaded configuration (tests, benches) instead of reading one. */
  config?: Config
  logLevel?: string | undefined
  logger?: Logger
  /** Docking profiles already loaded (tests), instead of reading docking.profilesDir. */
  profiles?: Map<string, DockingProfile>
  /** Where S3 credentials and the like are read (default: this process's environment). */
  env?: NodeJS.ProcessEnv
  /** reindex --from-s3 only: an empty catalog is opened as it is (nothing made, nothing refused); the vault is checked when opened again. */
  rebuildCatalog?: boolean
  /** Also run SQLite's page check on the catalog (start, verify, doctor): a damaged file is CATALOG_CORRUPT before anything runs. */
  checkIntegrity?: boolean
}

/** Everything a command, the daemon, a test or a bench needs, opened from the configuration. */
export interface Station {
  cfg: Config
  logger: Logger
  vault: Vault
  db: Db
  profiles: Map<string, DockingProfile>
  /** Retention rules from the `retention` section, derived once. */
  policy: RetentionPolicy
  /** The ledger's actor for what the station does by itself: `station:<id>`. */
  actor: string
  /** What every ingest session shares: the catalog, the vault, the `ingest` settings, the media-job hook. */
  ingestContext: IngestContext
  /** One ingest session over a mounted camera. */
  ingest(session: IngestSessionOptions): Promise<IngestReport>
  /** A media worker (probe, proxy, thumbnail) on this station's `media` settings. */
  mediaWorker(opts?: Pick<MediaWorkerOptions, 'kinds' | 'pollMs'>): MediaWorker
  /** The S3 offload's dependencies, or null when no `offload` section is configured (one S3 client, closed with the station). */
  offload(): OffloadDeps | null
  /** As offload(), but a clear error when offload is not configured. */
  requireOffload(): OffloadDeps
  /** A readable local path of a vault object: fetched back from S3 and re-verified first if it was evicted. */
  openObject(sha256: string): Promise<string>
  /** The docking daemon on this station's `docking` settings. */
  dock(o: Pick<StationDaemonDeps, 'usb' | 'paths' | 'env' | 'now'>): StationDaemon
  /** The station key, ready to sign: the key file the ledger's chain of keys names, else KEY_MISMATCH (never makes one). */
  key(): StationKey
  /** Signs a ledger checkpoint now (never makes a key); errors are logged and returned, never thrown. */
  checkpoint(): ReturnType<typeof checkpointStation>
  close(): void
}

export function openStation(opts: StationOptions = {}): Station {
  const cfg = opts.config ?? loadConfig({ file: opts.configFile, ...(opts.env ? { env: opts.env } : {}) })
  const logger = opts.logger ?? createLogger({ level: opts.logLevel ?? cfg.log.level })
  const profiles = opts.profiles ?? loadProfiles(cfg.docking.profilesDir)
  const vault = new Vault(cfg.dataDir)
  vault.ensureLayout()
  const actor = actors.station(cfg.station.id)
  // The vault knows itself: a missing, emptied, substituted or damaged catalog is refused here, for every command (./vault-identity.ts).
  const db = openVault({
    vault,
    stationId: cfg.station.id,
    actor,
    logger,
    ...(opts.rebuildCatalog ? { rebuild: true } : {}),
    ...(opts.checkIntegrity ? { integrity: true } : {}),
  })
  const policy = retentionPolicy(cfg)
  const ingestContext: IngestContext = {
    db,
    vault,
    stationId: cfg.station.id,
    actor,
    settings: cfg.ingest,
    logger,
    // Every new recording gets its media jobs in its own ingest transaction.
    onRecorded: (tx, r) => queueMediaJobs(tx, r.id, jobsFor(r.kind), r.at),
  }
  let offload: OffloadDeps | null | undefined
  const st: Station = {
    cfg,
    logger,
    vault,
    db,
    profiles,
    policy,
    actor,
    ingestContext,
    ingest: (session) => ingestCamera(ingestContext, session),
    mediaWorker: (o = {}) =>
      new MediaWorker({
        db,
        vault,
        settings: cfg.media,
        profiles,
        stationTimezone: cfg.station.timezone,
        actor,
        logger,
        chunkBytes: cfg.ingest.chunkBytes,
        ...o,
      }),
    offload: () => {
      if (offload !== undefined) return offload
      const settings = offloadSettings(cfg, opts.env ?? process.env)
      offload = settings ? { db, vault, s3: new S3Store(settings), settings, policy, stationId: cfg.station.id, logger } : null
      return offload
    },
    requireOffload: () => {
      const d = st.offload()
      if (!d)
        throw new BodyvaultError(
          'OFFLOAD_DISABLED',
          'offload is not configured: add an "offload" section with at least "bucket" (and "endpoint" for a non-AWS server) to the config, and set BODYVAULT_S3_ACCESS_KEY / BODYVAULT_S3_SECRET_KEY',
          2,
        )
      return d
    },
    openObject: async (sha) => (await openObject({ db, vault, s3: st.offload()?.s3 ?? null, logger }, sha)).path,
    dock: (o) => new StationDaemon({ station: cfg.station, docking: cfg.docking, db, vault, profiles, logger, ingest: st.ingest, ...o }),
    key: () => signingKey(db, cfg.dataDir, cfg.station.id),
    checkpoint: () => checkpointStation(db, { dataDir: cfg.dataDir, stationId: cfg.station.id, logger }),
    close: () => {
      if (offload) offload.s3.destroy()
      offload = undefined
      if (db.open) db.close()
    },
  }
  return st
}
