/**
 * Cases, the recordings linked to them, and legal holds (tables cases,
 * case_links and holds, migration 003). Every row is backed by a ledger
 * event; src/retention/cases.ts changes them together with their events,
 * and src/retention/check.ts compares them with the ledger.
 */
import type { Db } from './db.js'

export interface CaseRow {
  number: string
  type: string
  title: string | null
  status: 'open' | 'closed'
  openedAt: string
  openedBy: string
  closedAt: string | null
  closedBy: string | null
}

/** A case as a recording linked to it sees it (what the retention rule needs), with when it was linked. */
export interface LinkedCase {
  number: string
  type: string
  status: 'open' | 'closed'
  closedAt: string | null
  linkedAt: string
}

export interface CaseLinkRow {
  recordingId: number
  caseNumber: string
  linkedAt: string
  linkedBy: string
}

export interface HoldRow {
  id: number
  recordingId: number
  reason: string
  placedBy: string
  placedAt: string
  releasedAt: string | null
  releasedBy: string | null
  releaseReason: string | null
}

const CASE_SELECT = 'SELECT number, type, title, status, opened_at AS openedAt, opened_by AS openedBy, closed_at AS closedAt, closed_by AS closedBy FROM cases'
const LINK_SELECT = 'SELECT recording_id AS recordingId, case_number AS caseNumber, linked_at AS linkedAt, linked_by AS linkedBy FROM case_links'
const HOLD_SELECT =
  'SELECT id, recording_id AS recordingId, reason, placed_by AS placedBy, placed_at AS placedAt, released_at AS releasedAt, released_by AS releasedBy, release_reason AS releaseReason FROM holds'

// ---------------------------------------------------------------------------
// cases

export function getCase(db: Db, number: string): CaseRow | undefined {
  return db.prepare(`${CASE_SELECT} WHERE number = ?`).get(number) as CaseRow | undefined
}

export function listCases(db: Db, status?: 'open' | 'closed'): CaseRow[] {
  return (status ? db.prepare(`${CASE_SELECT} WHERE status = ? ORDER BY number`).all(status) : db.prepare(`${CASE_SELECT} ORDER BY number`).all()) as CaseRow[]
}

/** Every case, in table order (verify compares them with the ledger). */
export function allCases(db: Db): CaseRow[] {
  return db.prepare(CASE_SELECT).all() as CaseRow[]
}

/** A new case, or (a catalog rebuilt from the ledger) a case as the ledger left it. */
export function insertCase(db: Db, c: CaseRow): void {
  db.prepare('INSERT INTO cases (number, type, title, status, opened_at, opened_by, closed_at, closed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    c.number,
    c.type,
    c.title,
    c.status,
    c.openedAt,
    c.openedBy,
    c.closedAt,
    c.closedBy,
  )
}

export function markCaseClosed(db: Db, number: string, closedAt: string, closedBy: string): void {
  db.prepare("UPDATE cases SET status = 'closed', closed_at = ?, closed_by = ? WHERE number = ?").run(closedAt, closedBy, number)
}

export function markCaseOpen(db: Db, number: string): void {
  db.prepare("UPDATE cases SET status = 'open', closed_at = NULL, closed_by = NULL WHERE number = ?").run(number)
}

// ---------------------------------------------------------------------------
// case links

/** The cases a recording is linked to, in link order. */
export function casesOf(db: Db, recordingId: number): LinkedCase[] {
  return db
    .prepare(`SELECT c.number, c.type, c.status, c.closed_at AS closedAt, l.linked_at AS linkedAt FROM case_links l JOIN cases c ON c.number = l.case_number
    WHERE l.recording_id = ? ORDER BY l.rowid`)
    .all(recordingId) as LinkedCase[]
}

export function recordingsOfCase(db: Db, number: string): number[] {
  return db.prepare('SELECT recording_id FROM case_links WHERE case_number = ? ORDER BY recording_id').pluck().all(number) as number[]
}

export function isLinked(db: Db, recordingId: number, caseNumber: string): boolean {
  return db.prepare('SELECT 1 FROM case_links WHERE recording_id = ? AND case_number = ?').get(recordingId, caseNumber) !== undefined
}

export function insertCaseLink(db: Db, l: CaseLinkRow): void {
  db.prepare('INSERT INTO case_links (recording_id, case_number, linked_at, linked_by) VALUES (?, ?, ?, ?)').run(
    l.recordingId,
    l.caseNumber,
    l.linkedAt,
    l.linkedBy,
  )
}

/** Removes a link; false when there was none. */
export function deleteCaseLink(db: Db, recordingId: number, caseNumber: string): boolean {
  return db.prepare('DELETE FROM case_links WHERE recording_id = ? AND case_number = ?').run(recordingId, caseNumber).changes > 0
}

/** recordings.case_number's value: the earliest-linked case still linked, or null. */
export function primaryCaseOf(db: Db, recordingId: number): string | null {
  return (db.prepare('SELECT case_number FROM case_links WHERE recording_id = ? ORDER BY rowid LIMIT 1').pluck().get(recordingId) as string | undefined) ?? null
}

/** Every case link, in table order. */
export function allCaseLinks(db: Db): CaseLinkRow[] {
  return db.prepare(LINK_SELECT).all() as CaseLinkRow[]
}

// ---------------------------------------------------------------------------
// holds

export function holdsOf(db: Db, recordingId: number, activeOnly = false): HoldRow[] {
  return db.prepare(`${HOLD_SELECT} WHERE recording_id = ?${activeOnly ? ' AND released_at IS NULL' : ''} ORDER BY id`).all(recordingId) as HoldRow[]
}

export function getHold(db: Db, id: number): HoldRow | undefined {
  return db.prepare(`${HOLD_SELECT} WHERE id = ?`).get(id) as HoldRow | undefined
}

export function listHolds(db: Db, activeOnly: boolean): HoldRow[] {
  return db.prepare(`${HOLD_SELECT}${activeOnly ? ' WHERE released_at IS NULL' : ''} ORDER BY id`).all() as HoldRow[]
}

/** Every hold, in table order. */
export function allHolds(db: Db): HoldRow[] {
  return db.prepare(HOLD_SELECT).all() as HoldRow[]
}

/** The id the next hold gets (its `hold-placed` event names it before the row exists). */
export function nextHoldId(db: Db): number {
  return (db.prepare('SELECT coalesce(max(id), 0) FROM holds').pluck().get() as number) + 1
}

/** A new hold, or (a catalog rebuilt from the ledger) a hold as the ledger left it. */
export function insertHold(db: Db, h: HoldRow): void {
  db.prepare(
    'INSERT INTO holds (id, recording_id, reason, placed_by, placed_at, released_at, released_by, release_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(h.id, h.recordingId, h.reason, h.placedBy, h.placedAt, h.releasedAt, h.releasedBy, h.releaseReason)
}

export function markHoldReleased(db: Db, id: number, at: string, by: string, reason: string): void {
  db.prepare('UPDATE holds SET released_at = ?, released_by = ?, release_reason = ? WHERE id = ?').run(at, by, reason, id)
}
