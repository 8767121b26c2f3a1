import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import type { Config } from '../config/schema.js'
import { retentionPolicy } from '../retention/config.js'
import type { Vault } from '../vault/store.js'
import { offloadSettings } from './config.js'
import { S3Store } from './s3.js'
import type { OffloadDeps } from './worker.js'

/** The offload worker's dependencies from an opened station, or null when offload is not configured. */
export function offloadDeps(st: { cfg: Config; db: Db; vault: Vault; logger: Logger }, env: NodeJS.ProcessEnv = process.env): OffloadDeps | null {
  const settings = offloadSettings(st.cfg, env)
  if (!settings) return null
  return { db: st.db, vault: st.vault, s3: new S3Store(settings), settings, policy: retentionPolicy(st.cfg), stationId: st.cfg.station.id, logger: st.logger }
}

export function requireOffload(st: { cfg: Config; db: Db; vault: Vault; logger: Logger }): OffloadDeps {
  const d = offloadDeps(st)
  if (!d)
    throw new BodyvaultError(
      'OFFLOAD_DISABLED',
      'offload is not configured: add an "offload" section with at least "bucket" (and "endpoint" for a non-AWS server) to the config, and set BODYVAULT_S3_ACCESS_KEY / BODYVAULT_S3_SECRET_KEY',
      2,
    )
  return d
}
