/**
 * The composition root: the one place that builds bodyvault's parts from the
 * validated configuration. `bodyvault start`, every CLI command, the tests
 * and the benches open a Station and take what they need from it; each part
 * receives only its own settings section. Overrides (an already loaded
 * config, a logger, the environment) are for tests and benches.
 */
import { basename } from 'node:path'
import { authSettings } from '../api/auth-settings.js'
import { Directory } from '../api/directory-sign-in.js'
import { peopleSettings } from '../api/people-settings.js'
import { secondFactorKeyPath } from '../api/second-factor-key.js'
import type { Clock } from '../api/sessions.js'
import { makePeople, type People } from '../api/sign-in.js'
import { recordingFacts } from '../camera/names.js'
import type { AnchorDeps } from '../anchor/deps.js'
import { anchorOnce } from '../anchor/job.js'
import { witnessPeers } from '../anchor/settings.js'
import { Witness } from '../anchor/witness.js'
import { loadProfiles, type DockingProfile } from '../camera/profile.js'
import { catalogCorrupt, isCatalogDamage, type Db } from '../catalog/db.js'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import { createLogger, type Logger } from '../common/log.js'
import { loadConfigWithSources, type Config } from '../config/load.js'
import { StationDaemon, type StationDaemonDeps } from '../dock/daemon.js'
import { Fixity } from '../fixity/fixity.js'
import { fixityStateCache, type FixityState } from '../fixity/state.js'
import { ingestCamera, type IngestContext, type IngestReport, type IngestSessionOptions } from '../ingest/session.js'
import { budgetSlots, IngestBuffers } from '../ingest/buffers.js'
import { checkpointStation } from '../ledger/checkpoint.js'
import { actors } from '../ledger/events.js'
import { signingKey } from '../ledger/key-chain.js'
import { stationKeyName, type StationKey } from '../ledger/keys.js'
import { queueMediaJobs } from '../catalog/media-jobs.js'
import { jobsFor, ORIGINAL_CHECK_HOLDS_MS } from '../media/policy.js'
import { MediaWorker, type MediaWorkerOptions } from '../media/worker.js'
import { makeSender } from '../notify/channels.js'
import { Notifier } from '../notify/notifier.js'
import { notifySettings } from '../notify/settings.js'
import { offloadSettings } from '../offload/config.js'
import { openObject } from '../offload/cache.js'
import { S3Store } from '../offload/s3.js'
import type { OffloadDeps } from '../offload/context.js'
import { attributeRecording } from '../registry/attribute.js'
import { reconcileSession } from '../registry/reconcile.js'
import { handoverLimitSeconds, retentionPolicy } from '../retention/config.js'
import type { RetentionPolicy } from '../retention/policy.js'
import { Vault } from '../vault/store.js'
import { prepareDataDir } from './data-dir.js'
import { lockDataDir } from './lock.js'
import { snapshotBeforeMigration } from './snapshot.js'
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
  /** May a new vault be made at the data dir (default true)? Commands that only read pass false: no vault there is DATA_DIR_MISSING. */
  create?: boolean
  /** As root, become the data dir's owner before touching it (the CLI; default false). */
  switchUser?: boolean
  /** Take the one-daemon-per-vault lock before touching the data dir (`bodyvault start`). */
  daemon?: boolean
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
  /** A vault object's local path, fetched back from the bucket first if it was evicted (hashed on the way, a `fetched-back` event). */
  openObject(sha256: string): Promise<string>
  /** Verified serving, repair and the rolling check, on this station's `fixity` settings (one per station: it shares repairs in flight). */
  fixity: Fixity
  /** A vault object to serve, checked block by block (fetched back first if it was evicted; repaired or refused if bad). */
  openChecked: Fixity['open']
  /** The fixity job's state (computed at most once a minute: it counts every object; at once after a fixity result is recorded). */
  fixityState(): FixityState
  /** The docking daemon on this station's `docking` settings. */
  dock(o: Pick<StationDaemonDeps, 'usb' | 'paths' | 'env' | 'now'>): StationDaemon
  /** The station key, ready to sign: the key file the ledger's chain of keys names, else KEY_MISMATCH (never makes one). */
  key(): StationKey
  /** Signs a ledger checkpoint now (never makes a key); errors are logged and returned, never thrown. */
  checkpoint(): ReturnType<typeof checkpointStation>
  /** What the checkpoint anchors work with: the key, the bucket (when offload is configured), the configured witnesses. */
  anchors(): AnchorDeps
  /** This station as a witness of the stations in `witnesses`, or null when none is configured. */
  witness(): Witness | null
  /** One anchor pass now (bucket and witnesses), for a checkpoint that is about to leave the station (an export). Never throws. */
  anchorNow(): Promise<void>
  /** Accounts, sign-in, sessions, second factors and the directory (auth.ldap), from the `people` and `auth` sections: one per daemon or command. */
  people(now?: Clock): People
  /** Where `verify` and `doctor` look for this station's checkpoints outside the catalog. */
  anchorSources(): { origin: string; bucket: AnchorDeps['bucket']; peers: AnchorDeps['peers']; timeoutMs: number }
  /** The notifier on the `notify` section's channels (their secrets read now), or null when none is configured; the caller closes it. */
  notifier(): Notifier | null
  close(): void
}

