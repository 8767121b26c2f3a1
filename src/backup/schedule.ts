import type { Db } from '../catalog/db.js'
import { startCronJob } from '../common/cron.js'
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
  const job = startCronJob({
    name: 'bodyvault-backup',
    schedule: o.schedule,
    timezone: o.timezone,
    log,
    run: () => backupVault({ ...o }),
    failed: { event: 'backup.failed', message: 'scheduled backup failed; it runs again at the next scheduled time' },
    whileRunning: 'join',
    ...(o.onRun ? { onRun: o.onRun } : {}),
  })
  log.info({ event: 'backup.scheduled', schedule: o.schedule, target: o.target, next: job.nextRun()?.toISOString() ?? null }, 'backup scheduled')
  return { runNow: job.runNow, stop: job.stop }
}
