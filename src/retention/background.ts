import type { Db } from '../catalog/db.js'
import type { Logger } from '../common/log.js'
import type { Config } from '../config/schema.js'
import { offloadDeps } from '../offload/setup.js'
import type { S3Store } from '../offload/s3.js'
import { startOffloadWorker } from '../offload/worker.js'
import type { Vault } from '../vault/store.js'
import { purgeSchedule, retentionPolicy } from './config.js'
import { startNightlyPurge } from './schedule.js'

/**
 * What `bodyvault start` runs beside docking and media: the nightly purge
 * (retention.purge, default 02:30 station time) and, when an offload section
 * is configured, the S3 offload worker. `s3` is there for readers that must
 * fetch evicted objects back (openObject in src/offload/cache.ts).
 */
export function startBackgroundJobs(st: { cfg: Config; db: Db; vault: Vault; logger: Logger }): { s3: S3Store | null; stop(): Promise<void> } {
  const actor = `station:${st.cfg.station.id}`
  const sched = purgeSchedule(st.cfg)
  const purge = sched.enabled
    ? startNightlyPurge({
        db: st.db,
        vault: st.vault,
        policy: retentionPolicy(st.cfg),
        schedule: sched.schedule,
        timezone: sched.timezone,
        actor,
        logger: st.logger,
      })
    : null
  if (!purge) st.logger.warn({ event: 'retention.disabled' }, 'retention.purge.enabled is false: nothing is ever purged automatically')
  const deps = offloadDeps(st)
  const worker = deps ? startOffloadWorker(deps) : null
  if (deps)
    st.logger.info(
      { event: 'offload.start', bucket: deps.settings.bucket, endpoint: deps.settings.endpoint, prefix: deps.settings.prefix },
      'S3 offload worker started',
    )
  return {
    s3: deps?.s3 ?? null,
    stop: async () => {
      await purge?.stop()
      await worker?.stop()
      deps?.s3.destroy()
    },
  }
}
