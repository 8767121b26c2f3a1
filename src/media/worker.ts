/**
 * MediaWorker: runs the persisted media jobs (probe, proxy, thumbnail) of
 * the catalog, a few at a time, with retries and crash recovery. What one
 * job does is ./job-runner.ts.
 *
 * - Jobs are queued by the ingest transaction itself (the station's hook),
 *   so nothing ingested is ever without its jobs, and ingest never waits for
 *   them: safe-to-undock depends on originals only.
 * - A job is claimed atomically (state running, attempt counted, this
 *   process's pid and boot id recorded); its result commits in one
 *   transaction with its ledger event only while the claim holds.
 * - On start, jobs left `running` by a dead process go back to the queue;
 *   an ffmpeg it left behind (detached into its own process group, so it
 *   outlives a kill -9 of its parent) is killed when its command line still
 *   names that job's temp file (./orphans.ts); staging leftovers are removed.
 * - Failures: ffmpeg refusing the input (a truncated or corrupt original)
 *   fails the job for good with ffmpeg's stderr tail and appends a
 *   `media-failed` ledger event; anything else is retried with exponential
 *   backoff up to media.maxAttempts. The original stays in the vault.
 *
 * One MediaWorker per process; several processes (the daemon and a
 * `bodyvault media run`) may share a catalog.
 */
import { rm } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import {
  claimNextJob,
  failDependents,
  getJob,
  jobsInState,
  markJobFailed,
  nextQueuedAt,
  releaseCarried,
  requeueJob,
  type Claimer,
  type ClaimedJob,
  type JobKind,
} from '../catalog/media-jobs.js'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { LostClaim, MediaJobRunner, type JobRunnerOptions } from './job-runner.js'
import { bootId, isAlive, killOrphan } from './orphans.js'
import { afterFailure, autoConcurrency, classifyFailure, describeFailure, JOB_PRIORITY } from './policy.js'

export type { MediaSettings } from './settings.js'

/** A media worker: the station's parts and `media` settings, and how it polls. */
export interface MediaWorkerOptions extends JobRunnerOptions {
  logger: Logger
  /** How often an idle daemon worker looks for new jobs (the station pokes it when an ingest queues some). Default 2000 ms. */
  pollMs?: number
  /** Only these job kinds (benchmarks, `media run --kind`). */
  kinds?: readonly JobKind[]
}

export interface JobOutcome {
  jobId: number
  recordingId: number
  kind: JobKind
  /** done; failed (for good); retry (queued again after a backoff); interrupted (stop(): queued again, attempt refunded). */
  outcome: 'done' | 'failed' | 'retry' | 'interrupted'
  result?: string
  error?: string
  nextAttemptAt?: string
  ms: number
  /** Of which ffmpeg/ffprobe ran (the rest is the pipeline's own work: hashing, fsync, catalog). */
  ffmpegMs?: number
  /** The job this one carried and finished in the same run (a remuxed proxy's thumbnail). */
  carried?: { jobId: number; kind: JobKind; result: string }
}

export interface RecoverReport {
  /** Jobs a dead process left running, back in the queue. */
  requeued: number[]
  /** Jobs a dead process left running that had used up their attempts. */
  failed: number[]
  /** Orphaned ffmpeg processes (pids) that were killed. */
  killed: number[]
  /** Staging files removed. */
  stagingCleaned: number
}

export interface DrainReport {
  recovered: RecoverReport
  outcomes: JobOutcome[]
  durationMs: number
}

interface Running {
  job: ClaimedJob
  abort: AbortController
  done: Promise<JobOutcome>
}

export class MediaWorker {
  readonly concurrency: number
  private readonly o: MediaWorkerOptions
  private readonly log: Logger
  private readonly me: Claimer
  private readonly running = new Map<number, Running>()
  private readonly runner: MediaJobRunner
  private stopping = false
  private loop: Promise<void> | undefined
  private wakeUp: (() => void) | undefined

  constructor(o: MediaWorkerOptions) {
    this.o = o
    this.log = o.logger.child({ component: 'media' })
    this.me = { pid: process.pid, boot: bootId() }
    this.runner = new MediaJobRunner(o, this.me)
    this.concurrency = o.settings.concurrency ?? autoConcurrency(availableParallelism())
  }

  /** Starts the daemon loop: recovery, then jobs as they come (polling the catalog). */
  start(): void {
    if (this.loop) return
    this.stopping = false
    this.loop = this.runLoop('forever').catch((err: unknown) => {
      this.log.error({ event: 'media.worker_crashed', err: errorMessage(err) }, 'media worker stopped on an unexpected error')
    })
    this.log.info({ event: 'media.worker_start', concurrency: this.concurrency }, 'media worker started')
  }

