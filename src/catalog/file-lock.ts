import Database from 'better-sqlite3'

/**
 * An exclusive lock on a file that the kernel drops when its process dies,
 * kill -9 included: SQLite's own file locking, through the driver we already
 * ship. Node has no flock(2); the mtime-refreshed lock files of npm packages
 * (proper-lockfile) go stale while a busy event loop stops refreshing them,
 * so a second process could "break" a live lock; pid files need liveness
 * guesses and race on removal. Holding a write transaction open on a small
 * SQLite file is an fcntl(2) write lock on it, which no other process (and
 * no other connection in this one: SQLite tracks its locks per inode) can
 * take until this connection closes or the process ends. Nothing is ever
 * committed: the file stays empty and is never deleted (deleting a lock
 * file another process has open is how such schemes break).
 */
export interface FileLock {
  readonly path: string
  release(): void
}

/** Takes the lock now, or returns null when another connection or process holds it (no waiting). */
export function tryLockFile(path: string): FileLock | null {
  const db = new Database(path)
  try {
    db.pragma('busy_timeout = 0')
    db.pragma('journal_mode = MEMORY') // nothing is ever written: no journal file beside the lock
    db.exec('BEGIN IMMEDIATE')
  } catch (err) {
    db.close()
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null
    throw err
  }
  return {
    path,
    release: () => {
      if (db.open) db.close()
    },
  }
}
