import type { Db } from './db.js'

/**
 * The statistics of GET /v1/stats and the gauges of GET /metrics: read-only
 * aggregates over recordings, media, sessions, queues and the ledger.
 */

/** A type, not an interface: the reply schema's types take it as a plain object. */
export type RecordingStats = {
  totals: { recordings: number; bytes: number; hours: number }
  byOfficer: { officerId: string; recordings: number; bytes: number; hours: number }[]
  byDevice: { deviceId: string; recordings: number; bytes: number; hours: number }[]
  /** By the unit the officer belonged to at the recorded time (recording_attribution.unit_code), not their unit today. */
  byUnit: { unitCode: string; recordings: number; bytes: number; hours: number }[]
  byDay: { day: string; recordings: number; bytes: number; hours: number }[]
  /** ingested - recorded, in seconds: quantiles and a histogram. */
  dockingDelaySeconds: {
    count: number
    p50: number | null
    p90: number | null
    p99: number | null
    max: number | null
    histogram: Record<string, number | null>
  }
  uncategorised: number
  failedJobs: number
}

const DELAY = 'max(0, round((julianday(r.ingested_at) - julianday(r.recorded_at)) * 86400))'
const HOURS = 'round(coalesce(sum(m.duration_sec), 0) / 3600.0, 3)'
const BUCKETS = [
  ['le1h', 3600],
  ['le8h', 8 * 3600],
  ['le24h', 86400],
  ['le72h', 3 * 86400],
  ['le7d', 7 * 86400],
] as const

/**
 * Recordings (sidecars left out) and their hours per officer, device and
 * camera-local day, the docking delay, the uncategorised count and failed
 * media jobs. `from` (inclusive) and `to` (exclusive) bound recorded_at (UTC ISO).
 */
export function recordingStats(db: Db, q: { from?: string | undefined; to?: string | undefined }): RecordingStats {
  const where: string[] = ["r.kind <> 'sidecar'"]
  const args: string[] = []
  if (q.from !== undefined) {
    where.push('r.recorded_at >= ?')
    args.push(q.from)
  }
  if (q.to !== undefined) {
    where.push('r.recorded_at < ?')
    args.push(q.to)
  }
  const from = `FROM recordings r LEFT JOIN media_info m ON m.recording_id = r.id LEFT JOIN recording_attribution a ON a.recording_id = r.id WHERE ${where.join(' AND ')}`
  const by = <K extends string>(expr: string, as: K) =>
    db.prepare(`SELECT ${expr} AS ${as}, count(*) AS recordings, sum(r.size) AS bytes, ${HOURS} AS hours ${from} GROUP BY 1 ORDER BY 1`).all(...args) as ({
      [k in K]: string
    } & { recordings: number; bytes: number; hours: number })[]
  const n = (db.prepare(`SELECT count(*) AS n ${from}`).get(...args) as { n: number }).n
  const at = (quantile: number): number | null =>
    n === 0
      ? null
      : (db.prepare(`SELECT ${DELAY} AS d ${from} ORDER BY d LIMIT 1 OFFSET ?`).get(...args, Math.min(n - 1, Math.floor(quantile * n))) as { d: number }).d
  const histogram = db
    .prepare(
      `SELECT ${BUCKETS.map(([k, s]) => `sum(CASE WHEN ${DELAY} <= ${s} THEN 1 ELSE 0 END) AS ${k}`).join(', ')}, sum(CASE WHEN ${DELAY} > ${7 * 86400} THEN 1 ELSE 0 END) AS over7d ${from}`,
    )
    .get(...args) as Record<string, number | null>
  return {
    totals: db.prepare(`SELECT count(*) AS recordings, coalesce(sum(r.size), 0) AS bytes, ${HOURS} AS hours ${from}`).get(...args) as RecordingStats['totals'],
    byOfficer: by("coalesce(r.officer_id, '(unknown)')", 'officerId'),
    byDevice: by("coalesce(r.device_id, '(unknown)')", 'deviceId'),
    byUnit: by("coalesce(a.unit_code, '(unknown)')", 'unitCode'),
    byDay: by('date(r.recorded_at, r.recorded_offset)', 'day'),
    dockingDelaySeconds: { count: n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), histogram },
    uncategorised: (db.prepare(`SELECT count(*) AS n ${from} AND r.category IS NULL`).get(...args) as { n: number }).n,
    failedJobs: (db.prepare("SELECT count(*) AS n FROM media_jobs WHERE state = 'failed'").get() as { n: number }).n,
  }
}

