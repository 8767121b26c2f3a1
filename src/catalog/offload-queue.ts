/**
 * The persisted S3 offload queue (table offload_queue, migration 003): one
 * row per job still to do, its attempts and backoff, and a multipart
 * upload's progress. Work state, not evidence. The offload worker
 * (src/offload/) decides what to queue and runs the jobs.
 */
import type { Db } from './db.js'

export type OffloadOp = 'object' | 'lock' | 'delete' | 'manifest' | 'ledger'

export interface OffloadJob {
  id: number
  op: OffloadOp
  subject: string
  attempts: number
  /** A multipart upload's progress (JSON), kept so an outage costs only the part in flight. */
  progress: string | null
}

/** Queues a job unless the same one is queued already; 1 when it was added. */
export function queueOffloadJob(db: Db, op: OffloadOp, subject: string, now: Date): number {
  return db
    .prepare('INSERT INTO offload_queue (op, subject, enqueued_at, next_attempt_at) VALUES (?, ?, ?, ?) ON CONFLICT(op, subject) DO NOTHING')
    .run(op, subject, now.toISOString(), now.toISOString()).changes
}

/** True while this job is queued (due or waiting for a retry). */
export function offloadJobQueued(db: Db, op: OffloadOp, subject: string): boolean {
  return db.prepare('SELECT 1 FROM offload_queue WHERE op = ? AND subject = ?').get(op, subject) !== undefined
}

/** Jobs whose next attempt is due, oldest first. */
export function dueOffloadJobs(db: Db, now: Date): OffloadJob[] {
  return db
    .prepare('SELECT id, op, subject, attempts, progress FROM offload_queue WHERE next_attempt_at <= ? ORDER BY id')
    .all(now.toISOString()) as OffloadJob[]
}

export function finishOffloadJob(db: Db, id: number): void {
  db.prepare('DELETE FROM offload_queue WHERE id = ?').run(id)
}

/** After a failed (or deferred) attempt: its count, when to try again, and why. */
export function postponeOffloadJob(db: Db, id: number, attempts: number, next: Date, error: string): void {
  db.prepare('UPDATE offload_queue SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?').run(attempts, next.toISOString(), error, id)
}

export function saveUploadProgress(db: Db, id: number, progress: string | null): void {
  db.prepare('UPDATE offload_queue SET progress = ? WHERE id = ?').run(progress, id)
}

export function pendingOffloadJobs(db: Db): number {
  return db.prepare('SELECT count(*) FROM offload_queue').pluck().get() as number
}

/** When the earliest queued job is next tried, if any is queued. */
export function nextOffloadAttempt(db: Db): string | null {
  return db.prepare('SELECT min(next_attempt_at) FROM offload_queue').pluck().get() as string | null
}

/** The queue per op, as `bodyvault offload status` shows it. */
export function offloadQueueByOp(db: Db): { op: string; n: number; failing: number; next: string }[] {
  return db
    .prepare('SELECT op, count(*) AS n, sum(attempts > 0) AS failing, min(next_attempt_at) AS next FROM offload_queue GROUP BY op ORDER BY op')
    .all() as { op: string; n: number; failing: number; next: string }[]
}

/** Queued jobs whose last attempt failed, soonest retry first. */
export function failingOffloadJobs(db: Db, limit: number): { op: string; subject: string; attempts: number; nextAttemptAt: string; lastError: string }[] {
  return db
    .prepare(
      'SELECT op, subject, attempts, next_attempt_at AS nextAttemptAt, last_error AS lastError FROM offload_queue WHERE last_error IS NOT NULL ORDER BY next_attempt_at LIMIT ?',
    )
    .all(limit) as { op: string; subject: string; attempts: number; nextAttemptAt: string; lastError: string }[]
}
