import type { Db } from '../catalog/db.js'
import type { OffloadOp } from '../catalog/offload-queue.js'
import type { Logger } from '../common/log.js'
import { actors, type StationActor } from '../ledger/events.js'
import type { RetentionPolicy } from '../retention/policy.js'
import type { Vault } from '../vault/store.js'
import type { OffloadSettings } from './config.js'
import type { S3Store } from './s3.js'

/** What every offload job works with: the station's parts and its `offload` settings. */
export interface OffloadDeps {
  db: Db
  vault: Vault
  s3: S3Store
  settings: OffloadSettings
  policy: RetentionPolicy
  stationId: string
  logger: Logger
  /** The clock (tests inject one). Object Lock dates use the server's real clock regardless. */
  now?: () => Date
}

/** What one pass did (`bodyvault offload run` prints it). */
export interface OffloadReport {
  startedAt: string
  durationMs: number
  enqueued: Record<OffloadOp, number>
  done: Record<OffloadOp, number>
  verified: { sha256: string; size: number; versionId: string; multipart: boolean }[]
  evicted: { sha256: string; size: number; reason: string }[]
  failed: { op: OffloadOp; subject: string; attempts: number; error: string; nextAttemptAt: string }[]
  /** Not failures: jobs that must wait (a remote copy still under its COMPLIANCE lock). */
  deferred: { op: OffloadOp; subject: string; until: string; reason: string }[]
  /** Jobs still queued after this pass (waiting for a retry or a lock to expire). */
  pending: number
  /** The pass stopped early: the server is unreachable. */
  outage: boolean
}

/** A job that must wait until `until` (not a failure: no backoff, no error count). */
export class Deferred extends Error {
  constructor(
    readonly until: Date,
    message: string,
  ) {
    super(message)
  }
}

export const zeroCounts = (): Record<OffloadOp, number> => ({ object: 0, lock: 0, delete: 0, manifest: 0, ledger: 0 })

/** The ledger actor of everything offload does: the station itself. */
export const offloadActor = (d: Pick<OffloadDeps, 'stationId'>): StationActor => actors.station(d.stationId)