/** The scalar gauges of /metrics. */
export function stationGauges(db: Db): { ingestBytes: number; recordings: number; ledgerEvents: number } {
  return db
    .prepare(
      `SELECT (SELECT coalesce(sum(bytes_ingested), 0) FROM ingest_sessions) AS ingestBytes, (SELECT count(*) FROM recordings) AS recordings,
        (SELECT coalesce(max(seq), 0) FROM events) AS ledgerEvents`,
    )
    .get() as { ingestBytes: number; recordings: number; ledgerEvents: number }
}

export function sessionsByState(db: Db): { state: string; n: number }[] {
  return db.prepare('SELECT state, count(*) AS n FROM ingest_sessions GROUP BY state').all() as { state: string; n: number }[]
}

/**
 * Queued work: media jobs by their state; offload operations as `queued`
 * (not tried yet) or `retrying` (failed at least once), since the offload
 * queue holds only pending work.
 */
export function queueDepth(db: Db): { queue: 'media' | 'offload'; state: string; n: number }[] {
  return db
    .prepare(
      `SELECT 'media' AS queue, state, count(*) AS n FROM media_jobs GROUP BY state
       UNION ALL SELECT 'offload', CASE WHEN attempts > 0 THEN 'retrying' ELSE 'queued' END, count(*) FROM offload_queue GROUP BY 2`,
    )
    .all() as { queue: 'media' | 'offload'; state: string; n: number }[]
}

/** Days of inflow that "days of footage left" is measured over (doctor and the dashboard say the same). */
export const INFLOW_DAYS = 14

/**
 * Bytes that came into the vault since `since` (UTC ISO): recordings by
 * their ingest time, and the proxies and thumbnails made of them. For
 * doctor's "days of footage left at the recent inflow".
 */
export function inflowBytesSince(db: Db, since: string): number {
  const rec = db.prepare('SELECT coalesce(sum(size), 0) FROM recordings WHERE ingested_at >= ?').pluck().get(since) as number
  const der = db.prepare('SELECT coalesce(sum(size), 0) FROM derivatives WHERE created_at >= ?').pluck().get(since) as number
  return rec + der
}

/** A type: the reply schema's types take it as a plain object. */
export type DashboardSeries = {
  /** Footage hours per officer and camera-local day (the officer as the recording names them). */
  hoursByOfficerDay: { officerId: string; day: string; recordings: number; hours: number; recordedFrom: string; recordedTo: string }[]
  /** Recordings still without a category, per camera-local day recorded (as the search's category=uncategorised). */
  uncategorisedByDay: { day: string; recordings: number; hours: number; recordedFrom: string; recordedTo: string }[]
}

/**
 * The dashboard's series over recordings, each bar with the span of
 * recorded instants behind it (sidecars and purged recordings
 * left out), `from` (inclusive) to `to` (exclusive) on recorded_at (UTC ISO).
 */
export function dashboardSeries(db: Db, q: { from?: string | undefined; to?: string | undefined }): DashboardSeries {
  const where: string[] = ["r.kind <> 'sidecar'", "r.status = 'stored'"]
  const args: string[] = []
  if (q.from !== undefined) {
    where.push('r.recorded_at >= ?')
    args.push(q.from)
  }
  if (q.to !== undefined) {
    where.push('r.recorded_at < ?')
    args.push(q.to)
  }
  const from = `FROM recordings r LEFT JOIN media_info m ON m.recording_id = r.id WHERE ${where.join(' AND ')}`
  const day = 'date(r.recorded_at, r.recorded_offset)'
  // The first and last recorded instant of each bar: the search that lists the recordings behind it.
  const span = 'min(r.recorded_at) AS recordedFrom, max(r.recorded_at) AS recordedTo'
  return {
    hoursByOfficerDay: db
      .prepare(
        `SELECT coalesce(r.officer_id, '(unknown)') AS officerId, ${day} AS day, count(*) AS recordings, ${HOURS} AS hours, ${span} ${from} GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all(...args) as DashboardSeries['hoursByOfficerDay'],
    uncategorisedByDay: db
      .prepare(`SELECT ${day} AS day, count(*) AS recordings, ${HOURS} AS hours, ${span} ${from} AND r.category IS NULL GROUP BY 1 ORDER BY 1`)
      .all(...args) as DashboardSeries['uncategorisedByDay'],
  }
}

/** Bytes the vault holds: the originals not purged, and their proxies and thumbnails, each object once (the vault stores a content once). */
export function storedBytes(db: Db): number {
  return db
    .prepare(
      `SELECT coalesce(sum(size), 0) FROM (SELECT sha256, size FROM recordings WHERE status = 'stored'
        UNION SELECT d.sha256, d.size FROM derivatives d JOIN recordings r ON r.id = d.recording_id WHERE r.status = 'stored')`,
    )
    .pluck()
    .get() as number
}
