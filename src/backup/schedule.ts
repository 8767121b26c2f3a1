import { schedule as cronSchedule, type ScheduledTask } from 'node-cron'
import type { Db } from '../catalog/db.js'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { backupVault, type BackupReport } from './backup.js'

export interface NightlyBackupOptions {
  db: Db
  dataDir: string
  /** backup.target: a folder on another disk (a NAS mount, say). */
  target: string
  /** backup.schedule: a cron expression, read in `timezone`. */
  schedule: string
  timezone: string
  stationId: string
  actor: string
  chunkBytes: number
  logger: Logger
  onRun?: (r: BackupReport | Error) => void
}

/**
 * The scheduled backup: a thin node-cron adapter over backupVault, in the
 * daemon's process (its own catalog connection; the online backup does not
 * stop docking). Runs never overlap; a failed run is logged
 * (`backup.failed`) and tried again at the next scheduled time.
 */
export function startNightlyBackup(o: NightlyBackupOptions): { runNow(): Promise<BackupReport | undefined>; stop(): Promise<void> } {
  const log = o.logger.child({ job: 'backup' })
  let running: Promise<BackupReport | undefined> | null = null
  const once = (): Promise<BackupReport | undefined> => {
    if (running) return running
    running = (async () => {
      try {
        const r = await backupVault({ ...o })
        o.onRun?.(r)
        return r
      } catch (err) {
        log.error({ event: 'backup.failed', target: o.target, err: errorMessage(err) }, 'scheduled backup failed; it runs again at the next scheduled time')
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
    { timezone: o.timezone, noOverlap: true, name: 'bodyvault-backup' },
  )
  log.info({ event: 'backup.scheduled', schedule: o.schedule, target: o.target, next: task.getNextRun()?.toISOString() ?? null }, 'backup scheduled')
  return {
    runNow: once,
    stop: async () => {
      await task.stop()
      await task.destroy()
      if (running) await running
    },
  }
}
