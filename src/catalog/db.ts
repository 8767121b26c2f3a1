import Database from 'better-sqlite3'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import { migrations } from './migrations.js'

export type Db = Database.Database

/**
 * The prepared statement for `sql` on this connection, prepared once: for
 * what runs on every request (the token check, a search), where preparing
 * costs as much as running. Only for statements run with get/all/run (an
 * iterate in progress keeps its statement busy). Per connection, at most
 * 256 texts (a search's text depends only on which filters it has).
 */
const statements = new WeakMap<Db, Map<string, Database.Statement<unknown[], unknown>>>()
export function prepared(db: Db, sql: string): Database.Statement<unknown[], unknown> {
  let cache = statements.get(db)
  if (!cache) {
    cache = new Map()
    statements.set(db, cache)
  }
  let st = cache.get(sql)
  if (!st) {
    if (cache.size >= 256) cache.clear()
    st = db.prepare(sql)
    cache.set(sql, st)
  }
  return st
}

/** How long a writer waits for another process's write lock (every write transaction starts IMMEDIATE, so it applies). */
export const BUSY_TIMEOUT_MS = 10_000

/** Whether `err` is SQLite saying the file is damaged (bad pages) or not a database at all (bad header). */
export function isCatalogDamage(err: unknown): boolean {
  const code = errnoCode(err)
  return code !== undefined && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
}

/** The error a damaged catalog file gets everywhere: what happened and the way out, never a stack trace. */
export function catalogCorrupt(path: string, detail: string, cause?: unknown): BodyvaultError {
  return new BodyvaultError(
    'CATALOG_CORRUPT',
    `the catalog ${path} is damaged (${detail}): stop the station, move the file aside (keep it for analysis), then restore catalog.db from a backup or rebuild it with bodyvault reindex --from-s3`,
    cause === undefined ? undefined : { cause },
  )
}

/**
 * Opens (creating if needed) the catalog: WAL, synchronous FULL (a commit
 * that returned is on disk: the ingest order relies on it), foreign keys on,
 * a busy timeout for the daemon and the CLI sharing the file, then runs
 * pending migrations. A damaged file is CATALOG_CORRUPT.
 */
export function openCatalog(path: string, opts: { readonly?: boolean } = {}): Db {
  let db: Db | undefined
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false })
    return prepareCatalog(db, path, opts)
  } catch (err) {
    if (db?.open) db.close()
    if (isCatalogDamage(err)) throw catalogCorrupt(path, errorMessage(err), err)
    throw err
  }
}

/**
 * A second, read-only connection to the catalog file of `db`: for a reader
 * that holds one snapshot (BEGIN, then its first read) across awaits, which
 * the shared connection must not do (verify: the catalog rows and the
 * ledger's head while the audit's workers fold the chain).
 */
export function openSnapshotReader(db: Db): Db {
  const reader = new Database(db.name, { readonly: true, fileMustExist: true })
  reader.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  return reader
}

/** SQLite's own page-level check (PRAGMA quick_check): what it found wrong, empty when the file is sound. */
export function quickCheck(db: Db): string[] {
  try {
    return (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).filter((r) => r !== 'ok')
  } catch (err) {
    if (isCatalogDamage(err)) return [errorMessage(err)]
    throw err
  }
}

function prepareCatalog(db: Db, path: string, opts: { readonly?: boolean }): Db {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    migrate(db)
  } else {
    const v = db.pragma('user_version', { simple: true }) as number
    const latest = migrations[migrations.length - 1]?.version ?? 0
    if (v !== latest) {
      db.close()
      throw new BodyvaultError(
        'CATALOG_VERSION',
        `catalog ${path} is at schema version ${v}, this bodyvault expects ${latest}: run any write command (e.g. bodyvault doctor) to migrate`,
      )
    }
  }
  return db
}

/**
 * Runs `fn` as one transaction whose commit does not wait for its own fsync
 * (synchronous NORMAL for that commit alone): for operational notes whose
 * loss at a power cut is harmless, a media job's claim and the pid and temp
 * file of its ffmpeg (a power cut ends every ffmpeg; the job is queued or
 * requeued either way). A killed process loses nothing: the WAL is in the
 * kernel's page cache, and the next FULL commit (every record of evidence)
 * or checkpoint puts it on disk with everything before it. Inside an open
 * transaction, the outer commit decides.
 */
export function commitWithoutFsync<T>(db: Db, fn: () => T): T {
  if (db.inTransaction) return fn()
  const prev = db.pragma('synchronous', { simple: true }) as number
  db.pragma('synchronous = NORMAL')
  try {
    return db.transaction(fn).immediate()
  } finally {
    db.pragma(`synchronous = ${Number(prev)}`)
  }
}

/** The schema version the catalog is at (PRAGMA user_version: the last migration applied). */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number
}

export function migrate(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number
  const latest = migrations[migrations.length - 1]?.version ?? 0
  if (current > latest) {
    throw new BodyvaultError('CATALOG_VERSION', `catalog schema version ${current} is newer than this bodyvault (${latest}): upgrade bodyvault`)
  }
  for (const m of migrations) {
    if (m.version <= current) continue
    // Foreign keys can only be switched off outside a transaction.
    const fkOff = m.rebuildsTables === true && db.pragma('foreign_keys', { simple: true }) === 1
    if (fkOff) db.pragma('foreign_keys = OFF')
    try {
      // Re-read inside the write lock: another process opening the same new
      // catalog at the same moment may have applied it already.
      db.transaction(() => {
        if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return
        db.exec(m.sql)
        if (m.rebuildsTables && (db.pragma('foreign_key_check') as unknown[]).length > 0)
          throw new BodyvaultError('CATALOG_MIGRATION', `migration ${m.version} (${m.name}) would break foreign keys: nothing was changed`)
        db.pragma(`user_version = ${m.version}`)
      }).immediate()
    } finally {
      if (fkOff) db.pragma('foreign_keys = ON')
    }
  }
  return latest
}
