/**
 * MediaWorker: runs the persisted media jobs (probe, proxy, thumbnail) of
 * the catalog, a few at a time, with retries and crash recovery.
 *
 * - Jobs are queued by the ingest transaction itself (the station's hook),
 *   so nothing ingested is ever without its jobs, and ingest never waits for
 *   them: safe-to-undock depends on originals only.
 * - A job is claimed atomically (state running, attempt counted, this
 *   process's pid and boot id recorded). Its ffmpeg output goes to a temp
 *   file in the data dir's staging folder (named `<pid>-media-…`, so the
 *   vault's staging sweep knows whose it is), is fsynced, hashed and
 *   committed into objects/ like an original; then ONE transaction writes
 *   the derivatives row, its `derived` ledger event and marks the job done.
 *   A kill at any moment leaves at worst a temp file (swept) or an object
 *   no row points to (listed by verify as a note): never a half-written
 *   derivative that counts.
 * - On start, jobs left `running` by a dead process go back to the queue;
 *   an ffmpeg it left behind (detached into its own process group, so it
 *   outlives a kill -9 of its parent) is killed when its command line still
 *   names that job's temp file; staging leftovers are removed.
 * - Failures: ffmpeg refusing the input (a truncated or corrupt original)
 *   fails the job for good with ffmpeg's stderr tail and appends a
 *   `media-failed` ledger event; anything else is retried with exponential
 *   backoff up to media.maxAttempts. The original stays in the vault.
 *
 * One MediaWorker per process; several processes (the daemon and a
 * `bodyvault media run`) may share a catalog.
 */
