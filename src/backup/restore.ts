/**
 * `bodyvault restore BACKUP --to DIR`: a backup (or any data dir that is
 * not in use) copied into an empty or new folder, every object hashed on
 * the way (one that does not hash to its name is reported and left out),
 * the catalog and its WAL copied as files (a backup is not live), the state
 * files walked as the backup walked them. The caller then records the
 * restore in the restored ledger and runs `verify`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, open } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { BodyvaultError } from '../common/errors.js'
import { BACKUP_INFO, type BackupInfo, type BackupProgress } from './backup.js'
import { copyObject, copyStateFile, listObjects, listStateFiles, syncObjectDirs } from './copy.js'

export interface RestoreReport {
  source: string
  target: string
  /** What the backup says about itself (null: a plain data dir was restored). */
  backup: BackupInfo | null
  stateFiles: string[]
  objects: { copied: number; bytes: number; corrupt: { sha256: string; actual: string }[] }
  durationMs: number
}

/** Refuses before anything is written: the source must hold a catalog, the target must be empty or new. */
export function checkRestore(source: string, target: string): BackupInfo | null {
  const src = resolve(source)
  if (!existsSync(join(src, 'catalog.db'))) throw new BodyvaultError('RESTORE_SOURCE', `${src} holds no catalog.db: name a folder written by bodyvault backup`)
  const dest = resolve(target)
  if (existsSync(dest) && readdirSync(dest).length > 0)
    throw new BodyvaultError(
      'RESTORE_NOT_EMPTY',
      `${dest} is not empty (${readdirSync(dest).slice(0, 3).join(', ')}...): restore into an empty or new folder; nothing was changed`,
    )
  try {
    return JSON.parse(readFileSync(join(src, BACKUP_INFO), 'utf8')) as BackupInfo
  } catch {
    return null
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

export async function restoreBackup(o: {
  source: string
  target: string
  chunkBytes: number
  onProgress?: (p: BackupProgress) => void
}): Promise<RestoreReport> {
  const t0 = Date.now()
  const source = resolve(o.source)
  const target = resolve(o.target)
  const backup = checkRestore(source, target)
  await mkdir(target, { recursive: true, mode: 0o750 })
  for (const d of ['objects', 'staging']) await mkdir(join(target, d), { recursive: true, mode: 0o750 })
  const stateFiles = await listStateFiles(source)
  for (const rel of stateFiles) await copyStateFile(source, target, rel)
  for (const f of ['catalog.db', 'catalog.db-wal']) {
    if (!existsSync(join(source, f))) continue
    await copyFile(join(source, f), join(target, f))
    await fsyncFile(join(target, f))
  }
  const todo = await listObjects(source)
  const progress: BackupProgress = { bytesDone: 0, bytesTotal: todo.reduce((n, x) => n + x.size, 0), objectsDone: 0, objectsTotal: todo.length }
  o.onProgress?.(progress)
  const objects: RestoreReport['objects'] = { copied: 0, bytes: 0, corrupt: [] }
  const written: string[] = []
  for (const x of todo) {
    const r = await copyObject(source, target, x.sha256, o.chunkBytes, (n) => {
      progress.bytesDone += n
      o.onProgress?.(progress)
    })
    progress.objectsDone++
    if (r.outcome === 'copied') {
      objects.copied++
      objects.bytes += r.size
      written.push(x.sha256)
    } else if (r.outcome === 'corrupt') objects.corrupt.push({ sha256: x.sha256, actual: r.actual })
  }
  await syncObjectDirs(target, written)
  o.onProgress?.(progress)
  return { source, target, backup, stateFiles, objects, durationMs: Date.now() - t0 }
}
