import Database from 'better-sqlite3'
import { BodyvaultError } from '../common/errors.js'
import { migrations } from './migrations.js'

export type Db = Database.Database

/**
 * Opens (creating if needed) the catalog: WAL, synchronous FULL (a commit
 * that returned is on disk: the ingest order relies on it), foreign keys on,
 * a busy timeout for the daemon and the CLI sharing the file, then runs
 * pending migrations.
 */
export function openCatalog(path: string, opts: { readonly?: boolean } = {}): Db {
  const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false })
  db.pragma('busy_timeout = 10000')
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