export function openStation(opts: StationOptions = {}): Station {
  const loaded = opts.config
    ? { config: opts.config, sources: { file: null, dataDirFrom: 'the given configuration' } }
    : loadConfigWithSources({ file: opts.configFile, ...(opts.env ? { env: opts.env } : {}) })
  const cfg = loaded.config
  const logger = opts.logger ?? createLogger({ level: opts.logLevel ?? cfg.log.level })
  const profiles = opts.profiles ?? loadProfiles(cfg.docking.profilesDir)
  // Which vault, as whom, and (for the daemon) alone: settled before anything in the data dir is touched.
  prepareDataDir(cfg.dataDir, { create: opts.create ?? true, switchUser: opts.switchUser ?? false, from: loaded.sources.dataDirFrom })
  const lock = opts.daemon ? lockDataDir(cfg.dataDir, cfg.listen) : null
  const vault = new Vault(cfg.dataDir)
  const actor = actors.station(cfg.station.id)
  let db: Db
  try {
    vault.ensureLayout()
    snapshotBeforeMigration(cfg.dataDir, vault.catalogPath, logger)
    // The vault knows itself: a missing, emptied, substituted or damaged catalog is refused here, for every command (./vault-identity.ts).
    db = openVault({
      vault,
      stationId: cfg.station.id,
      actor,
      logger,
      ...(opts.rebuildCatalog ? { rebuild: true } : {}),
      ...(opts.checkIntegrity ? { integrity: true } : {}),
    })
  } catch (err) {
    lock?.release()
    // A damaged file met before openVault (the snapshot before a migration reads it): the same way out.
    throw isCatalogDamage(err) ? catalogCorrupt(vault.catalogPath, errorMessage(err), err) : err
  }
  const policy = retentionPolicy(cfg)
  // The station's media workers, poked once the ingest transaction that queued their jobs has committed (not at their next poll).
  const mediaWorkers = new Set<MediaWorker>()
  let pokeScheduled = false
  const pokeMediaWorkers = (): void => {
    if (pokeScheduled) return
    pokeScheduled = true
    setImmediate(() => {
      pokeScheduled = false
      for (const w of mediaWorkers) w.poke()
    })
  }
  const ingestContext: IngestContext = {
    db,
    vault,
    stationId: cfg.station.id,
    actor,
    settings: cfg.ingest,
    // One budget of read buffers for every camera docked at once (ingest.bufferBytes): many cameras share it, one keeps its four slots.
    buffers: new IngestBuffers(budgetSlots(cfg.ingest.bufferBytes, cfg.ingest.chunkBytes)),
    logger,
    profiles: [...profiles.values()],
    // Every new recording gets its media jobs in its own ingest transaction.
    // The transaction runs synchronously: the poke runs after it committed (a rollback only wakes a worker to find nothing).
    onRecorded: (tx, r) => {
      queueMediaJobs(tx, r.id, jobsFor(r.kind), r.at)
      pokeMediaWorkers()
    },
    // The registry names each new recording's officer (camera first, else the device's carrier) and its unit.
    resolveOfficer: (tx, r) => attributeRecording(tx, actor, r),
    // After each docking: counter gaps and repeats, late and future-dated recordings, as findings.
    onSessionEnded: (report) => {
      const ids = reconcileSession(
        db,
        actor,
        {
          sessionId: report.sessionId,
          listedAt: report.listedAt,
          // A file that failed is still on the camera: its number is no gap.
          failedCounters: report.failed.flatMap((f) => {
            const p = profiles.get(report.profileId)
            const n = p ? recordingFacts(basename(f.sourcePath), 0, p).counter : null
            return n === null ? [] : [n]
          }),
        },
        { clockToleranceSec: cfg.docking.clockDriftToleranceSec, now: new Date() },
      )
      if (ids.length) logger.warn({ event: 'registry.reconciliation', sessionId: report.sessionId, findings: ids }, 'reconciliation findings raised')
    },
  }
  let offload: OffloadDeps | null | undefined
  const fixity = new Fixity({
    db,
    vault,
    logger,
    stationId: cfg.station.id,
    actor,
    settings: cfg.fixity,
    offload: () => st.offload(),
    chunkBytes: cfg.ingest.chunkBytes,
  })
  // A bad witness vkey is a configuration error at start, like any other.
  const peers = witnessPeers(cfg.witnesses, stationKeyName(cfg.station.id))
  // Never makes a key over an existing vault: the key file the chain of keys names, else KEY_MISMATCH.
  const key = (): StationKey => signingKey(db, cfg.dataDir, cfg.station.id)
  let anchors: AnchorDeps | undefined
  // A bad auth section (plain ldap:// without StartTLS, a missing CA file) is a configuration error at start, like any other.
  const auth = authSettings(cfg.auth)
  let directory: Directory | undefined
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
    mediaWorker: (o = {}) => {
      const w = new MediaWorker({
        db,
        vault,
        settings: cfg.media,
        profiles,
        stationTimezone: cfg.station.timezone,
        actor,
        logger,
        chunkBytes: cfg.ingest.chunkBytes,
        // An original evicted to S3 (after a rebuild from the bucket, or a small cache) is fetched back for its jobs;
        // one not checked lately (ingest's read-back counts, when it is on) is checked before ffmpeg reads it.
        openOriginal: (rec, signal) =>
          fixity.checkedPath(rec.sha256, rec.size, 'media', {
            freshMs: ORIGINAL_CHECK_HOLDS_MS,
            knownGoodAt: cfg.ingest.readBackVerify ? rec.ingestedAt : null,
            signal,
          }),
        ...o,
      })
      mediaWorkers.add(w)
      return w
    },
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
    openObject: async (sha) => (await openObject({ db, vault, s3: st.offload()?.s3 ?? null, logger, actor }, sha)).path,
    fixity,
    openChecked: (sha, size, where) => fixity.open(sha, size, where),
    fixityState: fixityStateCache(db, cfg.fixity, 60_000),
    dock: (o) => new StationDaemon({ station: cfg.station, docking: cfg.docking, db, vault, profiles, logger, ingest: st.ingest, ...o }),
    key,
    checkpoint: () => checkpointStation(db, { dataDir: cfg.dataDir, stationId: cfg.station.id, logger }),
    anchors: () => {
      if (anchors) return anchors
      const o = st.offload()
      anchors = {
        db,
        key,
        bucket: o ? { s3: o.s3, prefix: o.settings.prefix, createBucket: o.settings.createBucket } : null,
        peers,
        settings: cfg.ledger,
        logger,
      }
      return anchors
    },
    witness: () => (peers.length ? new Witness({ db, key: key(), peers, actor, logger }) : null),
    anchorNow: async () => {
      await anchorOnce(st.anchors(), { force: true })
    },
    people: (now) => {
      if (auth.ldap && !directory) directory = new Directory(auth.ldap)
      return makePeople(db, peopleSettings(cfg.people), cfg.station.id, now, {
        auth,
        keyPath: secondFactorKeyPath(cfg.dataDir),
        issuer: `bodyvault ${cfg.station.name}`,
        ...(directory ? { directory } : {}),
      })
    },
    anchorSources: () => {
      const a = st.anchors()
      return { origin: stationKeyName(cfg.station.id), bucket: a.bucket, peers, timeoutMs: cfg.ledger.witnessTimeoutSeconds * 1000 }
    },
    notifier: () => {
      const settings = notifySettings(cfg.notify)
      if (settings.channels.length === 0) return null
      const env = opts.env ?? process.env
      return new Notifier({
        db,
        station: cfg.station,
        actor,
        logger,
        settings,
        senders: settings.channels.map((c) => makeSender(c, env)),
        policy,
        handoverLimitSeconds: handoverLimitSeconds(cfg.retention),
        freeBytes: () => vault.freeBytes(),
        // Before docking stops for want of space (ingest keeps minFreeBytes in reserve).
        lowDiskBytes: settings.lowDiskBytes ?? 2 * cfg.ingest.minFreeBytes,
      })
    },
    close: () => {
      mediaWorkers.clear()
      if (offload) offload.s3.destroy()
      offload = undefined
      anchors = undefined
      if (db.open) db.close()
      lock?.release()
    },
  }
  return st
}
