/**
 * `bodyvault backup DIR`: a consistent backup of a live station, itself a
 * data dir that `bodyvault verify` passes (and `bodyvault restore` puts
 * back). In this order, so that what the copied catalog names is in the
 * copy:
 *   1. the state files (keys, vault marker, checkpoint log, ...): before the
 *      catalog, so no file in the copy is newer than the copied catalog;
 *   2. the catalog through SQLite's online backup API (one moment, WAL
 *      included, while the daemon writes on);
 *   3. the objects the copy lacks, each hashed while copied (objects are
 *      committed before the rows naming them, so every object the copied
 *      catalog names exists by then, unless a purge deleted it meanwhile).
 * A repeated run into the same folder copies only new objects and changed
 * state files. At the end, a `backup-completed` ledger event with the
 * figures goes into the station's own ledger.
 */
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { backupCatalog } from '../catalog/backup.js'
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { copyObject, copyStateFile, listObjects, listStateFiles, syncObjectDirs } from './copy.js'

/** What a backup folder says about itself (backup.json). */
export interface BackupInfo {
  format: 'bodyvault-backup/1'
  stationId: string
  source: string
  completedAt: string
  ledgerHead: number
}

export interface BackupProgress {
  bytesDone: number
  bytesTotal: number
  objectsDone: number
  objectsTotal: number
}

export interface BackupReport {
  target: string
  full: boolean
  ledgerHead: number
  catalogBytes: number
  stateFiles: { copied: string[]; unchanged: number }
  objects: { copied: number; present: number; gone: number; bytesCopied: number; corrupt: { sha256: string; actual: string }[] }
  durationMs: number
  eventSeq: number
}

export interface BackupOptions {
  db: Db
  dataDir: string
  target: string
  stationId: string
  /** Who ran it: the station (the schedule) or a person at the CLI. */
  actor: string
  logger: Logger
  chunkBytes: number
  onProgress?: (p: BackupProgress) => void
}

export const BACKUP_INFO = 'backup.json'

async function readInfo(dir: string): Promise<BackupInfo | null> {
  try {
    return JSON.parse(await readFile(join(dir, BACKUP_INFO), 'utf8')) as BackupInfo
  } catch {
    return null
  }
}

/** The target is new or empty (a full backup) or an earlier backup of this station (incremental); anything else is refused. */
async function checkTarget(o: BackupOptions): Promise<boolean> {
  const target = resolve(o.target)
  const src = resolve(o.dataDir)
  if (target === src || !relative(src, target).startsWith('..'))
    throw new BodyvaultError('BACKUP_TARGET', `the backup folder ${target} is the data dir or inside it: choose a folder on another disk`)
  if (!relative(target, src).startsWith('..')) throw new BodyvaultError('BACKUP_TARGET', `the data dir ${src} is inside the backup folder ${target}`)
  if (!existsSync(target) || readdirSync(target).length === 0) return true
  const info = await readInfo(target)
  if (info?.format !== 'bodyvault-backup/1')
    throw new BodyvaultError(
      'BACKUP_TARGET',
      `${target} is not empty and holds no bodyvault backup (no ${BACKUP_INFO}): choose an empty folder; nothing was changed`,
    )
  if (info.stationId !== o.stationId)
    throw new BodyvaultError(
      'BACKUP_TARGET',
      `${target} holds a backup of station ${info.stationId}, not of ${o.stationId}: choose another folder; nothing was changed`,
    )
  return false
}

export async function backupVault(o: BackupOptions): Promise<BackupReport> {
  const t0 = Date.now()
  const target = resolve(o.target)
  const full = await checkTarget(o)
  await mkdir(join(target, 'objects'), { recursive: true, mode: 0o750 })
  await mkdir(join(target, 'staging'), { recursive: true, mode: 0o750 })
  const log = o.logger.child({ job: 'backup', target })

  // 1. State files.
  const copied: string[] = []
  const files = await listStateFiles(o.dataDir)
  for (const rel of files) if (await copyStateFile(o.dataDir, target, rel)) copied.push(rel)

  // 2. The catalog: a new file, then in place of the old copy (and of any WAL a reader of the copy left).
  const tmp = join(target, `catalog.db.${process.pid}.tmp`)
  await rm(tmp, { force: true })
  const cat = await backupCatalog(o.db, tmp)
  for (const f of ['catalog.db-wal', 'catalog.db-shm']) await rm(join(target, f), { force: true })
  await rename(tmp, join(target, 'catalog.db'))
  const catalogBytes = (await stat(join(target, 'catalog.db'))).size

  // 3. Objects the copy lacks.
  const have = new Map((await listObjects(target)).map((x) => [x.sha256, x.size]))
  const todo = (await listObjects(o.dataDir)).filter((x) => have.get(x.sha256) !== x.size)
  const progress: BackupProgress = { bytesDone: 0, bytesTotal: todo.reduce((n, x) => n + x.size, 0), objectsDone: 0, objectsTotal: todo.length }
  o.onProgress?.(progress)
  const objects: BackupReport['objects'] = { copied: 0, present: have.size, gone: 0, bytesCopied: 0, corrupt: [] }
  const written: string[] = []
  for (const x of todo) {
    const r = await copyObject(o.dataDir, target, x.sha256, o.chunkBytes, (n) => {
      progress.bytesDone += n
      o.onProgress?.(progress)
    })
    progress.objectsDone++
    if (r.outcome === 'copied') {
      objects.copied++
      objects.bytesCopied += r.size
      written.push(x.sha256)
    } else if (r.outcome === 'gone') objects.gone++
    else {
      objects.corrupt.push({ sha256: x.sha256, actual: r.actual })
      log.error(
        { event: 'backup.object-corrupt', sha256: x.sha256, actual: r.actual },
        'a vault object does not hash to its name: not copied; run bodyvault verify',
      )
    }
  }
  await syncObjectDirs(target, written)
  o.onProgress?.(progress)

  const info: BackupInfo = {
    format: 'bodyvault-backup/1',
    stationId: o.stationId,
    source: resolve(o.dataDir),
    completedAt: new Date().toISOString(),
    ledgerHead: cat.ledgerHead,
  }
  await writeFile(join(target, `${BACKUP_INFO}.tmp`), `${JSON.stringify(info, null, 2)}\n`)
  await rename(join(target, `${BACKUP_INFO}.tmp`), join(target, BACKUP_INFO))
  const durationMs = Date.now() - t0
  const ev = o.db
    .transaction(() =>
      appendEvent(o.db, {
        type: 'backup-completed',
        actor: o.actor,
        subject: subjects.station(o.stationId),
        payload: {
          target,
          full,
          ledgerHead: cat.ledgerHead,
          catalogBytes,
          stateFilesCopied: copied.length,
          objectsCopied: objects.copied,
          objectsPresent: objects.present,
          objectsCorrupt: objects.corrupt.length,
          bytesCopied: objects.bytesCopied,
          durationMs,
        },
      }),
    )
    .immediate()
  const report: BackupReport = {
    target,
    full,
    ledgerHead: cat.ledgerHead,
    catalogBytes,
    stateFiles: { copied, unchanged: files.length - copied.length },
    objects,
    durationMs,
    eventSeq: ev.seq,
  }
  log.info(
    {
      event: 'backup.completed',
      full,
      ledgerHead: cat.ledgerHead,
      objectsCopied: objects.copied,
      bytesCopied: objects.bytesCopied,
      corrupt: objects.corrupt.length,
      durationMs,
    },
    'backup completed',
  )
  return report
}