  /** Stops claiming, aborts running ffmpeg runs (their jobs go back to the queue, attempt refunded) and waits. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const r of this.running.values()) r.abort.abort()
    this.wake()
    await this.loop
    await Promise.all([...this.running.values()].map((r) => r.done))
    this.loop = undefined
    this.log.info({ event: 'media.worker_stop' }, 'media worker stopped')
  }

  /**
   * Processes jobs until none is due (tests, `media run --once`), or, with
   * waitForRetries, until no job is left queued (`media run`).
   */
  async drain(opts: { waitForRetries?: boolean } = {}): Promise<DrainReport> {
    const t0 = Date.now()
    this.stopping = false
    const outcomes: JobOutcome[] = []
    const recovered = await this.recover()
    await this.runLoop(opts.waitForRetries ? 'until-empty' : 'until-idle', outcomes)
    return { recovered, outcomes, durationMs: Date.now() - t0 }
  }

  /**
   * New jobs are in the queue (an ingest transaction committed them): an
   * idle loop claims them now instead of at its next poll.
   */
  poke(): void {
    this.wake()
  }

  /** Requests the end of a drain/daemon loop without waiting (signal handlers). */
  requestStop(): void {
    this.stopping = true
    for (const r of this.running.values()) r.abort.abort()
    this.wake()
  }

  private wake(): void {
    const w = this.wakeUp
    this.wakeUp = undefined
    w?.()
  }