import { randomBytes } from 'node:crypto'
import { constants as C, readFileSync } from 'node:fs'
import { open, readFile, rm, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { availableParallelism } from 'node:os'
import type { Db } from '../catalog/db.js'
import { getRecording, type Recording } from '../catalog/recordings.js'
import { errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { subjects } from '../ledger/events.js'
import type { DockingProfile } from '../camera/profile.js'
import { hashFile } from '../vault/hash.js'
import type { MediaSettings } from './settings.js'

export type { MediaSettings } from './settings.js'
import { appendEvent } from '../ledger/ledger.js'
import type { Vault } from '../vault/store.js'
import { audioProxyArgs, probeArgs, thumbnailArgs, versionArgs, videoProxyArgs, type CommandSpec } from './args.js'
import { getDerivative, insertDerivative, nextDerivativeId, type DerivativeKind } from '../catalog/derivatives.js'
import { getMediaInfoRow, insertLink, insertMediaInfo, linkedSidecar, storedRecordingsOfBase } from '../catalog/media-info.js'
import {
  claimNextJob,
  failDependents,
  getJob,
  jobsInState,
  markJobDone,
  markJobFailed,
  nextQueuedAt,
  noteJobProcess,
  requeueJob,
  type Claimer,
  type JobKind,
  type MediaJob,
} from '../catalog/media-jobs.js'
import { factsFromProbe, factsFromSidecar, sha256Text, type FactsWithBlobs, type TimeRule } from './facts.js'
import { FfmpegError, runFfmpeg, type RunFfmpegOptions } from './ffmpeg.js'
import {
  afterFailure,
  autoConcurrency,
  baseKey,
  classifyFailure,
  DERIVATIVE_MIME,
  describeFailure,
  JOB_PRIORITY,
  PermanentMediaError,
  proxyKindFor,
  recordedArgs,
  runTimeoutMs,
  thumbnailSeek,
} from './policy.js'
import { parseFfmpegVersion, parseProbe } from './probe.js'

/** The `media` section of the configuration. */
export interface MediaWorkerOptions {
  db: Db
  vault: Vault
  settings: MediaSettings
  /** Docking profiles: a recording's profile gives the camera time zone and the creation-time rule. */
  profiles: Map<string, DockingProfile>
  /** Used when a recording's profile is no longer configured. */
  stationTimezone: string
  /** Who the ledger names, e.g. "station:station-01". */
  actor: string
  logger: Logger
  /** How often an idle daemon worker looks for new jobs. Default 2000 ms. */
  pollMs?: number
  /** Only these job kinds (benchmarks, `media run --kind`). */
  kinds?: readonly JobKind[]
  /** Read-buffer size for hashing derivatives. Default 4 MiB. */
  chunkBytes?: number
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

const SIDECAR_MAX_BYTES = 16 << 20

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errnoCode(err) === 'EPERM'
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, C.O_RDONLY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The job lost its claim (recovered by another process as stale): its result is dropped. */
class LostClaim extends Error {}

interface Running {
  job: MediaJob
  abort: AbortController
  done: Promise<JobOutcome>
}

export class MediaWorker {
  readonly concurrency: number
  private readonly o: MediaWorkerOptions
  private readonly log: Logger
  private readonly me: Claimer
  private readonly running = new Map<number, Running>()
  /** ffmpeg/ffprobe wall time spent per running job. */
  private readonly toolMs = new Map<number, number>()
  private stopping = false
  private loop: Promise<void> | undefined
  private wakeUp: (() => void) | undefined
  private ffmpegVersion: Promise<string | null> | undefined
  private ffprobeVersion: Promise<string | null> | undefined

  constructor(o: MediaWorkerOptions) {
    this.o = o
    this.log = o.logger.child({ component: 'media' })
    this.me = { pid: process.pid, boot: bootId() }
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
    for (const job of jobsInState(this.o.db, 'running')) {
      if (this.running.has(job.id)) continue
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

  private async runJob(job: MediaJob, signal: AbortSignal): Promise<JobOutcome> {
    const t0 = Date.now()
    const base = { jobId: job.id, recordingId: job.recordingId, kind: job.kind }
    this.log.debug({ event: 'media.job_start', ...base, attempt: job.attempts }, 'media job started')
    try {
      const rec = getRecording(this.o.db, job.recordingId)
      if (!rec) throw new PermanentMediaError('MEDIA_NO_RECORDING', `recording ${job.recordingId} is not in the catalog`)
      let result: string
      if (rec.status !== 'stored') {
        result = `skipped: recording is ${rec.status}`
        this.commit(job, () => undefined, result)
      } else if (job.kind === 'probe') {
        result = await this.probe(job, rec, signal)
      } else if (job.kind === 'proxy') {
        result = await this.proxy(job, rec, signal)
      } else {
        result = await this.thumbnail(job, rec, signal)
      }
      const ms = Date.now() - t0
      const ffmpegMs = this.toolMs.get(job.id) ?? 0
      this.log.info({ event: 'media.job_done', ...base, result, ms, ffmpegMs }, 'media job done')
      this.toolMs.delete(job.id)
      return { ...base, outcome: 'done', result, ms, ffmpegMs }
    } catch (err) {
      const ms = Date.now() - t0
      const now = new Date()
      this.toolMs.delete(job.id)
      if (err instanceof LostClaim) {
        this.log.warn({ event: 'media.job_lost', ...base }, 'media job was taken over by another worker; result dropped')
        return { ...base, outcome: 'interrupted', error: 'claim lost', ms }
      }
      if (signal.aborted && this.stopping) {
        requeueJob(this.o.db, job.id, { error: null, nextAttemptAt: now.toISOString(), refundAttempt: true }, now)
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
      requeueJob(this.o.db, job.id, { error, nextAttemptAt: next.nextAttemptAt }, now)
      this.log.warn(
        { event: 'media.job_retry', ...base, attempts: job.attempts, nextAttemptAt: next.nextAttemptAt, err: error },
        'media job failed; will retry',
      )
      return { ...base, outcome: 'retry', error, nextAttemptAt: next.nextAttemptAt, ms }
    }
  }

  /** Fails a job for good: the job row, the dependents of a probe, and a `media-failed` ledger event, in one transaction. */
  private finalFailure(job: MediaJob, error: string, code: string, now: Date): void {
    this.o.db
      .transaction(() => {
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

  /** Runs `write` and marks the job done in one transaction, if this worker still owns the job. */
  private commit<T>(job: MediaJob, write: () => T, result: string | ((v: T) => string)): string {
    return this.o.db
      .transaction((): string => {
        const cur = getJob(this.o.db, job.id)
        if (cur?.state !== 'running' || cur.workerPid !== this.me.pid || cur.workerBoot !== this.me.boot) throw new LostClaim()
        const v = write()
        const text = typeof result === 'string' ? result : result(v)
        markJobDone(this.o.db, job.id, text, new Date())
        return text
      })
      .immediate()
  }

  private timeRule(rec: Recording): TimeRule {
    const p = this.o.profiles.get(rec.profileId)
    return {
      profileId: p ? p.id : null,
      timeZone: p?.timezone ?? this.o.stationTimezone,
      creationTimeIsLocal: p?.creationTimeIsLocal ?? false,
    }
  }

  private runOpts(signal: AbortSignal, timeoutMs: number, job?: MediaJob): RunFfmpegOptions {
    const s = this.o.settings
    return {
      timeoutMs,
      signal,
      nice: s.nice,
      ...(s.ffmpegPath ? { ffmpegPath: s.ffmpegPath } : {}),
      ...(s.ffprobePath ? { ffprobePath: s.ffprobePath } : {}),
      ...(job ? { onSpawn: (pid: number) => noteJobProcess(this.o.db, job.id, { ffmpegPid: pid }) } : {}),
    }
  }

  /** Looks up (and caches) the ffmpeg and ffprobe versions recorded with results; rejects when a tool is missing. */
  async toolVersions(): Promise<{ ffmpeg: string | null; ffprobe: string | null }> {
    return { ffmpeg: await this.version('ffmpeg'), ffprobe: await this.version('ffprobe') }
  }

  private version(tool: 'ffmpeg' | 'ffprobe'): Promise<string | null> {
    const get = async (): Promise<string | null> =>
      parseFfmpegVersion((await runFfmpeg(versionArgs(tool), this.runOpts(new AbortController().signal, 15_000))).stdout)
    if (tool === 'ffmpeg') {
      this.ffmpegVersion ??= get().catch((err: unknown) => {
        this.ffmpegVersion = undefined
        throw err
      })
      return this.ffmpegVersion
    }
    this.ffprobeVersion ??= get().catch((err: unknown) => {
      this.ffprobeVersion = undefined
      throw err
    })
    return this.ffprobeVersion
  }

  /** The original's vault path; a missing object is a vault problem (verify reports it), retried. */
  private async original(rec: Recording): Promise<string> {
    const p = this.o.vault.objectPath(rec.sha256)
    try {
      await stat(p)
    } catch (err) {
      throw Object.assign(new Error(`the original of recording ${rec.id} is not in the vault (${errnoCode(err) ?? errorMessage(err)}): run bodyvault verify`), {
        code: 'MEDIA_ORIGINAL_MISSING',
      })
    }
    return p
  }

  // -------------------------------------------------------------------------
  // probe

  private async probe(job: MediaJob, rec: Recording, signal: AbortSignal): Promise<string> {
    if (getMediaInfoRow(this.o.db, rec.id)) {
      return this.commit(job, () => undefined, 'already probed')
    }
    const rule = this.timeRule(rec)
    let fb: FactsWithBlobs
    if (rec.kind === 'sidecar') {
      if (rec.size > SIDECAR_MAX_BYTES)
        throw new PermanentMediaError('MEDIA_SIDECAR_TOO_LARGE', `sidecar of ${rec.size} bytes is larger than ${SIDECAR_MAX_BYTES}: kept, not parsed`)
      const text = await readFile(await this.original(rec), 'utf8')
      fb = factsFromSidecar(text, extname(rec.sourcePath), rule)
    } else {
      const input = await this.original(rec)
      const r = await runFfmpeg(probeArgs(input), this.runOpts(signal, runTimeoutMs('probe', this.o.settings.timeoutSeconds, null)))
      this.toolMs.set(job.id, (this.toolMs.get(job.id) ?? 0) + r.durationMs)
      const parsed = parseProbe(r.stdout, { cameraTimeZone: rule.timeZone, creationTimeIsLocal: rule.creationTimeIsLocal })
      if (parsed.kind === 'unknown') throw new PermanentMediaError('MEDIA_NO_STREAMS', `ffprobe found no audio, video or image stream in ${rec.sourcePath}`)
      fb = factsFromProbe(parsed, rule, await this.version('ffprobe'))
    }
    const { facts, tags, gpsTrack } = fb
    return this.commit(
      job,
      () => {
        // Sidecar links are found inside the transaction, so two probes
        // running at once cannot both (or neither) record the same link.
        const links: { sidecarId: number; recordingId: number }[] = []
        const base = baseKey(rec.sourcePath)
        const others = storedRecordingsOfBase(this.o.db, rec.deviceId, base, rec.id).filter((o) => baseKey(o.sourcePath) === base)
        if (rec.kind === 'sidecar') {
          const clip = others.find((o) => o.kind !== 'sidecar')
          if (clip && linkedSidecar(this.o.db, rec.id) === undefined) links.push({ sidecarId: rec.id, recordingId: clip.id })
        } else {
          for (const o of others) {
            if (o.kind === 'sidecar' && linkedSidecar(this.o.db, o.id) === undefined) links.push({ sidecarId: o.id, recordingId: rec.id })
          }
        }
        const ev = appendEvent(this.o.db, {
          type: 'probed',
          actor: this.o.actor,
          subject: subjects.recording(rec.id),
          payload: { recordingId: rec.id, ...facts, links, gpsTrackSha256: gpsTrack === null ? null : sha256Text(gpsTrack) },
        })
        insertMediaInfo(this.o.db, { ...facts, recordingId: rec.id, tags, gpsTrack, probedAt: ev.at, eventSeq: ev.seq })
        for (const l of links) insertLink(this.o.db, l.sidecarId, l.recordingId, ev.seq)
        return links.length
      },
      (n) => `media-info: ${facts.mediaKind}${n ? `, ${n} sidecar link${n > 1 ? 's' : ''}` : ''}`,
    )
  }

  // -------------------------------------------------------------------------
  // derivatives

  private async proxy(job: MediaJob, rec: Recording, signal: AbortSignal): Promise<string> {
    const info = getMediaInfoRow(this.o.db, rec.id)
    if (!info) throw new Error(`recording ${rec.id} has no probe result yet`)
    const kind = proxyKindFor({ hasVideo: info.videoCodec !== null, hasAudio: info.audioCodec !== null, mediaKind: info.mediaKind })
    if (kind === null)
      return this.commit(job, () => undefined, `skipped: no ${info.mediaKind === 'photo' ? 'moving picture' : 'audio or video stream'} to make a proxy from`)
    const existing = getDerivative(this.o.db, rec.id, kind)
    if (existing) return this.commit(job, () => undefined, `derivative:${existing.id} (already made)`)
    const s = this.o.settings
    const input = await this.original(rec)
    const creationTime = info.createdUtc ?? undefined
    const timeoutMs = runTimeoutMs('proxy', s.timeoutSeconds, info.durationSec)
    return this.makeDerivative(job, rec, kind, input, signal, timeoutMs, (out) =>
      kind === 'proxy'
        ? videoProxyArgs(input, out, {
            hasAudio: info.audioCodec !== null,
            maxHeight: s.maxHeight,
            preset: s.preset,
            crf: s.crf,
            audioBitrate: s.audioBitrate,
            ...(creationTime ? { creationTime } : {}),
          })
        : audioProxyArgs(input, out, { audioBitrate: s.audioBitrate, ...(creationTime ? { creationTime } : {}) }),
    )
  }

  private async thumbnail(job: MediaJob, rec: Recording, signal: AbortSignal): Promise<string> {
    const info = getMediaInfoRow(this.o.db, rec.id)
    if (!info) throw new Error(`recording ${rec.id} has no probe result yet`)
    if (info.videoCodec === null) return this.commit(job, () => undefined, 'skipped: no picture to make a thumbnail from')
    const existing = getDerivative(this.o.db, rec.id, 'thumbnail')
    if (existing) return this.commit(job, () => undefined, `derivative:${existing.id} (already made)`)
    const input = await this.original(rec)
    const width = this.o.settings.thumbnailWidth
    const timeoutMs = runTimeoutMs('thumbnail', this.o.settings.timeoutSeconds, null)
    const at = info.mediaKind === 'photo' ? undefined : thumbnailSeek(info.durationSec)
    try {
      return await this.makeDerivative(job, rec, 'thumbnail', input, signal, timeoutMs, (out) =>
        thumbnailArgs(input, out, { width, ...(at !== undefined ? { atSeconds: at } : {}) }),
      )
    } catch (err) {
      // A duration that overstates the decodable part (a damaged tail) can
      // put 10% past the last frame: fall back to the first frame.
      if (at && at > 0 && err instanceof FfmpegError && err.code === 'FFMPEG_FAILED' && err.exitCode === 0 && !signal.aborted) {
        return this.makeDerivative(job, rec, 'thumbnail', input, signal, timeoutMs, (out) => thumbnailArgs(input, out, { width, atSeconds: 0 }))
      }
      throw err
    }
  }

  /**
   * ffmpeg into a temp file in staging, fsync, hash, commit into objects/,
   * then the derivatives row + `derived` event + job done in one transaction.
   */
  private async makeDerivative(
    job: MediaJob,
    rec: Recording,
    kind: DerivativeKind,
    input: string,
    signal: AbortSignal,
    timeoutMs: number,
    build: (out: string) => CommandSpec,
  ): Promise<string> {
    const temp = join(this.o.vault.stagingDir, `${process.pid}-media-j${job.id}-${randomBytes(6).toString('hex')}.part`)
    const spec = build(temp)
    const ffmpegVersion = await this.version('ffmpeg')
    noteJobProcess(this.o.db, job.id, { tempPath: temp })
    try {
      const r = await runFfmpeg(spec, this.runOpts(signal, timeoutMs, job))
      this.toolMs.set(job.id, (this.toolMs.get(job.id) ?? 0) + r.durationMs)
      await fsyncFile(temp)
      const h = await hashFile(temp, this.o.chunkBytes ?? 4 << 20)
      if (signal.aborted) throw new FfmpegError('FFMPEG_ABORTED', 'aborted')
      await this.o.vault.commitObject(temp, h.sha256)
      return this.commit(
        job,
        () => {
          const derivativeId = nextDerivativeId(this.o.db)
          const args = recordedArgs(spec.args, input, temp)
          const mimeType = DERIVATIVE_MIME[kind]
          const ev = appendEvent(this.o.db, {
            type: 'derived',
            actor: this.o.actor,
            subject: subjects.recording(rec.id),
            payload: { derivativeId, recordingId: rec.id, kind, sha256: h.sha256, size: h.size, mimeType, inputSha256: rec.sha256, ffmpegVersion, args },
          })
          insertDerivative(this.o.db, {
            id: derivativeId,
            recordingId: rec.id,
            kind,
            sha256: h.sha256,
            size: h.size,
            mimeType,
            inputSha256: rec.sha256,
            ffmpegVersion,
            args,
            createdAt: ev.at,
            eventSeq: ev.seq,
          })
          return derivativeId
        },
        (v) => `derivative:${v}`,
      )
    } finally {
      await rm(temp, { force: true })
    }
  }
}

function codeOf(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code
  return typeof c === 'string' ? c : 'MEDIA_FAILED'
}

/**
 * Kills an ffmpeg (and its process group) left behind by a dead worker,
 * but only when /proc shows its command line still names the job's temp
 * file: a reused pid is never touched. Linux only; elsewhere a no-op.
 */
async function killOrphan(pid: number, tempPath: string): Promise<boolean> {
  let cmdline: string
  try {
    cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return false
  }
  if (!cmdline.split('\0').some((a) => a.includes(tempPath))) return false
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      return false
    }
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) {
    // A killed child of a dead parent is reaped by init; wait until it is gone.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    if (stat === '' || / Z /.test(stat)) break
    await sleep(20)
  }
  return true
}
