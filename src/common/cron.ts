import { schedule as cronSchedule, type ScheduledTask } from 'node-cron'
import { errorMessage } from './errors.js'
import type { Logger } from './log.js'

/** A job the daemon runs on a cron schedule (the nightly purge, the scheduled backup). */
export interface CronJob<R> {
  /** Runs once now, as the schedule would (resolves when done). */
  runNow(): Promise<R | undefined>
  nextRun(): Date | null
  /** Stops the schedule and waits for a run in flight. */
  stop(): Promise<void>
}

export interface CronJobOptions<R> {
  /** node-cron's task name. */
  name: string
  /** A cron expression, read in `timezone`. */
  schedule: string
  timezone: string
  log: Logger
  run: () => Promise<R>
  /** The log event and message when a run fails (it runs again at the next scheduled time). */
  failed: { event: string; message: string }
  /** A run asked for while one is in flight: `join` waits for it; `skip` logs this and returns undefined. */
  whileRunning: 'join' | { event: string; message: string }
  onRun?: (r: R | Error) => void
}

/**
 * One scheduled job, the same way for every job: runs never overlap
 * (node-cron's noOverlap for the schedule, one run in flight for runNow);
 * a failure is logged and handed to onRun, never thrown into the daemon.
 */
export function startCronJob<R>(o: CronJobOptions<R>): CronJob<R> {
  let running: Promise<R | undefined> | null = null
  const once = (): Promise<R | undefined> => {
    if (running) {
      if (o.whileRunning === 'join') return running
      o.log.warn({ event: o.whileRunning.event }, o.whileRunning.message)
      return Promise.resolve(undefined)
    }
    running = (async () => {
      try {
        const r = await o.run()
        o.onRun?.(r)
        return r
      } catch (err) {
        o.log.error({ event: o.failed.event, err: errorMessage(err) }, o.failed.message)
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
    { timezone: o.timezone, noOverlap: true, name: o.name },
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
