/**
 * The media job queue (table media_jobs, migration 002): persisted probe,
 * proxy and thumbnail jobs, claimed atomically by media workers of any
 * process. Operational state, not evidence. The rules (which jobs a
 * recording gets, their order, retries) live in src/media/policy.ts.
 */
import { commitWithoutFsync, type Db } from './db.js'

export type JobKind = 'probe' | 'proxy' | 'thumbnail'
export type JobState = 'queued' | 'running' | 'done' | 'failed'

export const JOB_KINDS: readonly JobKind[] = ['probe', 'proxy', 'thumbnail']
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'failed']

export interface MediaJob {
  id: number
  recordingId: number
  kind: JobKind
  state: JobState
  attempts: number
  lastError: string | null
  result: string | null
  nextAttemptAt: string
  createdAt: string
  updatedAt: string
  startedAt: string | null
  finishedAt: string | null
  workerPid: number | null
  workerBoot: string | null
  ffmpegPid: number | null
  tempPath: string | null
  /** Claim order within the kind, lowest first (migration 023; a proxy's is set by its probe). */
  rank: number
  /** The recording's other job this one makes in the same run (migration 024; set by the probe): claimed with it. */
  carries: JobKind | null
}

/** A claimed job, and the job it carries when that was claimed with it (see claimNextJob). */
export interface ClaimedJob extends MediaJob {
  carried?: MediaJob
}

const JOB_SELECT = `SELECT id, recording_id AS recordingId, kind, state, attempts, last_error AS lastError, result,
  next_attempt_at AS nextAttemptAt, created_at AS createdAt, updated_at AS updatedAt, started_at AS startedAt,
  finished_at AS finishedAt, worker_pid AS workerPid, worker_boot AS workerBoot, ffmpeg_pid AS ffmpegPid, temp_path AS tempPath, rank, carries
  FROM media_jobs`

/**
 * Queues these jobs of one recording. Called inside the transaction that
 * records the ingest (the station's hook), so a recording never exists
 * without its jobs. Idempotent.
 */
export function queueMediaJobs(db: Db, recordingId: number, kinds: readonly JobKind[], at: string): void {
  const stmt = db.prepare(`INSERT INTO media_jobs (recording_id, kind, state, next_attempt_at, created_at, updated_at)
    VALUES (?, ?, 'queued', ?, ?, ?) ON CONFLICT (recording_id, kind) DO NOTHING`)
  for (const k of kinds) stmt.run(recordingId, k, at, at, at)
}

/**
 * A job as a catalog rebuilt from the bucket restores it: done when the
 * ledger holds its result, failed when it holds its failure, else queued
 * (the worker does it, or finds it needs nothing).
 */
