import Database from 'better-sqlite3'
import type { Db } from './db.js'
import { migrations } from './migrations.js'

/**
 * Copies of the catalog: the online backup of a live catalog (SQLite's
 * backup API: a consistent image of one moment, WAL included, while the
 * daemon and the CLI keep writing) and the snapshot taken before a
 * migration.
 */

/** The schema version a catalog file is at, and the one this bodyvault would migrate it to; null when the file holds no catalog yet. */
export function catalogVersionOf(path: string): { version: number; latest: number; hasEvents: boolean } | null {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version === 0) return null
    const hasEvents = (db.prepare('SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)').pluck().get() as number) > 0
    return { version, latest: migrations[migrations.length - 1]?.version ?? 0, hasEvents }
  } finally {
    db.close()
  }
}

/**
 * A consistent copy of the open catalog into `dest` (a new file) through
 * SQLite's online backup API. All pages go in one step, under one read
 * transaction, so writers in other processes cannot make it start over;
 * the catalog is tens of MB, one step takes well under a second.
 */
export async function backupCatalog(db: Db, dest: string): Promise<{ pages: number; ledgerHead: number }> {
  const r = await db.backup(dest, { progress: () => 0x7fffffff })
  return { pages: r.totalPages, ledgerHead: ledgerHeadOf(dest) }
}

/** The last event number in a catalog file (0 for none). */
export function ledgerHeadOf(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    return (db.prepare('SELECT coalesce(max(seq), 0) AS n FROM events').get() as { n: number }).n
  } finally {
    db.close()
  }
}

/** A compact, consistent copy of a catalog file (VACUUM INTO), for the snapshot before a migration. */
export function snapshotCatalog(src: string, dest: string): void {
  const db = new Database(src, { readonly: true, fileMustExist: true })
  try {
    db.prepare('VACUUM INTO ?').run(dest)
  } finally {
    db.close()
  }
}
