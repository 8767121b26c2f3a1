/**
 * What one media job does, once a worker (./worker.ts) has claimed it:
 *   probe      ffprobe (or, for a sidecar, parse it in-process), then ONE
 *              transaction: the media_info row, its sidecar links and the
 *              `probed` event, the job marked done;
 *   proxy      an H.264/AAC (or AAC-only) MP4 the browser plays,
 *   thumbnail  a JPEG, 10% into the recording: ffmpeg into a temp file in
 *              staging (named `<pid>-media-…`, so the vault's staging sweep
 *              knows whose it is), fsync, hash, commit into objects/ like an
 *              original; then ONE transaction: the derivatives row, its
 *              `derived` event, the job marked done (./keep-derivative.ts).
 *   a remux proxy job that carries the thumbnail job (claimed with it:
 *              src/catalog/media-jobs.ts) makes both in one ffmpeg run, and
 *              records both derivatives and marks both jobs done in ONE
 *              transaction; if that run fails, the thumbnail goes back to
 *              its own job and the proxy is made alone.
 * Every result commits only while this worker still holds the job's claim
 * (LostClaim otherwise: recovered as stale by another process). A kill at
 * any moment leaves at worst a temp file (swept) or an object no row points
 * to (listed by verify as a note): never a half-written derivative that counts.
 */
import { readFile, rm, stat } from 'node:fs/promises'
import { extname } from 'node:path'
import type { DockingProfile } from '../camera/profile.js'
import type { Db } from '../catalog/db.js'
import { getDerivative, type DerivativeKind } from '../catalog/derivatives.js'
import { getMediaInfoRow, insertLink, insertMediaInfo, linkedSidecar, storedRecordingsOfBase } from '../catalog/media-info.js'
import { getJob, markJobDone, noteJobProcess, setJobCarries, setJobRank, type Claimer, type ClaimedJob, type MediaJob } from '../catalog/media-jobs.js'
import { getRecording, type Recording } from '../catalog/recordings.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import { subjects, type ProxyRecord } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import type { Vault } from '../vault/store.js'
import { audioProxyArgs, probeArgs, remuxProxyArgs, thumbnailArgs, versionArgs, videoProxyArgs, type CommandSpec } from './args.js'
import { factsFromProbe, factsFromSidecar, sha256Text, type FactsWithBlobs, type TimeRule } from './facts.js'
import { FfmpegError, runFfmpeg, type RunFfmpegOptions } from './ffmpeg.js'
import {
  baseKey,
  classifyFailure,
  describeFailure,
  PermanentMediaError,
  proxyKindFor,
  proxyJobOfProbe,
  recordedArgs,
  runTimeoutMs,
  thumbnailSeek,
} from './policy.js'
import { encoderArgs, type EncoderKind } from './encoders.js'
import { recordDerivative, stagingTemp, storeOutput } from './keep-derivative.js'
import { remuxWithThumbnail, type RunnerKit } from './remux-with-thumbnail.js'
import { proxyPlan } from './proxy-policy.js'
import { parseFfmpegVersion } from './ffmpeg-output.js'
import { parseProbe } from './probe.js'
import type { MediaSettings } from './settings.js'

/** What running a job needs of the station. */
export interface JobRunnerOptions {
  db: Db
  vault: Vault
  settings: MediaSettings
  /** Docking profiles: a recording's profile gives the camera time zone and the creation-time rule. */
  profiles: Map<string, DockingProfile>
  /** Used when a recording's profile is no longer configured. */
  stationTimezone: string
  /** Who the ledger names, e.g. "station:station-01". */
  actor: string
  /** Read-buffer size for hashing derivatives. Default 4 MiB. */
  chunkBytes?: number
  /**
   * A readable local path of an original whose bytes are the recorded ones: fetched back if it was evicted to S3, checked
   * first unless checked within ORIGINAL_CHECK_HOLDS_MS (the station's fixity.checkedPath); default: the vault path only.
   * `signal` is the job's: a stop ends a check in the middle.
   */
  openOriginal?: (rec: Recording, signal: AbortSignal) => Promise<string>
}

/** The job lost its claim (recovered by another process as stale): its result is dropped. */
export class LostClaim extends Error {}

/** One run of one job: its claim (with the job it carries, if claimed with it), its abort signal, and the ffmpeg/ffprobe wall time it spent. */
export interface Run {
  job: ClaimedJob
  signal: AbortSignal
  ffmpegMs: number
}

