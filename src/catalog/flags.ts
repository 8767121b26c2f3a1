/**
 * Retention flags (table retention_flags, migration 019): evidence-used,
 * obstruction, major-incident, complaint... Each row is backed by its
 * ledger events (`flag-set`, `flag-removal-requested`, `flag-removed`,
 * `flag-removal-withdrawn`); src/retention/flags.ts changes them together.
 */
import type { Db } from './db.js'

export interface FlagRow {
  id: number
  recordingId: number
  flag: string
  reason: string
  setBy: string
  /** The police number of who set it (`account:<id>` for a service account). */
  setPerson: string
  setAt: string
  removalRequestedBy: string | null
  removalPerson: string | null
  removalRequestedAt: string | null
  removalReason: string | null
  /** Set once a supervisor, another person than the setter, approved the removal. */
  removedAt: string | null
  removedBy: string | null
  removedPerson: string | null
}

const SELECT = `SELECT id, recording_id AS recordingId, flag, reason, set_by AS setBy, set_person AS setPerson, set_at AS setAt,
  removal_requested_by AS removalRequestedBy, removal_person AS removalPerson, removal_requested_at AS removalRequestedAt,
  removal_reason AS removalReason, removed_at AS removedAt, removed_by AS removedBy, removed_person AS removedPerson FROM retention_flags`

export function getFlag(db: Db, id: number): FlagRow | undefined {
  return db.prepare(`${SELECT} WHERE id = ?`).get(id) as FlagRow | undefined
}

/** A recording's flags, oldest first; `inForce` leaves out the removed ones. */
export function flagsOf(db: Db, recordingId: number, inForce = false): FlagRow[] {
  return db.prepare(`${SELECT} WHERE recording_id = ?${inForce ? ' AND removed_at IS NULL' : ''} ORDER BY id`).all(recordingId) as FlagRow[]
}

/** Every flag (or those in force, or those whose removal awaits approval), newest first. */
export function listFlags(db: Db, which: 'all' | 'in-force' | 'removal-requested' = 'in-force'): FlagRow[] {
  const where = which === 'all' ? '' : which === 'in-force' ? ' WHERE removed_at IS NULL' : ' WHERE removed_at IS NULL AND removal_requested_at IS NOT NULL'
  return db.prepare(`${SELECT}${where} ORDER BY id DESC`).all() as FlagRow[]
}

export function allFlags(db: Db): FlagRow[] {
  return db.prepare(`${SELECT} ORDER BY id`).all() as FlagRow[]
}

export function nextFlagId(db: Db): number {
  return (db.prepare('SELECT coalesce(max(id), 0) + 1 AS n FROM retention_flags').get() as { n: number }).n
}

export function insertFlag(db: Db, f: Pick<FlagRow, 'id' | 'recordingId' | 'flag' | 'reason' | 'setBy' | 'setPerson' | 'setAt'>): void {
  db.prepare('INSERT INTO retention_flags (id, recording_id, flag, reason, set_by, set_person, set_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    f.id,
    f.recordingId,
    f.flag,
    f.reason,
    f.setBy,
    f.setPerson,
    f.setAt,
  )
}

/** Records (or, with nulls, withdraws) a removal request. */
export function setFlagRemovalRequest(db: Db, id: number, r: { by: string; person: string; at: string; reason: string } | null): void {
  db.prepare('UPDATE retention_flags SET removal_requested_by = ?, removal_person = ?, removal_requested_at = ?, removal_reason = ? WHERE id = ?').run(
    r?.by ?? null,
    r?.person ?? null,
    r?.at ?? null,
    r?.reason ?? null,
    id,
  )
}

export function markFlagRemoved(db: Db, id: number, by: string, person: string, at: string): void {
  db.prepare('UPDATE retention_flags SET removed_at = ?, removed_by = ?, removed_person = ? WHERE id = ?').run(at, by, person, id)
}
