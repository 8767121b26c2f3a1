/**
 * Named job leases (table job_leases, migration 003), so that two runs of
 * the same job never overlap, even across processes. Who may take a lease
 * over (expired, holder gone) is decided by the caller inside the same
 * transaction (src/retention/lease.ts).
 */
import type { Db } from './db.js'

export interface LeaseRow {
  holder: string
  acquiredAt: string
  expiresAt: string
}

export function getLease(db: Db, name: string): LeaseRow | undefined {
  return db.prepare('SELECT holder, acquired_at AS acquiredAt, expires_at AS expiresAt FROM job_leases WHERE name = ?').get(name) as LeaseRow | undefined
}

export function putLease(db: Db, name: string, lease: LeaseRow): void {
  db.prepare(
    'INSERT INTO job_leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at',
  ).run(name, lease.holder, lease.acquiredAt, lease.expiresAt)
}

/** Gives the lease back, only if `holder` still holds it. */
export function deleteLease(db: Db, name: string, holder: string): void {
  db.prepare('DELETE FROM job_leases WHERE name = ? AND holder = ?').run(name, holder)
}
