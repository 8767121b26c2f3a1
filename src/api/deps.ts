import type { AnchoringReport } from '../anchor/sources.js'
import type { Db } from '../catalog/db.js'
import type { Logger } from '../common/log.js'
import type { CheckedObject } from '../fixity/fixity.js'
import type { FixityState } from '../fixity/state.js'
import type { RetentionPolicy } from '../retention/policy.js'
import type { Vault } from '../vault/store.js'
import type { People } from './sign-in.js'

/** What the API takes from the station (src/station/ builds it); each route group receives it as its plugin options. */
export interface ApiDeps {
  db: Db
  logger: Logger
  station: { id: string; name: string; timezone: string }
  policy: RetentionPolicy
  vault: Vault
  /**
   * A vault object ready to be served, every block checked against its
   * recorded SHA-256 as it is read (fetched back first if it was evicted to
   * S3; repaired or refused with OBJECT_CORRUPT / OBJECT_MISSING if bad):
   * the station's Fixity.open (src/fixity/fixity.ts).
   */
  openChecked(sha256: string, size: number, where?: string): Promise<CheckedObject>
  /** The fixity job's state for /metrics (the daemon also serves it at /v1/station/fixity); absent: not reported. */
  fixityState?: () => FixityState
  /** Takes the latest checkpoint to the bucket and the witnesses now (before an evidence package is built). */
  anchorNow?: () => Promise<void>
  /** How far the latest checkpoint got outside the catalog (the daemon: bucket and witnesses asked), for the dashboard; absent: not reported. */
  anchoring?: () => Promise<AnchoringReport>
  /** The free space ingest keeps in reserve (ingest.minFreeBytes), for the dashboard's days left. */
  reserveBytes?: number
  /** The witness stations that co-sign this station's checkpoints (config `witnesses` with a url): their key names and keys, for the proof material. */
  witnessKeys?: { name: string; publicKey: Uint8Array }[]
  /** Signs a checkpoint now when the ledger grew (the station's, which never throws): the proof material of events newer than the latest checkpoint. */
  checkpointNow?: () => void
  rateLimitPerMinute?: number
  /** 及时移交: seconds from a recording's end to its commit (config retention.handoverLimitHours); 24 h when absent. */
  handoverLimitSeconds?: number
  /** The daemon's station-local status credential (see roles.ts), if any. */
  localSecret?: string
  /** Accounts, sign-in, sessions and the lockout (src/station/ makes one per daemon; else one with the default settings). */
  people?: People
  /** Serve HTTPS with this certificate and key (the daemon, off loopback); HSTS is sent then. */
  https?: { cert: string; key: string }
}
