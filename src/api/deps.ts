import type { Db } from '../catalog/db.js'
import type { Logger } from '../common/log.js'
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
  /** A readable local path of a vault object (fetched back and re-verified first if it was evicted to S3). */
  openObject(sha256: string): Promise<string>
  rateLimitPerMinute?: number
  /** The daemon's station-local status credential (see roles.ts), if any. */
  localSecret?: string
  /** Accounts, sign-in, sessions and the lockout (src/station/ makes one per daemon; else one with the default settings). */
  people?: People
  /** Serve HTTPS with this certificate and key (the daemon, off loopback); HSTS is sent then. */
  https?: { cert: string; key: string }
}
