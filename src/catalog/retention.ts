/**
 * Each recording's current retention deadline (table retention, migration
 * 003), backed by its latest `retention-changed` ledger event, and the
 * reads the purge and the retention plan make. The rule that computes a
 * deadline is src/retention/policy.ts.
 */
import type { Db } from './db.js'

export interface RetentionRow {
  recordingId: number
  /** UTC ISO, or null: indefinite. */
  deadline: string | null
  /** The deciding rule's code (src/retention/policy.ts RuleCode). */
  rule: string
  ruleRef: string | null
  eventSeq: number
}

const SELECT = 'SELECT recording_id AS recordingId, deadline, rule, rule_ref AS ruleRef, event_seq AS eventSeq FROM retention'

export function getRetention(db: Db, recordingId: number): RetentionRow | undefined {
  return db.prepare(`${SELECT} WHERE recording_id = ?`).get(recordingId) as RetentionRow | undefined
}

/** Every deadline row, in table order (verify compares them with the ledger). */
export function allRetention(db: Db): RetentionRow[] {
  return db.prepare(SELECT).all() as RetentionRow[]
}

/** Stores a recording's deadline (the row of its latest `retention-changed` event). */
export function putRetention(db: Db, r: RetentionRow): void {
  db.prepare(`INSERT INTO retention (recording_id, deadline, rule, rule_ref, event_seq) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(recording_id) DO UPDATE SET deadline = excluded.deadline, rule = excluded.rule, rule_ref = excluded.rule_ref, event_seq = excluded.event_seq`).run(
    r.recordingId,
    r.deadline,
    r.rule,
    r.ruleRef,
    r.eventSeq,
  )
}

/** Stored recordings whose stored deadline is at or before `asOf`, earliest first: what a purge re-decides. */
export function recordingsDueForPurge(db: Db, asOf: string): number[] {
  return db
    .prepare(
      "SELECT t.recording_id FROM retention t JOIN recordings r ON r.id = t.recording_id WHERE r.status = 'stored' AND t.deadline IS NOT NULL AND t.deadline <= ? ORDER BY t.deadline, t.recording_id",
    )
    .pluck()
    .all(asOf) as number[]
}
