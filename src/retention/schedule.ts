import type { Db } from '../catalog/db.js'
import { startCronJob } from '../common/cron.js'
import type { Logger } from '../common/log.js'
import type { Vault } from '../vault/store.js'
import type { RetentionPolicy } from './policy.js'
import { runPurge, type PurgeReport } from './purge.js'

export interface NightlyPurgeOptions {
  db: Db
  vault: Vault
  policy: RetentionPolicy
  /** Cron expression (config retention.purge.schedule, default "30 2 * * *"). */
  schedule: string
  /** IANA zone the expression is read in (config retention.purge.timezone, default station.timezone). */
  timezone: string
  actor: string
  logger: Logger
  /** The clock (tests inject one). */
  now?: () => Date
  /** Called after each run (tests, the API's status). */
  onRun?: (r: PurgeReport | Error) => void
}

export interface NightlyPurge {
  /** Runs one purge now, as the schedule would (resolves when done; skipped while one is running). */
  runNow(): Promise<PurgeReport | undefined>
  nextRun(): Date | null
  stop(): Promise<void>
}

/**
 * The nightly purge: a thin node-cron adapter over runPurge. Runs never
 * overlap: node-cron's noOverlap inside this process, an in-process flag for
 * runNow, and the catalog lease inside runPurge against any other process.
 */
export function startNightlyPurge(o: NightlyPurgeOptions): NightlyPurge {
  const log = o.logger.child({ job: 'retention-purge' })
  const job = startCronJob({
    name: 'bodyvault-retention-purge',
    schedule: o.schedule,
    timezone: o.timezone,
    log,
    run: () =>
      runPurge({
        db: o.db,
        vault: o.vault,
        policy: o.policy,
        now: (o.now ?? (() => new Date()))(),
        dryRun: false,
        actor: o.actor,
        logger: o.logger,
      }),
    failed: { event: 'retention.purge-error', message: 'nightly purge failed; it runs again at the next scheduled time' },
    whileRunning: { event: 'retention.purge-overlap', message: 'a purge is still running: this run is skipped' },
    ...(o.onRun ? { onRun: o.onRun } : {}),
  })
  log.info({ event: 'retention.scheduled', schedule: o.schedule, timezone: o.timezone, next: job.nextRun()?.toISOString() ?? null }, 'nightly purge scheduled')
  return job
}