const SIDECAR_MAX_BYTES = 16 << 20

/** What one job does (the combined remux + thumbnail run is ./remux-with-thumbnail.ts, given this runner as its kit). */
export class MediaJobRunner implements RunnerKit {
  private ffmpegVersion: Promise<string | null> | undefined
  private ffprobeVersion: Promise<string | null> | undefined
  /** What a job's result says beside its own (a proxy made alone after the one run with its thumbnail failed). */
  private readonly notes = new WeakMap<MediaJob, string>()

  constructor(
    readonly o: JobRunnerOptions,
    private readonly me: Claimer,
  ) {}

  /** Runs a claimed job to its committed result; throws what went wrong (the worker decides: retry or fail). */
  async run(job: ClaimedJob, signal: AbortSignal): Promise<{ result: string; ffmpegMs: number; carriedResult?: string }> {
    const run: Run = { job, signal, ffmpegMs: 0 }
    const rec = getRecording(this.o.db, job.recordingId)
    if (!rec) throw new PermanentMediaError('MEDIA_NO_RECORDING', `recording ${job.recordingId} is not in the catalog`)
    if (job.carried) {
      const both = await remuxWithThumbnail(this, run, rec)
      if ('proxy' in both) return { result: both.proxy, ffmpegMs: run.ffmpegMs, carriedResult: both.thumbnail }
      if (both.failed !== null) this.notes.set(job, ` (made alone: the one run with the thumbnail failed, the thumbnail is its own job again: ${both.failed})`)
    }
    let result: string
    if (rec.status !== 'stored') result = this.commit(job, () => undefined, `skipped: recording is ${rec.status}`)
    else if (job.kind === 'probe') result = await this.probe(run, rec)
    else if (job.kind === 'proxy') result = await this.proxy(run, rec)
    else result = await this.thumbnail(run, rec)
    return { result, ffmpegMs: run.ffmpegMs }
  }