  private waitForWake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined
        resolve()
      }, ms)
      this.wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  private async runLoop(mode: 'forever' | 'until-idle' | 'until-empty', outcomes: JobOutcome[] = []): Promise<void> {
    const pollMs = this.o.pollMs ?? 2000
    let lastRecover = Date.now()
    if (mode === 'forever') await this.recover()
    while (!this.stopping) {
      try {
        if (mode === 'forever' && Date.now() - lastRecover > 30_000) {
          lastRecover = Date.now()
          await this.recover()
        }
        while (this.running.size < this.concurrency && !this.stopping) {
          const job = claimNextJob(this.o.db, this.me, new Date(), JOB_PRIORITY, this.o.kinds)
          if (!job) break
          const abort = new AbortController()
          const done = this.runJob(job, abort.signal)
            .catch((err: unknown): JobOutcome => {
              // Only bookkeeping errors get here (runJob records job failures itself).
              this.log.error({ event: 'media.job_error', jobId: job.id, err: errorMessage(err) }, 'media job bookkeeping failed; recovery will requeue it')
              return { jobId: job.id, recordingId: job.recordingId, kind: job.kind, outcome: 'retry', error: errorMessage(err), ms: 0 }
            })
            .then((out) => {
              outcomes.push(out)
              return out
            })
            .finally(() => {
              this.running.delete(job.id)
              this.wake()
            })
          this.running.set(job.id, { job, abort, done })
        }
      } catch (err) {
        this.log.error({ event: 'media.loop_error', err: errorMessage(err) }, 'media worker: could not claim a job; trying again')
      }
      if (this.stopping) break
      if (this.running.size === 0 && mode !== 'forever') {
        if (mode === 'until-idle') break
        const next = nextQueuedAt(this.o.db, this.o.kinds)
        if (next === undefined) break
        await this.waitForWake(Math.max(pollMs, Date.parse(next) - Date.now()))
        continue
      }
      await this.waitForWake(this.running.size > 0 ? 60_000 : pollMs)
    }
    await Promise.all([...this.running.values()].map((r) => r.done))
  }

  // -------------------------------------------------------------------------
  // recovery

  /**
   * Jobs left `running` by a process that is gone (or by an earlier worker
   * of this one) go back to the queue; their orphaned ffmpeg is killed and
   * their temp output removed; then dead processes' staging files are swept.
   */
  async recover(): Promise<RecoverReport> {
    const report: RecoverReport = { requeued: [], failed: [], killed: [], stagingCleaned: 0 }
    const now = new Date()
    // A job this worker runs, and the job it carries, are not leftovers.
    const held = new Set([...this.running.values()].flatMap((r) => [r.job.id, ...(r.job.carried ? [r.job.carried.id] : [])]))
    for (const job of jobsInState(this.o.db, 'running')) {
      if (held.has(job.id)) continue
      const sameBoot = this.me.boot !== '' && job.workerBoot === this.me.boot
      const mine = job.workerPid === this.me.pid && (sameBoot || this.me.boot === '')
      if (!mine && job.workerPid !== null && (sameBoot || this.me.boot === '') && isAlive(job.workerPid)) continue
      if (job.ffmpegPid !== null && job.tempPath !== null && (sameBoot || this.me.boot === '')) {
        if (await killOrphan(job.ffmpegPid, job.tempPath)) {
          report.killed.push(job.ffmpegPid)
          this.log.warn({ event: 'media.orphan_killed', jobId: job.id, pid: job.ffmpegPid }, 'killed an ffmpeg left running by a dead media worker')
        }
      }
      if (job.tempPath !== null) await rm(job.tempPath, { force: true })
      const error = `interrupted: the worker process (pid ${job.workerPid ?? '?'}) ended during attempt ${job.attempts}`
      // Check and change in one transaction: another process may be recovering (or have re-claimed) the same job.
      const outcome = this.o.db
        .transaction((): 'failed' | 'requeued' | 'gone' => {
          const claimed = getJob(this.o.db, job.id)
          if (claimed?.state !== 'running' || claimed.workerPid !== job.workerPid || claimed.startedAt !== job.startedAt) return 'gone'
          if (job.attempts >= this.o.settings.maxAttempts) {
            this.finalFailure(job, `${error}; no attempts left (media.maxAttempts ${this.o.settings.maxAttempts})`, 'MEDIA_INTERRUPTED', now)
            return 'failed'
          }
          requeueJob(this.o.db, job.id, { error, nextAttemptAt: now.toISOString() }, now)
          return 'requeued'
        })
        .immediate()
      if (outcome === 'failed') report.failed.push(job.id)
      else if (outcome === 'requeued') report.requeued.push(job.id)
    }
    report.stagingCleaned = (await this.o.vault.cleanStaging()).length
    if (report.requeued.length || report.failed.length || report.killed.length || report.stagingCleaned) {
      this.log.warn({ event: 'media.recovered', ...report }, 'media jobs of a dead process recovered')
    }
    return report
  }

  // -------------------------------------------------------------------------
  // one job

  private async runJob(job: ClaimedJob, signal: AbortSignal): Promise<JobOutcome> {
    const t0 = Date.now()
    const base = { jobId: job.id, recordingId: job.recordingId, kind: job.kind }
    this.log.debug({ event: 'media.job_start', ...base, attempt: job.attempts, carries: job.carried?.id }, 'media job started')
    try {
      const { result, ffmpegMs, carriedResult } = await this.runner.run(job, signal)
      const ms = Date.now() - t0
      const carried = job.carried && carriedResult !== undefined ? { carried: { jobId: job.carried.id, kind: job.carried.kind, result: carriedResult } } : {}
      this.log.info({ event: 'media.job_done', ...base, result, ms, ffmpegMs, ...carried }, 'media job done')
      return { ...base, outcome: 'done', result, ms, ffmpegMs, ...carried }
    } catch (err) {
      const ms = Date.now() - t0
      const now = new Date()
      if (err instanceof LostClaim) {
        this.log.warn({ event: 'media.job_lost', ...base }, 'media job was taken over by another worker; result dropped')
        return { ...base, outcome: 'interrupted', error: 'claim lost', ms }
      }
      if (signal.aborted && this.stopping) {
        // Both back, still together: a stop is no failure of either.
        this.o.db
          .transaction(() => {
            for (const j of [job, ...(job.carried ? [job.carried] : [])])
              requeueJob(this.o.db, j.id, { error: null, nextAttemptAt: now.toISOString(), refundAttempt: true }, now)
          })
          .immediate()
        this.log.info({ event: 'media.job_interrupted', ...base }, 'media job interrupted by stop; back in the queue')
        return { ...base, outcome: 'interrupted', ms }
      }
      const error = describeFailure(err)
      const cls = classifyFailure(err)
      const next = afterFailure(cls, job.attempts, this.o.settings.maxAttempts, this.o.settings.retryBaseSeconds, now)
      if (next.state === 'failed') {
        const why = cls === 'permanent' ? error : `${error}\n(gave up after ${job.attempts} attempts: media.maxAttempts)`
        this.finalFailure(job, why, codeOf(err), now)
        this.log.error(
          { event: 'media.job_failed', ...base, attempts: job.attempts, permanent: cls === 'permanent', err: error },
          'media job failed for good; the original stays in the vault',
        )
        return { ...base, outcome: 'failed', error: why, ms }
      }
      // A failed attempt parts a carried job from its carrier: it runs on its own.
      this.o.db
        .transaction(() => {
          releaseCarried(this.o.db, job, now)
          requeueJob(this.o.db, job.id, { error, nextAttemptAt: next.nextAttemptAt }, now)
        })
        .immediate()
      this.log.warn(
        { event: 'media.job_retry', ...base, attempts: job.attempts, nextAttemptAt: next.nextAttemptAt, err: error },
        'media job failed; will retry',
      )
      return { ...base, outcome: 'retry', error, nextAttemptAt: next.nextAttemptAt, ms }
    }
  }

  /** Fails a job for good: the job row, the dependents of a probe, and a `media-failed` ledger event, in one transaction (a job it carried goes back to the queue on its own). */
  private finalFailure(job: ClaimedJob, error: string, code: string, now: Date): void {
    this.o.db
      .transaction(() => {
        releaseCarried(this.o.db, job, now)
        markJobFailed(this.o.db, job.id, error, now)
        const dependents = job.kind === 'probe' ? failDependents(this.o.db, job.recordingId, `not run: the probe of this recording failed: ${error}`, now) : []
        appendEvent(this.o.db, {
          type: 'media-failed',
          actor: this.o.actor,
          subject: subjects.recording(job.recordingId),
          at: now,
          payload: { recordingId: job.recordingId, job: job.kind, jobId: job.id, attempts: job.attempts, code, error, dependentsFailed: dependents },
        })
      })
      .immediate()
  }

  /** Looks up (and caches) the ffmpeg and ffprobe versions recorded with results; rejects when a tool is missing. */
  toolVersions(): Promise<{ ffmpeg: string | null; ffprobe: string | null }> {
    return this.runner.toolVersions()
  }
}

function codeOf(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code
  return typeof c === 'string' ? c : 'MEDIA_FAILED'
}
