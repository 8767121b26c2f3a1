/**
 * The media tables of the catalog (migration 002-media): persisted jobs,
 * probe results, sidecar links and derivatives. Only SQL here; the rules
 * live in ./policy.ts and the orchestration in ./worker.ts.
 */
import type { Db } from '../catalog/db.js'
import { baseKey, jobsFor, JOB_KINDS, JOB_PRIORITY, JOB_STATES, type DerivativeKind, type JobKind, type JobState, type RecordingKind } from './policy.js'

// ---------------------------------------------------------------------------
// jobs

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
}

const JOB_SELECT = `SELECT id, recording_id AS recordingId, kind, state, attempts, last_error AS lastError, result,
  next_attempt_at AS nextAttemptAt, created_at AS createdAt, updated_at AS updatedAt, started_at AS startedAt,
  finished_at AS finishedAt, worker_pid AS workerPid, worker_boot AS workerBoot, ffmpeg_pid AS ffmpegPid, temp_path AS tempPath
  FROM media_jobs`

/**
 * Queues the media jobs of one recording. Called inside the transaction
 * that records the ingest (src/ingest/record.ts), so a recording never
 * exists without its jobs. Idempotent.
 */
export function enqueueMediaJobs(db: Db, recordingId: number, kind: RecordingKind, at: string): void {
  const stmt = db.prepare(`INSERT INTO media_jobs (recording_id, kind, state, next_attempt_at, created_at, updated_at)
    VALUES (?, ?, 'queued', ?, ?, ?) ON CONFLICT (recording_id, kind) DO NOTHING`)
  for (const k of jobsFor(kind)) stmt.run(recordingId, k, at, at, at)
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

const PRIORITY_SQL = `CASE j.kind ${JOB_KINDS.map((k) => `WHEN '${k}' THEN ${JOB_PRIORITY[k]}`).join(' ')} END`

/**
 * Atomically takes the next job that is due: queued, its next attempt time
 * reached, and (for proxies and thumbnails) its recording's probe done.
 * Counts the attempt. Undefined when nothing is due.
 */
export function claimJob(db: Db, who: Claimer, now: Date, kinds?: readonly JobKind[]): MediaJob | undefined {
  const at = now.toISOString()
  const kindFilter = kinds?.length ? `AND j.kind IN (${kinds.map(() => '?').join(', ')})` : ''
  return db
    .transaction((): MediaJob | undefined => {
      const next = db
        .prepare(`SELECT j.id FROM media_jobs j
      WHERE j.state = 'queued' AND j.next_attempt_at <= ? ${kindFilter}
        AND (j.kind = 'probe' OR EXISTS (SELECT 1 FROM media_jobs p WHERE p.recording_id = j.recording_id AND p.kind = 'probe' AND p.state = 'done'))
      ORDER BY ${PRIORITY_SQL}, j.id LIMIT 1`)
        .get(at, ...(kinds ?? [])) as { id: number } | undefined
      if (!next) return undefined
      db.prepare(`UPDATE media_jobs SET state = 'running', attempts = attempts + 1, worker_pid = ?, worker_boot = ?, started_at = ?, updated_at = ?,
      finished_at = NULL, ffmpeg_pid = NULL, temp_path = NULL WHERE id = ?`).run(who.pid, who.boot, at, at, next.id)
      return getJob(db, next.id)
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
export function noteJobProcess(db: Db, id: number, p: { tempPath?: string | null; ffmpegPid?: number | null }): void {
  if (p.tempPath !== undefined) db.prepare('UPDATE media_jobs SET temp_path = ? WHERE id = ?').run(p.tempPath, id)
  if (p.ffmpegPid !== undefined) db.prepare('UPDATE media_jobs SET ffmpeg_pid = ? WHERE id = ?').run(p.ffmpegPid, id)
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

// ---------------------------------------------------------------------------
// media info (probe results)

/** The facts a `probed` event carries (besides recordingId, links, gpsTrackSha256), one per media_info column. */
export interface MediaFacts {
  mediaKind: 'video' | 'audio' | 'photo' | 'unknown' | 'sidecar'
  container: string | null
  durationSec: number | null
  bitRate: number | null
  videoCodec: string | null
  width: number | null
  height: number | null
  fps: number | null
  pixFmt: string | null
  rotation: number | null
  audioCodec: string | null
  sampleRate: number | null
  channels: number | null
  /** Creation time normalised to UTC, the wall-clock offset, the same instant as local time, how the raw value was read. */
  createdUtc: string | null
  createdOffset: string | null
  createdLocal: string | null
  createdInterpretation: 'utc' | 'camera-local' | 'explicit-offset' | null
  createdRaw: string | null
  createdSource: string | null
  /** The rule that decided: the recording's docking profile, its time zone and its creationTimeIsLocal flag. */
  profileId: string | null
  timeZone: string
  creationTimeIsLocal: boolean
  gpsLat: number | null
  gpsLon: number | null
  gpsAlt: number | null
  gpsSource: string | null
  /** Sidecars: how many fixes the track has. */
  gpsPoints: number | null
  /** SHA-256 of the stored raw tags JSON (format and stream tags). */
  tagsSha256: string
  /** ffprobe version that read it (null for sidecars parsed in-process). */
  toolVersion: string | null
}

export const MEDIA_COLUMNS: Record<keyof MediaFacts, string> = {
  mediaKind: 'media_kind',
  container: 'container',
  durationSec: 'duration_sec',
  bitRate: 'bit_rate',
  videoCodec: 'video_codec',
  width: 'width',
  height: 'height',
  fps: 'fps',
  pixFmt: 'pix_fmt',
  rotation: 'rotation',
  audioCodec: 'audio_codec',
  sampleRate: 'sample_rate',
  channels: 'channels',
  createdUtc: 'created_utc',
  createdOffset: 'created_offset',
  createdLocal: 'created_local',
  createdInterpretation: 'created_interpretation',
  createdRaw: 'created_raw',
  createdSource: 'created_source',
  profileId: 'profile_id',
  timeZone: 'time_zone',
  creationTimeIsLocal: 'creation_time_is_local',
  gpsLat: 'gps_lat',
  gpsLon: 'gps_lon',
  gpsAlt: 'gps_alt',
  gpsSource: 'gps_source',
  gpsPoints: 'gps_points',
  tagsSha256: 'tags_sha256',
  toolVersion: 'tool_version',
}
export const MEDIA_FIELDS = Object.keys(MEDIA_COLUMNS) as (keyof MediaFacts)[]

export interface MediaInfoRow extends MediaFacts {
  recordingId: number
  /** Raw tags JSON text: {"format": {...}, "streams": [{...}, ...]}. */
  tags: string
  /** Sidecar GPS track JSON text: [[tSec, lat, lon], ...], or null. */
  gpsTrack: string | null
  probedAt: string
  eventSeq: number
}

const INFO_SELECT = `SELECT recording_id AS recordingId, ${MEDIA_FIELDS.map((f) => `${MEDIA_COLUMNS[f]} AS "${f}"`).join(', ')},
  tags, gps_track AS gpsTrack, probed_at AS probedAt, event_seq AS eventSeq FROM media_info`

function infoFromRow(r: Record<string, unknown>): MediaInfoRow {
  return { ...(r as unknown as MediaInfoRow), creationTimeIsLocal: r.creationTimeIsLocal === 1 }
}

export function insertMediaInfo(db: Db, row: MediaInfoRow): void {
  const cols = ['recording_id', ...MEDIA_FIELDS.map((f) => MEDIA_COLUMNS[f]), 'tags', 'gps_track', 'probed_at', 'event_seq']
  const values = [
    row.recordingId,
    ...MEDIA_FIELDS.map((f) => (f === 'creationTimeIsLocal' ? (row[f] ? 1 : 0) : row[f])),
    row.tags,
    row.gpsTrack,
    row.probedAt,
    row.eventSeq,
  ]
  db.prepare(`INSERT INTO media_info (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...values)
}

export function getMediaInfoRow(db: Db, recordingId: number): MediaInfoRow | undefined {
  const r = db.prepare(`${INFO_SELECT} WHERE recording_id = ?`).get(recordingId) as Record<string, unknown> | undefined
  return r ? infoFromRow(r) : undefined
}

export function allMediaInfo(db: Db): IterableIterator<MediaInfoRow> {
  const it = db.prepare(`${INFO_SELECT} ORDER BY recording_id`).iterate() as IterableIterator<Record<string, unknown>>
  return (function* () {
    for (const r of it) yield infoFromRow(r)
  })()
}

export interface GpsInfo {
  lat: number
  lon: number
  alt: number | null
  /** e.g. `format:location`, or `sidecar:recording:3` when it comes from a linked sidecar. */
  source: string
}

/** A recording's probe result as clerks see it: GPS from its own tags, else from a linked sidecar. */
export interface MediaInfoView extends MediaInfoRow {
  gps: GpsInfo | null
  /** Sidecar recordings linked to this clip (or, for a sidecar, its clip). */
  sidecarIds: number[]
  sidecarOf: number | null
}

export function getMediaInfo(db: Db, recordingId: number): MediaInfoView | undefined {
  const row = getMediaInfoRow(db, recordingId)
  if (!row) return undefined
  const sidecarIds = (
    db.prepare('SELECT sidecar_id AS id FROM media_links WHERE recording_id = ? ORDER BY sidecar_id').all(recordingId) as { id: number }[]
  ).map((r) => r.id)
  const of = db.prepare('SELECT recording_id AS id FROM media_links WHERE sidecar_id = ?').get(recordingId) as { id: number } | undefined
  let gps: GpsInfo | null = null
  if (row.gpsLat !== null && row.gpsLon !== null) {
    gps = { lat: row.gpsLat, lon: row.gpsLon, alt: row.gpsAlt, source: row.gpsSource ?? 'unknown' }
  } else {
    for (const sid of sidecarIds) {
      const s = getMediaInfoRow(db, sid)
      if (s && s.gpsLat !== null && s.gpsLon !== null) {
        gps = { lat: s.gpsLat, lon: s.gpsLon, alt: s.gpsAlt, source: `sidecar:recording:${sid}` }
        break
      }
    }
  }
  return { ...row, gps, sidecarIds, sidecarOf: of?.id ?? null }
}

export interface LinkCandidate {
  id: number
  kind: RecordingKind
  sourcePath: string
}

/**
 * Recordings of the same device whose camera path has the same base name
 * (DIR/NAME without extension) as `sourcePath`: for a sidecar its clip, for
 * a clip its sidecars. Only stored recordings.
 */
export function sameBaseRecordings(db: Db, deviceId: string | null, sourcePath: string, excludeId: number): LinkCandidate[] {
  const base = baseKey(sourcePath)
  // Every path that starts with `base.` sorts between `base.` and `base/`
  // ('/' follows '.' in ASCII): a range, no LIKE patterns to escape.
  const rows = db
    .prepare(`SELECT id, kind, source_path AS sourcePath FROM recordings
    WHERE coalesce(device_id, '') = coalesce(?, '') AND status = 'stored' AND id <> ?
      AND source_path >= ? AND source_path < ?
    ORDER BY id DESC`)
    .all(deviceId, excludeId, base + '.', base + '/') as LinkCandidate[]
  return rows.filter((r) => baseKey(r.sourcePath) === base)
}

export function linkedSidecar(db: Db, sidecarId: number): number | undefined {
  return (db.prepare('SELECT recording_id AS id FROM media_links WHERE sidecar_id = ?').get(sidecarId) as { id: number } | undefined)?.id
}

export function insertLink(db: Db, sidecarId: number, recordingId: number, eventSeq: number): void {
  db.prepare('INSERT INTO media_links (sidecar_id, recording_id, event_seq) VALUES (?, ?, ?)').run(sidecarId, recordingId, eventSeq)
}

export interface MediaLink {
  sidecarId: number
  recordingId: number
  eventSeq: number
}

export function allLinks(db: Db): MediaLink[] {
  return db
    .prepare('SELECT sidecar_id AS sidecarId, recording_id AS recordingId, event_seq AS eventSeq FROM media_links ORDER BY sidecar_id')
    .all() as MediaLink[]
}

// ---------------------------------------------------------------------------
// derivatives

export interface Derivative {
  id: number
  recordingId: number
  kind: DerivativeKind
  sha256: string
  size: number
  mimeType: string
  inputSha256: string
  ffmpegVersion: string | null
  /** The ffmpeg argument list, with {input}/{output} placeholders. */
  args: string[]
  createdAt: string
  eventSeq: number
}

type DerivativeRow = Omit<Derivative, 'args'> & { args: string }

const DERIV_SELECT = `SELECT id, recording_id AS recordingId, kind, sha256, size, mime_type AS mimeType, input_sha256 AS inputSha256,
  ffmpeg_version AS ffmpegVersion, args, created_at AS createdAt, event_seq AS eventSeq FROM derivatives`

function derivFromRow(r: DerivativeRow): Derivative & { argsText: string } {
  let args: string[]
  try {
    const parsed = JSON.parse(r.args) as unknown
    args = Array.isArray(parsed) ? parsed.map(String) : []
  } catch {
    args = []
  }
  return { ...r, args, argsText: r.args }
}

export function nextDerivativeId(db: Db): number {
  return (db.prepare('SELECT coalesce(max(id), 0) + 1 AS n FROM derivatives').get() as { n: number }).n
}

export function insertDerivative(db: Db, d: Derivative): void {
  db.prepare(`INSERT INTO derivatives (id, recording_id, kind, sha256, size, mime_type, input_sha256, ffmpeg_version, args, created_at, event_seq)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    d.id,
    d.recordingId,
    d.kind,
    d.sha256,
    d.size,
    d.mimeType,
    d.inputSha256,
    d.ffmpegVersion,
    JSON.stringify(d.args),
    d.createdAt,
    d.eventSeq,
  )
}

export function derivativesOf(db: Db, recordingId: number): Derivative[] {
  return (db.prepare(`${DERIV_SELECT} WHERE recording_id = ? ORDER BY id`).all(recordingId) as DerivativeRow[]).map(derivFromRow)
}

export function getDerivative(db: Db, recordingId: number, kind: DerivativeKind): Derivative | undefined {
  const r = db.prepare(`${DERIV_SELECT} WHERE recording_id = ? AND kind = ?`).get(recordingId, kind) as DerivativeRow | undefined
  return r ? derivFromRow(r) : undefined
}

/** Every derivatives row, with the raw args text as stored (verify compares it). */
export function allDerivatives(db: Db): IterableIterator<Derivative & { argsText: string }> {
  const it = db.prepare(`${DERIV_SELECT} ORDER BY id`).iterate() as IterableIterator<DerivativeRow>
  return (function* () {
    for (const r of it) yield derivFromRow(r)
  })()
}
