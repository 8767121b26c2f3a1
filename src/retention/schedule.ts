import { schedule as cronSchedule, type ScheduledTask } from 'node-cron'
import type { Db } from '../catalog/db.js'
import { errorMessage } from '../common/errors.js'
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
  let running: Promise<PurgeReport | undefined> | null = null
  const once = (): Promise<PurgeReport | undefined> => {
    if (running) {
      log.warn({ event: 'retention.purge-overlap' }, 'a purge is still running: this run is skipped')
      return Promise.resolve(undefined)
    }
    running = (async () => {
      try {
        const r = await runPurge({
          db: o.db,
          vault: o.vault,
          policy: o.policy,
          now: (o.now ?? (() => new Date()))(),
          dryRun: false,
          actor: o.actor,
          logger: o.logger,
        })
        o.onRun?.(r)
        return r
      } catch (err) {
        log.error({ event: 'retention.purge-error', err: errorMessage(err) }, 'nightly purge failed; it runs again at the next scheduled time')
        o.onRun?.(err instanceof Error ? err : new Error(String(err)))
        return undefined
      } finally {
        running = null
      }
    })()
    return running
  }
  const task: ScheduledTask = cronSchedule(
    o.schedule,
    async () => {
      await once()
    },
    { timezone: o.timezone, noOverlap: true, name: 'bodyvault-retention-purge' },
  )
  log.info(
    { event: 'retention.scheduled', schedule: o.schedule, timezone: o.timezone, next: task.getNextRun()?.toISOString() ?? null },
    'nightly purge scheduled',
  )
  return {
    runNow: once,
    nextRun: () => task.getNextRun(),
    stop: async () => {
      await task.stop()
      await task.destroy()
      if (running) await running
    },
  }
}