export function restoreMediaJob(
  db: Db,
  j: { recordingId: number; kind: JobKind; state: 'queued' | 'done' | 'failed'; result: string | null; lastError: string | null; attempts: number; at: string },
): void {
  db.prepare(`INSERT INTO media_jobs (recording_id, kind, state, attempts, last_error, result, next_attempt_at, created_at, updated_at, finished_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    j.recordingId,
    j.kind,
    j.state,
    j.attempts,
    j.lastError,
    j.result,
    j.at,
    j.at,
    j.at,
    j.state === 'queued' ? null : j.at,
  )
}

export function getJob(db: Db, id: number): MediaJob | undefined {
  return db.prepare(`${JOB_SELECT} WHERE id = ?`).get(id) as MediaJob | undefined
}

export function jobsOf(db: Db, recordingId: number): MediaJob[] {
  return db.prepare(`${JOB_SELECT} WHERE recording_id = ? ORDER BY id`).all(recordingId) as MediaJob[]
}

export function jobsInState(db: Db, state: JobState): MediaJob[] {
  return db.prepare(`${JOB_SELECT} WHERE state = ? ORDER BY id`).all(state) as MediaJob[]
}

export interface Claimer {
  pid: number
  boot: string
}

/** Sets the claim rank of a recording's job of `kind` (lower first within its kind; migration 023). */
export function setJobRank(db: Db, recordingId: number, kind: JobKind, rank: number): void {
  db.prepare('UPDATE media_jobs SET rank = ? WHERE recording_id = ? AND kind = ?').run(rank, recordingId, kind)
}

/** Records which of the recording's other jobs its job of `kind` makes in the same run (null: none). */
export function setJobCarries(db: Db, recordingId: number, kind: JobKind, carries: JobKind | null): void {
  db.prepare('UPDATE media_jobs SET carries = ? WHERE recording_id = ? AND kind = ?').run(carries, recordingId, kind)
}

/**
 * Atomically takes the next job that is due: queued, its next attempt time
 * reached, and (for proxies and thumbnails) its recording's probe done;
 * lowest `priority` first, then lowest rank, then oldest. Counts the
 * attempt. Undefined when nothing is due.
 *
 * The one rule of carried jobs (migration 024): a job that `carries`
 * another kind claims the recording's queued job of that kind with it, in
 * this transaction (same claimer, same start, the attempt counted), when
 * this claimer runs both kinds; and a carried job is not claimed alone
 * while its carrier is queued or running. A carried job that was not
 * queued (running elsewhere, done, failed) stays as it is: the carrier
 * then runs alone.
 */
export function claimNextJob(db: Db, who: Claimer, now: Date, priority: Record<JobKind, number>, kinds?: readonly JobKind[]): ClaimedJob | undefined {
  const at = now.toISOString()
  const kindFilter = kinds?.length ? `AND j.kind IN (${kinds.map(() => '?').join(', ')})` : ''
  const carrierFilter = kinds?.length ? `AND c.kind IN (${kinds.map(() => '?').join(', ')})` : ''
  const order = `CASE j.kind ${JOB_KINDS.map((k) => `WHEN '${k}' THEN ${Number(priority[k])}`).join(' ')} END`
  const claim = db.prepare(`UPDATE media_jobs SET state = 'running', attempts = attempts + 1, worker_pid = ?, worker_boot = ?, started_at = ?, updated_at = ?,
      finished_at = NULL, ffmpeg_pid = NULL, temp_path = NULL WHERE id = ?`)
  // Without its own fsync (commitWithoutFsync): a claim lost to a power cut leaves the job queued, as recovery would.
  return commitWithoutFsync(db, (): ClaimedJob | undefined => {
    const next = db
      .prepare(`SELECT j.id FROM media_jobs j
      WHERE j.state = 'queued' AND j.next_attempt_at <= ? ${kindFilter}
        AND (j.kind = 'probe' OR EXISTS (SELECT 1 FROM media_jobs p WHERE p.recording_id = j.recording_id AND p.kind = 'probe' AND p.state = 'done'))
        AND NOT EXISTS (SELECT 1 FROM media_jobs c WHERE c.recording_id = j.recording_id AND c.carries = j.kind AND c.state IN ('queued', 'running') ${carrierFilter})
      ORDER BY ${order}, j.rank, j.id LIMIT 1`)
      .get(at, ...(kinds ?? []), ...(kinds ?? [])) as { id: number } | undefined
    if (!next) return undefined
    claim.run(who.pid, who.boot, at, at, next.id)
    const job: ClaimedJob = getJob(db, next.id)!
    if (job.carries !== null && (!kinds?.length || kinds.includes(job.carries))) {
      const c = db.prepare("SELECT id FROM media_jobs WHERE recording_id = ? AND kind = ? AND state = 'queued'").get(job.recordingId, job.carries) as
        | { id: number }
        | undefined
      if (c) {
        claim.run(who.pid, who.boot, at, at, c.id)
        job.carried = getJob(db, c.id)!
      }
    }
    return job
  })
}

/**
 * Hands the job `carrier` carries back to the queue as a job of its own
 * (the carrier gives up carrying it; the attempt it counted is refunded):
 * after a combined run failed, or when the carrier has nothing to make in
 * one run. Only while `carrier`'s claim still holds it; `carrier` forgets
 * it either way. Returns whether it was handed back.
 */
export function releaseCarried(db: Db, carrier: ClaimedJob, now: Date): boolean {
  const c = carrier.carried
  if (!c) return false
  return db
    .transaction((): boolean => {
      db.prepare('UPDATE media_jobs SET carries = NULL, updated_at = ? WHERE id = ?').run(now.toISOString(), carrier.id)
      const held = db
        .prepare(`UPDATE media_jobs SET state = 'queued', attempts = max(0, attempts - 1), next_attempt_at = ?, updated_at = ?,
        worker_pid = NULL, worker_boot = NULL, ffmpeg_pid = NULL, temp_path = NULL
        WHERE id = ? AND state = 'running' AND worker_pid IS ? AND worker_boot IS ? AND started_at IS ?`)
        .run(now.toISOString(), now.toISOString(), c.id, c.workerPid, c.workerBoot, c.startedAt).changes
      delete carrier.carried
      return held > 0
    })
    .immediate()
}

/** Earliest next attempt of a queued job (a retry waiting out its backoff), if any. */
export function nextQueuedAt(db: Db, kinds?: readonly JobKind[]): string | undefined {
  const kindFilter = kinds?.length ? `AND kind IN (${kinds.map(() => '?').join(', ')})` : ''
  const r = db.prepare(`SELECT min(next_attempt_at) AS t FROM media_jobs WHERE state = 'queued' ${kindFilter}`).get(...(kinds ?? [])) as { t: string | null }
  return r.t ?? undefined
}

/** Remembers the temp output / ffmpeg pid of a running job, for recovery after a crash. */
export function noteJobProcess(db: Db, notes: readonly { id: number; tempPath?: string | null; ffmpegPid?: number | null }[]): void {
  commitWithoutFsync(db, () => {
    for (const p of notes) {
      if (p.tempPath !== undefined) db.prepare('UPDATE media_jobs SET temp_path = ? WHERE id = ?').run(p.tempPath, p.id)
      if (p.ffmpegPid !== undefined) db.prepare('UPDATE media_jobs SET ffmpeg_pid = ? WHERE id = ?').run(p.ffmpegPid, p.id)
    }
  })
}

/** Marks a running job done (call inside the transaction that records its result). */
export function markJobDone(db: Db, id: number, result: string, now: Date): void {
  const at = now.toISOString()
  db.prepare(
    `UPDATE media_jobs SET state = 'done', result = ?, last_error = NULL, finished_at = ?, updated_at = ?, ffmpeg_pid = NULL, temp_path = NULL WHERE id = ?`,
  ).run(result, at, at, id)
}

export function markJobFailed(db: Db, id: number, error: string, now: Date): void {
  const at = now.toISOString()
  db.prepare(`UPDATE media_jobs SET state = 'failed', last_error = ?, finished_at = ?, updated_at = ?, ffmpeg_pid = NULL, temp_path = NULL WHERE id = ?`).run(
    error,
    at,
    at,
    id,
  )
}

/** Back to the queue: a retry after `nextAttemptAt`, or (refund) an attempt that was interrupted, not failed. */
export function requeueJob(db: Db, id: number, opts: { error: string | null; nextAttemptAt: string; refundAttempt?: boolean }, now: Date): void {
  db.prepare(`UPDATE media_jobs SET state = 'queued', last_error = coalesce(?, last_error), next_attempt_at = ?, updated_at = ?,
    attempts = max(0, attempts - ?), worker_pid = NULL, worker_boot = NULL, ffmpeg_pid = NULL, temp_path = NULL WHERE id = ?`).run(
    opts.error,
    opts.nextAttemptAt,
    now.toISOString(),
    opts.refundAttempt ? 1 : 0,
    id,
  )
}

/** Fails the queued proxy/thumbnail jobs of a recording whose probe failed for good. Returns their kinds. */
export function failDependents(db: Db, recordingId: number, error: string, now: Date): JobKind[] {
  const rows = db.prepare(`SELECT id, kind FROM media_jobs WHERE recording_id = ? AND kind <> 'probe' AND state = 'queued'`).all(recordingId) as {
    id: number
    kind: JobKind
  }[]
  for (const r of rows) markJobFailed(db, r.id, error, now)
  return rows.map((r) => r.kind)
}

/**
 * Puts failed jobs back in the queue with a fresh attempt budget (after the
 * operator fixed the cause, e.g. installed ffmpeg), together with the other
 * failed jobs of the same recordings (a proxy needs its probe, a retried
 * probe brings back the jobs it failed unrun). `ids` empty: every failed
 * job. Returns how many were requeued.
 */
export function retryFailedJobs(db: Db, ids: readonly number[], now: Date): number {
  const at = now.toISOString()
  const picked = ids.length ? `id IN (${ids.map(() => '?').join(', ')})` : '1'
  return db
    .prepare(`UPDATE media_jobs SET state = 'queued', attempts = 0, next_attempt_at = ?, updated_at = ?, finished_at = NULL
    WHERE state = 'failed' AND recording_id IN (SELECT recording_id FROM media_jobs WHERE state = 'failed' AND ${picked})`)
    .run(at, at, ...ids).changes
}

export interface MediaStatus {
  /** Jobs per state (all four always present). */
  byState: Record<JobState, number>
  /** Jobs per kind and state. */
  byKind: Record<JobKind, Record<JobState, number>>
  failed: { jobId: number; recordingId: number; sourcePath: string; kind: JobKind; attempts: number; error: string | null; finishedAt: string | null }[]
  running: { jobId: number; recordingId: number; sourcePath: string; kind: JobKind; attempts: number; startedAt: string | null; workerPid: number | null }[]
  /** Queued jobs waiting for a retry (their last attempt failed). */
  retrying: { jobId: number; recordingId: number; sourcePath: string; kind: JobKind; attempts: number; error: string | null; nextAttemptAt: string }[]
  derivatives: number
}

function zeroStates(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>
}

/** The queue as `bodyvault media status` shows it. */
export function mediaStatus(db: Db): MediaStatus {
  const byState = zeroStates()
  const byKind = Object.fromEntries(JOB_KINDS.map((k) => [k, zeroStates()])) as Record<JobKind, Record<JobState, number>>
  for (const r of db.prepare('SELECT kind, state, count(*) AS n FROM media_jobs GROUP BY kind, state').all() as {
    kind: JobKind
    state: JobState
    n: number
  }[]) {
    byState[r.state] += r.n
    byKind[r.kind][r.state] = r.n
  }
  const join = `FROM media_jobs j JOIN recordings r ON r.id = j.recording_id`
  const failed = db
    .prepare(`SELECT j.id AS jobId, j.recording_id AS recordingId, r.source_path AS sourcePath, j.kind, j.attempts, j.last_error AS error, j.finished_at AS finishedAt
    ${join} WHERE j.state = 'failed' ORDER BY j.id`)
    .all() as MediaStatus['failed']
  const running = db
    .prepare(`SELECT j.id AS jobId, j.recording_id AS recordingId, r.source_path AS sourcePath, j.kind, j.attempts, j.started_at AS startedAt, j.worker_pid AS workerPid
    ${join} WHERE j.state = 'running' ORDER BY j.id`)
    .all() as MediaStatus['running']
  const retrying = db
    .prepare(`SELECT j.id AS jobId, j.recording_id AS recordingId, r.source_path AS sourcePath, j.kind, j.attempts, j.last_error AS error, j.next_attempt_at AS nextAttemptAt
    ${join} WHERE j.state = 'queued' AND j.attempts > 0 ORDER BY j.next_attempt_at, j.id`)
    .all() as MediaStatus['retrying']
  const derivatives = (db.prepare('SELECT count(*) AS n FROM derivatives').get() as { n: number }).n
  return { byState, byKind, failed, running, retrying, derivatives }
}
