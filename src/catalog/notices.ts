/**
 * Notices (src/notify/): the outbox (table notice_outbox, migration 022),
 * one row per notice and channel until it is delivered or given up, and
 * the record of what was sent (table notices, migration 019), each line
 * backed by its `notice-sent` ledger event.
 */
import type { Db } from './db.js'

export type OutboxState = 'pending' | 'sent' | 'given-up'

export interface OutboxRow {
  id: number
  kind: string
  key: string
  channel: string
  subject: string
  /** The rendered notice (JSON), sent as it is on every attempt. */
  body: string
  digest: string
  items: number
  windowTo: string | null
  createdAt: string
  state: OutboxState
  attempts: number
  nextAt: string
  lastError: string | null
}

const SELECT = `SELECT id, kind, key, channel, subject, body, digest, items, window_to AS windowTo, created_at AS createdAt, state, attempts,
  next_at AS nextAt, last_error AS lastError FROM notice_outbox`

/** Queues a notice for a channel; false when this kind and key were already queued or sent on it (a notice goes out once). */
export function enqueueNotice(
  db: Db,
  n: { kind: string; key: string; channel: string; subject: string; body: string; digest: string; items: number; windowTo: string | null; at: string },
): boolean {
  return (
    db
      .prepare(
        `INSERT INTO notice_outbox (kind, key, channel, subject, body, digest, items, window_to, created_at, state, next_at)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ? WHERE NOT EXISTS (SELECT 1 FROM notices WHERE kind = ? AND key = ? AND channel = ?)
         ON CONFLICT (kind, key, channel) DO NOTHING`,
      )
      .run(n.kind, n.key, n.channel, n.subject, n.body, n.digest, n.items, n.windowTo, n.at, n.at, n.kind, n.key, n.channel).changes === 1
  )
}

/** Pending notices whose next attempt is due at `at`, oldest first. */
export function dueNotices(db: Db, at: string, limit = 100): OutboxRow[] {
  return db.prepare(`${SELECT} WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`).all(at, limit) as OutboxRow[]
}

export function getOutboxRow(db: Db, id: number): OutboxRow | undefined {
  return db.prepare(`${SELECT} WHERE id = ?`).get(id) as OutboxRow | undefined
}

/** A failed attempt: the next one at `nextAt`, or given up (nextAt null). */
export function noticeAttemptFailed(db: Db, id: number, o: { attempts: number; error: string; nextAt: string | null }): void {
  db.prepare(
    `UPDATE notice_outbox SET attempts = ?, last_error = ?, state = CASE WHEN ? IS NULL THEN 'given-up' ELSE 'pending' END, next_at = coalesce(?, next_at)
     WHERE id = ?`,
  ).run(o.attempts, o.error.slice(0, 500), o.nextAt, o.nextAt, id)
}

/** Delivered: the outbox row done and the line in `notices` naming its ledger event (with the event, in one transaction: the caller's). */
export function noticeDelivered(db: Db, id: number, o: { attempts: number; at: string; eventSeq: number }): void {
  const r = getOutboxRow(db, id)
  if (!r) return
  db.prepare("UPDATE notice_outbox SET state = 'sent', attempts = ?, last_error = NULL WHERE id = ?").run(o.attempts, id)
  db.prepare('INSERT OR IGNORE INTO notices (kind, key, channel, sent_at, event_seq) VALUES (?, ?, ?, ?, ?)').run(r.kind, r.key, r.channel, o.at, o.eventSeq)
}

/** A notice sent at once, without the outbox (`bodyvault notify test`). */
export function insertNoticeSent(db: Db, o: { kind: string; key: string; channel: string; at: string; eventSeq: number }): void {
  db.prepare('INSERT OR IGNORE INTO notices (kind, key, channel, sent_at, event_seq) VALUES (?, ?, ?, ?, ?)').run(o.kind, o.key, o.channel, o.at, o.eventSeq)
}

/** Where the last queued list of a kind ended (a daily list starts there), or null. */
export function lastWindowEnd(db: Db, kind: string): string | null {
  return (db.prepare('SELECT max(window_to) AS w FROM notice_outbox WHERE kind = ?').get(kind) as { w: string | null }).w
}

/** How many notices are pending and given up (doctor), and when the last one was sent. */
export function outboxCounts(db: Db): { pending: number; givenUp: number; lastSentAt: string | null } {
  const c = db.prepare("SELECT coalesce(sum(state = 'pending'), 0) AS pending, coalesce(sum(state = 'given-up'), 0) AS givenUp FROM notice_outbox").get() as {
    pending: number
    givenUp: number
  }
  const s = db.prepare('SELECT max(sent_at) AS at FROM notices').get() as { at: string | null }
  return { ...c, lastSentAt: s.at }
}

/** The notices sent, newest first (the kind, its key, the channel and the ledger event). */
export function sentNotices(
  db: Db,
  o: { kind?: string; limit?: number } = {},
): { kind: string; key: string; channel: string; sentAt: string; eventSeq: number }[] {
  const lim = o.limit ?? 100
  const sql = 'SELECT kind, key, channel, sent_at AS sentAt, event_seq AS eventSeq FROM notices'
  return (o.kind ? db.prepare(`${sql} WHERE kind = ? ORDER BY id DESC LIMIT ?`).all(o.kind, lim) : db.prepare(`${sql} ORDER BY id DESC LIMIT ?`).all(lim)) as {
    kind: string
    key: string
    channel: string
    sentAt: string
    eventSeq: number
  }[]
}
