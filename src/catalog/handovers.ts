/**
 * Each recording's handover delay (table handovers, migration 019): derived
 * from recordings.recorded_at / ingested_at and media_info.duration_sec by
 * src/stats/handover.ts, and the reads the statistics make of it.
 */
import type { Db } from './db.js'

export interface HandoverRow {
  recordingId: number
  endedAt: string
  endedFrom: 'probe' | 'start'
  committedAt: string
  delaySeconds: number
  limitSeconds: number
  late: boolean
}

/** Recordings (sidecars left out) whose handover is missing, was counted from the start and is now probed, or under another limit. */
export function handoverCandidates(
  db: Db,
  limitSeconds: number,
): { recordingId: number; recordedAt: string; ingestedAt: string; durationSec: number | null }[] {
  return db
    .prepare(
      `SELECT r.id AS recordingId, r.recorded_at AS recordedAt, r.ingested_at AS ingestedAt, m.duration_sec AS durationSec
       FROM recordings r LEFT JOIN media_info m ON m.recording_id = r.id LEFT JOIN handovers h ON h.recording_id = r.id
       WHERE r.kind <> 'sidecar' AND (h.recording_id IS NULL OR h.limit_seconds <> ? OR (h.ended_from = 'start' AND m.duration_sec IS NOT NULL))`,
    )
    .all(limitSeconds) as { recordingId: number; recordedAt: string; ingestedAt: string; durationSec: number | null }[]
}

export function putHandover(db: Db, recordingId: number, h: Omit<HandoverRow, 'recordingId'>): void {
  db.prepare(
    `INSERT INTO handovers (recording_id, ended_at, ended_from, committed_at, delay_seconds, limit_seconds, late) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(recording_id) DO UPDATE SET ended_at = excluded.ended_at, ended_from = excluded.ended_from, committed_at = excluded.committed_at,
       delay_seconds = excluded.delay_seconds, limit_seconds = excluded.limit_seconds, late = excluded.late`,
  ).run(recordingId, h.endedAt, h.endedFrom, h.committedAt, h.delaySeconds, h.limitSeconds, h.late ? 1 : 0)
}

export function getHandover(db: Db, recordingId: number): HandoverRow | undefined {
  const r = db
    .prepare(
      `SELECT recording_id AS recordingId, ended_at AS endedAt, ended_from AS endedFrom, committed_at AS committedAt, delay_seconds AS delaySeconds,
       limit_seconds AS limitSeconds, late FROM handovers WHERE recording_id = ?`,
    )
    .get(recordingId) as (Omit<HandoverRow, 'late'> & { late: number }) | undefined
  return r ? { ...r, late: r.late === 1 } : undefined
}

/** Delay histogram bucket upper bounds (seconds); the last bucket is "more". */
export const DELAY_BUCKETS = [
  ['le1h', 3600],
  ['le8h', 8 * 3600],
  ['le24h', 86400],
  ['le48h', 2 * 86400],
  ['le72h', 3 * 86400],
  ['le7d', 7 * 86400],
] as const

export type HandoverStats = {
  from: string
  to: string
  limitSeconds: number
  totals: { recordings: number; late: number; onTime: number; onTimeRate: number | null }
  /** Counts per delay bucket (le1h ... le7d, more), for the dashboard's histogram. */
  histogram: Record<string, number>
  byOfficer: { officerId: string; recordings: number; late: number; onTimeRate: number | null; maxDelaySeconds: number }[]
  /** By the unit the officer belonged to at the recorded time (recording_attribution.unit_code). */
  byUnit: { unitCode: string; recordings: number; late: number; onTimeRate: number | null; maxDelaySeconds: number }[]
  /** The late ones themselves, latest delay first (at most 500). */
  late: { recordingId: number; officerId: string | null; unitCode: string | null; endedAt: string; committedAt: string; delaySeconds: number }[]
}

const rate = (n: number, late: number): number | null => (n === 0 ? null : Math.round(((n - late) / n) * 10000) / 10000)

/** Handover statistics of the recordings recorded in [from, to) (UTC ISO). */
export function handoverStats(db: Db, q: { from: string; to: string; limitSeconds: number }): HandoverStats {
  const from = `FROM handovers h JOIN recordings r ON r.id = h.recording_id LEFT JOIN recording_attribution a ON a.recording_id = r.id
    WHERE r.kind <> 'sidecar' AND r.recorded_at >= ? AND r.recorded_at < ?`
  const args = [q.from, q.to]
  const t = db.prepare(`SELECT count(*) AS n, coalesce(sum(h.late), 0) AS late ${from}`).get(...args) as { n: number; late: number }
  const cases = DELAY_BUCKETS.map(([k, s]) => `sum(CASE WHEN h.delay_seconds <= ${s} THEN 1 ELSE 0 END) AS ${k}`).join(', ')
  const cum = db.prepare(`SELECT ${cases} ${from}`).get(...args) as Record<string, number | null>
  const histogram: Record<string, number> = {}
  let prev = 0
  for (const [k] of DELAY_BUCKETS) {
    const c = cum[k] ?? 0
    histogram[k] = c - prev
    prev = c
  }
  histogram.more = t.n - prev
  const group = (expr: string) =>
    (
      db.prepare(`SELECT ${expr} AS k, count(*) AS n, sum(h.late) AS late, max(h.delay_seconds) AS maxDelay ${from} GROUP BY 1 ORDER BY 1`).all(...args) as {
        k: string
        n: number
        late: number
        maxDelay: number
      }[]
    ).map((g) => ({ key: g.k, recordings: g.n, late: g.late, onTimeRate: rate(g.n, g.late), maxDelaySeconds: g.maxDelay }))
  const late = db
    .prepare(
      `SELECT r.id AS recordingId, r.officer_id AS officerId, a.unit_code AS unitCode, h.ended_at AS endedAt, h.committed_at AS committedAt,
       h.delay_seconds AS delaySeconds ${from} AND h.late = 1 ORDER BY h.delay_seconds DESC, r.id LIMIT 500`,
    )
    .all(...args) as HandoverStats['late']
  return {
    from: q.from,
    to: q.to,
    limitSeconds: q.limitSeconds,
    totals: { recordings: t.n, late: t.late, onTime: t.n - t.late, onTimeRate: rate(t.n, t.late) },
    histogram,
    byOfficer: group("coalesce(r.officer_id, '-')").map(({ key, ...g }) => ({ officerId: key, ...g })),
    byUnit: group("coalesce(a.unit_code, '-')").map(({ key, ...g }) => ({ unitCode: key, ...g })),
    late,
  }
}

/** Late handovers committed in [from, to) (UTC ISO), oldest first: what a daily notice lists. */
export function lateHandoversCommitted(
  db: Db,
  from: string,
  to: string,
  limit = 500,
): { recordingId: number; officerId: string | null; unitCode: string | null; endedAt: string; committedAt: string; delaySeconds: number }[] {
  return db
    .prepare(
      `SELECT r.id AS recordingId, r.officer_id AS officerId, a.unit_code AS unitCode, h.ended_at AS endedAt, h.committed_at AS committedAt,
       h.delay_seconds AS delaySeconds FROM handovers h JOIN recordings r ON r.id = h.recording_id LEFT JOIN recording_attribution a ON a.recording_id = r.id
       WHERE h.late = 1 AND r.kind <> 'sidecar' AND h.committed_at >= ? AND h.committed_at < ? ORDER BY h.committed_at, r.id LIMIT ?`,
    )
    .all(from, to, limit) as ReturnType<typeof lateHandoversCommitted>
}
