/**
 * Pure rules of the media pipeline (no I/O): which jobs a recording gets,
 * which derivative each job makes, how failures are classified, the retry
 * schedule and the time limits. The worker (./worker.ts, ./job-runner.ts) applies them.
 */
import type { DerivativeKind } from '../catalog/derivatives.js'
import type { JobKind } from '../catalog/media-jobs.js'
import type { Kind as RecordingKind } from '../common/kinds.js'
import { FfmpegError } from './ffmpeg.js'
import { type ProxyFacts, type ProxySettings, proxyPlan } from './proxy-policy.js'

/**
 * The jobs a freshly ingested recording gets, in the order they should run.
 * Proxy and thumbnail jobs wait for the recording's probe (they need its
 * duration and streams); a sidecar only gets a probe (parse + link).
 */
export function jobsFor(kind: RecordingKind): JobKind[] {
  switch (kind) {
    case 'video':
      return ['probe', 'proxy', 'thumbnail']
    case 'audio':
      return ['probe', 'proxy']
    case 'photo':
      return ['probe', 'thumbnail']
    case 'sidecar':
      return ['probe']
  }
}

/**
 * How long an original's last check (every byte found to be the recorded
 * ones) holds for a media job that reads it: a job reading an original
 * last checked earlier checks it first (src/fixity/fixity.ts checkedPath),
 * so a derivative is never made, and recorded as made from the original's
 * SHA-256, from bytes that rotted or were replaced since. Ingest's
 * read-back compares every byte it wrote (ingest.readBackVerify, on by
 * default) and counts from the recording's ingested_at; its jobs normally
 * run within minutes of it and pay nothing. A job run later (a retry
 * after a long backoff, `media retry` weeks on, a catalog rebuilt from the
 * bucket) reads the whole original once more before ffmpeg does; one
 * fetched back from S3 was hashed on the way and is not read again.
 */
export const ORIGINAL_CHECK_HOLDS_MS = 60 * 60_000

/** Claim order between kinds: metadata first, then the quick thumbnails, then proxies. */
export const JOB_PRIORITY: Record<JobKind, number> = { probe: 0, thumbnail: 1, proxy: 2 }

/**
 * Claim order among proxies (media_jobs.rank, set when the probe is
 * recorded): a stream copy (a fraction of a second) before an audio
 * transcode (seconds) before a video transcode (about as long as the
 * footage on a small station PC), so cheap proxies are playable first.
 */
export function proxyRank(kind: 'proxy' | 'audio-proxy' | null, method: 'remux' | 'transcode'): number {
  if (kind === null || method === 'remux') return 0
  return kind === 'audio-proxy' ? 1 : 2
}

/**
 * Which of the recording's other jobs a proxy job makes in the same ffmpeg
 * run (media_jobs.carries, set when the probe is recorded): a video remux
 * also writes the thumbnail (one process start instead of two; both
 * outputs are byte-identical to the separate runs'). A transcode, an
 * audio proxy or nothing to make: none.
 */
export function proxyCarries(kind: 'proxy' | 'audio-proxy' | null, method: 'remux' | 'transcode'): JobKind | null {
  return kind === 'proxy' && method === 'remux' ? 'thumbnail' : null
}

/**
 * A recording's proxy job as its probe's facts shape it (its claim rank and
 * the job it carries), or null when it gets no proxy: set by the probe, and
 * set again from the `probed` event by a catalog rebuilt from the ledger
 * (src/offload/rebuild.ts).
 */
export function proxyJobOfProbe(f: ProxyFacts & { mediaKind: string }, s: ProxySettings): { rank: number; carries: JobKind | null } | null {
  const pk = proxyKindFor({ hasVideo: f.videoCodec !== null, hasAudio: f.audioCodec !== null, mediaKind: f.mediaKind })
  if (!pk) return null
  const method = proxyPlan(pk, f, s).method
  return { rank: proxyRank(pk, method), carries: proxyCarries(pk, method) }
}

export const DERIVATIVE_MIME: Record<DerivativeKind, string> = {
  proxy: 'video/mp4',
  'audio-proxy': 'audio/mp4',
  thumbnail: 'image/jpeg',
}

/** What a proxy job makes from what the probe found (null: nothing to make). */
export function proxyKindFor(probe: { hasVideo: boolean; hasAudio: boolean; mediaKind: string }): 'proxy' | 'audio-proxy' | null {
  if (probe.mediaKind === 'photo') return null
  if (probe.hasVideo) return 'proxy'
  if (probe.hasAudio) return 'audio-proxy'
  return null
}

/** Seek position of a video thumbnail: 10% into the recording (0 when the duration is unknown). */
export function thumbnailSeek(durationSec: number | null): number {
  if (durationSec === null || !Number.isFinite(durationSec) || durationSec <= 0) return 0
  return Math.round(durationSec * 0.1 * 1000) / 1000
}

export type FailureClass = 'permanent' | 'transient'

// Conditions of the station, not of the file: worth another attempt later.
const TRANSIENT_STDERR =
  /No space left on device|Disk quota exceeded|Cannot allocate memory|Resource temporarily unavailable|Too many open files|Input\/output error/i

