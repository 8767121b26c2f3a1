/**
 * One daemon per vault. `bodyvault start` takes an exclusive lock on
 * <dataDir>/run/daemon.lock before it touches anything else in the data dir
 * (catalog, staging, the status credential), and holds it until it exits;
 * the kernel drops it when the process dies, kill -9 included
 * (src/catalog/file-lock.ts says how and why). Beside it, run/daemon.json
 * says who holds it: pid, listen address, start time. A second `start` finds
 * the lock taken and exits DATA_DIR_IN_USE naming them. CLI writers do not
 * take this lock: they share the catalog with the daemon through SQLite.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { tryLockFile, type FileLock } from '../catalog/file-lock.js'
import { BodyvaultError } from '../common/errors.js'

export interface DaemonHolder {
  pid: number
  listen: string
  host: string
  startedAt: string
}

export function daemonLockPath(dataDir: string): string {
  return join(dataDir, 'run', 'daemon.lock')
}

export function daemonInfoPath(dataDir: string): string {
  return join(dataDir, 'run', 'daemon.json')
}

/** Who holds the daemon lock, as its holder wrote it (only meaningful while the lock is held). */
export function readDaemonHolder(dataDir: string): DaemonHolder | null {
  try {
    return JSON.parse(readFileSync(daemonInfoPath(dataDir), 'utf8')) as DaemonHolder
  } catch {
    return null
  }
}

/** Is a daemon running on this data dir now? (Takes and drops the lock when free: a probe, for doctor.) */
export function daemonRunning(dataDir: string): DaemonHolder | 'unknown' | null {
  if (!existsSync(daemonLockPath(dataDir))) return null // no daemon ever ran here
  const lock = tryLockFile(daemonLockPath(dataDir))
  if (lock) {
    lock.release()
    return null
  }
  return readDaemonHolder(dataDir) ?? 'unknown'
}

/** Takes the daemon lock of a data dir, or throws DATA_DIR_IN_USE naming the holder. */
export function lockDataDir(dataDir: string, listen: string): FileLock {
  mkdirSync(join(dataDir, 'run'), { recursive: true, mode: 0o700 })
  const lock = tryLockFile(daemonLockPath(dataDir))
  if (!lock) {
    const h = readDaemonHolder(dataDir)
    const who = h ? `pid ${h.pid} on ${h.host}, listening on ${h.listen}, since ${h.startedAt}` : 'its pid is not recorded yet'
    throw new BodyvaultError(
      'DATA_DIR_IN_USE',
      `the data dir ${dataDir} is in use by another bodyvault daemon (${who}): stop it first (systemctl stop bodyvault), or give this one another data dir; nothing was changed`,
    )
  }
  const info: DaemonHolder = { pid: process.pid, listen, host: hostname(), startedAt: new Date().toISOString() }
  const tmp = `${daemonInfoPath(dataDir)}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o644 })
  renameSync(tmp, daemonInfoPath(dataDir))
  return lock
}