  /**
   * Runs `write` and marks the job done in one transaction, if this worker
   * still owns the job (and `carried`, the job it carries, marked done too
   * with its own result, if it still owns that one as well).
   */
  commit<T>(job: MediaJob, write: () => T, result: string | ((v: T) => string), carried?: { job: MediaJob; result: (v: T) => string }): string {
    const owned = (j: MediaJob): boolean => {
      const cur = getJob(this.o.db, j.id)
      return cur?.state === 'running' && cur.workerPid === this.me.pid && cur.workerBoot === this.me.boot && cur.startedAt === j.startedAt
    }
    return this.o.db
      .transaction((): string => {
        if (!owned(job) || (carried && !owned(carried.job))) throw new LostClaim()
        const v = write()
        const text = (typeof result === 'string' ? result : result(v)) + (this.notes.get(job) ?? '')
        const now = new Date()
        markJobDone(this.o.db, job.id, text, now)
        if (carried) markJobDone(this.o.db, carried.job.id, carried.result(v), now)
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

  runOpts(signal: AbortSignal, timeoutMs: number, job?: MediaJob): RunFfmpegOptions {
    const s = this.o.settings
    return {
      timeoutMs,
      signal,
      nice: s.nice,
      ...(s.ffmpegPath ? { ffmpegPath: s.ffmpegPath } : {}),
      ...(s.ffprobePath ? { ffprobePath: s.ffprobePath } : {}),
      ...(job ? { onSpawn: (pid: number) => noteJobProcess(this.o.db, [{ id: job.id, ffmpegPid: pid }]) } : {}),
    }
  }

  /** Looks up (and caches) the ffmpeg and ffprobe versions recorded with results; rejects when a tool is missing. */
  async toolVersions(): Promise<{ ffmpeg: string | null; ffprobe: string | null }> {
    return { ffmpeg: await this.version('ffmpeg'), ffprobe: await this.version('ffprobe') }
  }

  version(tool: 'ffmpeg' | 'ffprobe'): Promise<string | null> {
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

  /**
   * The original's vault path (fetched back first if it was evicted); a missing object is a vault problem (verify
   * reports it), retried. A stop during its check ends the job as a stop during ffmpeg does.
   */
  async original(rec: Recording, signal: AbortSignal): Promise<string> {
    const p = this.o.vault.objectPath(rec.sha256)
    try {
      if (this.o.openOriginal) return await this.o.openOriginal(rec, signal)
      await stat(p)
    } catch (err) {
      if (signal.aborted) throw new FfmpegError('FFMPEG_ABORTED', 'aborted')
      // Its bytes are not the recorded ones (reported, and no good copy to restore): in its own words.
      if (err instanceof BodyvaultError && err.code === 'OBJECT_CORRUPT') throw err
      throw Object.assign(new Error(`the original of recording ${rec.id} is not in the vault (${errnoCode(err) ?? errorMessage(err)}): run bodyvault verify`), {
        code: 'MEDIA_ORIGINAL_MISSING',
      })
    }
    return p
  }

  // -------------------------------------------------------------------------
  // probe

  private async probe(run: Run, rec: Recording): Promise<string> {
    const { job, signal } = run
    if (getMediaInfoRow(this.o.db, rec.id)) {
      return this.commit(job, () => undefined, 'already probed')
    }
    const rule = this.timeRule(rec)
    let fb: FactsWithBlobs
    if (rec.kind === 'sidecar') {
      if (rec.size > SIDECAR_MAX_BYTES)
        throw new PermanentMediaError('MEDIA_SIDECAR_TOO_LARGE', `sidecar of ${rec.size} bytes is larger than ${SIDECAR_MAX_BYTES}: kept, not parsed`)
      const text = await readFile(await this.original(rec, signal), 'utf8')
      fb = factsFromSidecar(text, extname(rec.sourcePath), rule)
    } else {
      const input = await this.original(rec, signal)
      const r = await runFfmpeg(probeArgs(input), this.runOpts(signal, runTimeoutMs('probe', this.o.settings.timeoutSeconds, null)))
      run.ffmpegMs += r.durationMs
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
        // Now the proxy's cost is known (a copy is claimed before transcodes), and whether a remux also writes the thumbnail.
        const job = proxyJobOfProbe(facts, this.o.settings.proxy)
        if (job) {
          setJobRank(this.o.db, rec.id, 'proxy', job.rank)
          setJobCarries(this.o.db, rec.id, 'proxy', job.carries)
        }
        for (const l of links) insertLink(this.o.db, l.sidecarId, l.recordingId, ev.seq)
        return links.length
      },
      (n) => `media-info: ${facts.mediaKind}${n ? `, ${n} sidecar link${n > 1 ? 's' : ''}` : ''}`,
    )
  }

  // -------------------------------------------------------------------------
  // derivatives

  private async proxy(run: Run, rec: Recording): Promise<string> {
    const { job } = run
    const info = getMediaInfoRow(this.o.db, rec.id)
    if (!info) throw new Error(`recording ${rec.id} has no probe result yet`)
    const kind = proxyKindFor({ hasVideo: info.videoCodec !== null, hasAudio: info.audioCodec !== null, mediaKind: info.mediaKind })
    if (kind === null)
      return this.commit(job, () => undefined, `skipped: no ${info.mediaKind === 'photo' ? 'moving picture' : 'audio or video stream'} to make a proxy from`)
    const existing = getDerivative(this.o.db, rec.id, kind)
    if (existing) return this.commit(job, () => undefined, `derivative:${existing.id} (already made)`)
    const s = this.o.settings
    const input = await this.original(rec, run.signal)
    const ct = info.createdUtc ? { creationTime: info.createdUtc } : {}
    const hasAudio = info.audioCodec !== null
    const timeoutMs = runTimeoutMs('proxy', s.timeoutSeconds, info.durationSec)
    const withEncoder = (e: EncoderKind) => {
      const encoder = encoderArgs(e, { device: s.proxy.device, preset: s.preset, crf: s.crf })
      const build = (out: string): CommandSpec =>
        kind === 'proxy'
          ? videoProxyArgs(input, out, { hasAudio, maxHeight: s.maxHeight, audioBitrate: s.audioBitrate, encoder, ...ct })
          : audioProxyArgs(input, out, { audioBitrate: s.audioBitrate, ...ct })
      return { name: kind === 'proxy' ? encoder.name : 'aac', build }
    }
    // On the configured encoder; a hardware encoder that fails (no device,
    // a driver that refuses) hands over to libx264 in the same run.
    const transcode = async (how: ProxyRecord): Promise<string> => {
      if (kind === 'proxy' && s.proxy.encoder !== 'software') {
        const hw = withEncoder(s.proxy.encoder)
        try {
          return await this.makeDerivative(run, rec, kind, input, timeoutMs, hw.build, { ...how, encoder: hw.name })
        } catch (err) {
          if (!(err instanceof FfmpegError) || err.code === 'FFMPEG_ABORTED' || run.signal.aborted) throw err
          const failed = `${hw.name} failed: ${describeFailure(err, 300)}`
          how = { ...how, fallback: how.fallback ? `${how.fallback}; ${failed}` : failed }
        }
      }
      const sw = withEncoder('software')
      return this.makeDerivative(run, rec, kind, input, timeoutMs, sw.build, { ...how, encoder: sw.name })
    }
    const plan = proxyPlan(kind, info, s.proxy)
    if (plan.method === 'transcode') return transcode(plan)
    try {
      return await this.makeDerivative(run, rec, kind, input, timeoutMs, (out) => remuxProxyArgs(input, out, { kind, hasAudio, ...ct }), plan)
    } catch (err) {
      // Streams the probe called playable that the MP4 muxer refuses (odd
      // time stamps, a damaged packet): the proxy is still made in this run.
      if (!(err instanceof FfmpegError) || err.code !== 'FFMPEG_FAILED' || run.signal.aborted || classifyFailure(err) !== 'permanent') throw err
      return transcode({ method: 'transcode', why: plan.why, fallback: describeFailure(err, 300) })
    }
  }

  private async thumbnail(run: Run, rec: Recording): Promise<string> {
    const { job, signal } = run
    const info = getMediaInfoRow(this.o.db, rec.id)
    if (!info) throw new Error(`recording ${rec.id} has no probe result yet`)
    if (info.videoCodec === null) return this.commit(job, () => undefined, 'skipped: no picture to make a thumbnail from')
    const existing = getDerivative(this.o.db, rec.id, 'thumbnail')
    if (existing) return this.commit(job, () => undefined, `derivative:${existing.id} (already made)`)
    const input = await this.original(rec, signal)
    const width = this.o.settings.thumbnailWidth
    const timeoutMs = runTimeoutMs('thumbnail', this.o.settings.timeoutSeconds, null)
    const at = info.mediaKind === 'photo' ? undefined : thumbnailSeek(info.durationSec)
    try {
      return await this.makeDerivative(run, rec, 'thumbnail', input, timeoutMs, (out) =>
        thumbnailArgs(input, out, { width, ...(at !== undefined ? { atSeconds: at } : {}) }),
      )
    } catch (err) {
      // A duration that overstates the decodable part (a damaged tail) can
      // put 10% past the last frame (or a stream flags no key frame): fall
      // back to the first frame, decoded without a seek.
      if (at && at > 0 && err instanceof FfmpegError && err.code === 'FFMPEG_FAILED' && err.exitCode === 0 && !signal.aborted) {
        return this.makeDerivative(run, rec, 'thumbnail', input, timeoutMs, (out) => thumbnailArgs(input, out, { width }))
      }
      throw err
    }
  }

  /**
   * ffmpeg into a temp file in staging, fsync, hash, commit into objects/,
   * then the derivatives row + `derived` event + job done in one transaction.
   */
  private async makeDerivative(
    run: Run,
    rec: Recording,
    kind: DerivativeKind,
    input: string,
    timeoutMs: number,
    build: (out: string) => CommandSpec,
    proxy?: ProxyRecord,
  ): Promise<string> {
    const { job, signal } = run
    const temp = stagingTemp(this.o.vault, job.id)
    const spec = build(temp)
    const ffmpegVersion = await this.version('ffmpeg')
    noteJobProcess(this.o.db, [{ id: job.id, tempPath: temp }])
    try {
      const r = await runFfmpeg(spec, this.runOpts(signal, timeoutMs, job))
      run.ffmpegMs += r.durationMs
      const h = await storeOutput(this.o.vault, temp, this.o.chunkBytes ?? 4 << 20, () => signal.aborted)
      const args = recordedArgs(spec.args, input, temp)
      return this.commit(
        job,
        () => recordDerivative(this.o.db, { actor: this.o.actor, rec, kind, h, ffmpegVersion, args, ...(proxy ? { proxy } : {}) }),
        (v) => `derivative:${v}`,
      )
    } finally {
      await rm(temp, { force: true })
    }
  }
}