/**
 * A failure is permanent when ffmpeg/ffprobe ran to completion and refused
 * the input: the original is immutable (content-addressed), so the same
 * bytes give the same error on every attempt (a truncated or corrupt file).
 * Everything else (ffmpeg missing, a timeout, a kill, a full disk, an
 * I/O error, our own bookkeeping) may go away and is retried with backoff.
 */
export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof PermanentMediaError) return 'permanent'
  if (err instanceof FfmpegError) {
    if (err.code !== 'FFMPEG_FAILED') return 'transient'
    if (err.exitCode === null || err.exitCode === 0) return 'transient' // killed by a signal, or exited 0 without output
    if (TRANSIENT_STDERR.test(err.stderrTail) || TRANSIENT_STDERR.test(err.message)) return 'transient'
    return 'permanent'
  }
  return 'transient'
}

/** A failure that must not be retried: the input itself is unusable. */
export class PermanentMediaError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'PermanentMediaError'
    this.code = code
  }
}

/**
 * Delay before attempt `attempt + 1` after `attempt` failed attempts:
 * base, 2 base, 4 base, ... capped at `capSeconds`. Deterministic (one
 * station, no herd to spread).
 */
export function retryDelaySeconds(attempt: number, baseSeconds: number, capSeconds = 3600): number {
  const n = Math.max(1, Math.floor(attempt))
  return Math.min(capSeconds, baseSeconds * 2 ** Math.min(n - 1, 30))
}

/** What happens after a failed attempt. */
export function afterFailure(
  failure: FailureClass,
  attempts: number,
  maxAttempts: number,
  baseSeconds: number,
  now: Date,
): { state: 'failed' } | { state: 'queued'; nextAttemptAt: string } {
  if (failure === 'permanent' || attempts >= maxAttempts) return { state: 'failed' }
  return { state: 'queued', nextAttemptAt: new Date(now.getTime() + retryDelaySeconds(attempts, baseSeconds) * 1000).toISOString() }
}

/**
 * Hard time limit of one ffmpeg run: the configured limit for probes and
 * thumbnails; transcodes also get 4 s per second of media, so a two-hour
 * recording is never cut off by a limit sized for short clips.
 */
export function runTimeoutMs(kind: JobKind, timeoutSeconds: number, durationSec: number | null): number {
  const extra = kind === 'proxy' && durationSec !== null && Number.isFinite(durationSec) ? Math.max(0, durationSec) * 4 : 0
  return Math.round((timeoutSeconds + extra) * 1000)
}

/**
 * Default concurrency: half the cores, but 2 from 2 cores up. One ffmpeg
 * at a time kept 1.7 of a quiet 2-core PC's cores busy (short jobs are
 * mostly process start-up on one core; a transcode's decoder and encoder
 * do not fill two cores); two transcodes at once used no more CPU than one
 * after the other (docs/design.md, Media pipeline).
 * ffmpeg runs under `media.nice`, so ingest and the API still come first.
 */
export function autoConcurrency(cores: number): number {
  return cores < 2 ? 1 : Math.max(2, Math.floor(cores / 2))
}

/** Error text kept on a job: code, message and the tail of ffmpeg's stderr, bounded. */
export function describeFailure(err: unknown, maxChars = 2000): string {
  let text: string
  if (err instanceof FfmpegError) {
    // The adapter's message ends with stderr's last line; show the whole tail once instead.
    const tail = err.stderrTail.trim()
    const last = tail.split('\n').pop() ?? ''
    const head = tail && last && err.message.endsWith(`: ${last}`) ? err.message.slice(0, -(last.length + 2)) : err.message
    text = `${err.code}: ${head}${tail ? `\n${tail}` : ''}`
  } else if (err instanceof PermanentMediaError) {
    text = `${err.code}: ${err.message}`
  } else if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    text = typeof code === 'string' ? `${code}: ${err.message}` : err.message
  } else {
    text = String(err)
  }
  return text.length > maxChars ? '…' + text.slice(text.length - maxChars + 1) : text
}

/** The first `YYYY-MM-DD HH:MM:SS[.fff]` wall time in a recorder SRT (camera local time). */
export function firstSrtTimestamp(text: string): string | undefined {
  const m = /(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)/.exec(text)
  return m?.[1]
}

/** `DIR/NAME.EXT` -> `DIR/NAME` (the key that pairs a sidecar with its clip). */
export function baseKey(sourcePath: string): string {
  const slash = sourcePath.lastIndexOf('/')
  const dot = sourcePath.lastIndexOf('.')
  return dot > slash + 1 ? sourcePath.slice(0, dot) : sourcePath
}

/**
 * The argument list recorded in a `derived` event: the vault path of the
 * original and the temporary output are replaced by `{input}` and
 * `{output}` (they say nothing about how the bytes were made, and the temp
 * name is gone once the object is committed). A run that wrote several
 * derivatives names the others' outputs by `others` (temp path -> name:
 * `{thumbnail}` in a remuxed proxy's list, `{proxy}` in its thumbnail's).
 */
export function recordedArgs(args: readonly string[], input: string, output: string, others: Record<string, string> = {}): string[] {
  const named = new Map(Object.entries(others).map(([path, name]) => [`file:${path}`, `file:{${name}}`]))
  return args.map((a) => (a === `file:${input}` ? 'file:{input}' : a === `file:${output}` ? 'file:{output}' : (named.get(a) ?? a)))
}
