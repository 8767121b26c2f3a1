import type { Db } from '../catalog/db.js'
import type { Logger } from '../common/log.js'
import type { StationKey } from '../ledger/keys.js'
import type { S3Store } from '../offload/s3.js'
import type { AnchorLedgerSettings, WitnessPeer } from './settings.js'

/** What the anchors work with (src/station/ builds it): the catalog, the key, the bucket when offload is configured, the witnesses. */
export interface AnchorDeps {
  db: Db
  /** The station key (made on first use). */
  key(): StationKey
  /** The Object Lock bucket and this station's prefix in it, or null when offload is not configured. */
  bucket: { s3: S3Store; prefix: string; createBucket: boolean } | null
  /** The configured witnesses (those with a URL are asked to co-sign). */
  peers: WitnessPeer[]
  settings: AnchorLedgerSettings
  logger: Logger
  now?: () => Date
}

/** The anchor_progress target of the bucket (its name and prefix: another bucket starts again) and of a witness. */
export const targets = {
  bucket: (b: { s3: S3Store; prefix: string }): string => `bucket:${b.s3.bucket}/${b.prefix}`,
  witness: (name: string): string => `witness:${name}`,
}

/** The next try after `attempts` failures: anchorSeconds doubled each time, at most an hour. */
export function retryAt(now: Date, attempts: number, anchorSeconds: number): Date {
  return new Date(now.getTime() + Math.min(3600, anchorSeconds * 2 ** Math.min(attempts, 16)) * 1000)
}
