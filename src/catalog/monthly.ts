/**
 * The monthly statistics (统计考核) as one read per measure: recordings,
 * hours, handovers and categories of the recordings RECORDED in the month;
 * flags set, footage viewed and exported, reconciliation findings and
 * review outcomes that HAPPENED in the month, each counted for the officer
 * (or the officer's unit at the recorded time) of the recording concerned.
 */
import type { Db } from './db.js'

export type MonthlyBy = 'officer' | 'unit'

export type MonthlyRow = {
  key: string
  recordings: number
  hours: number
  handedOver: number
  late: number
  onTimeRate: number | null
  classified: number
  classifiedRate: number | null
  flags: number
  views: number
  exports: number
  findings: number
  reviewed: number
  reviewOk: number
  reviewLate: number
  reviewWrongCategory: number
  reviewIncomplete: number
  reviewOther: number
}

const ratio = (a: number, n: number): number | null => (n === 0 ? null : Math.round((a / n) * 10000) / 10000)

/** [from, to): UTC ISO bounds of the month in the station's zone. */
export function monthlyStats(db: Db, q: { from: string; to: string; by: MonthlyBy }): MonthlyRow[] {
  const key = q.by === 'officer' ? "coalesce(r.officer_id, '-')" : "coalesce(a.unit_code, '-')"
  const join = 'JOIN recordings r ON r.id = x.rid LEFT JOIN recording_attribution a ON a.recording_id = r.id'
  const rows = new Map<string, MonthlyRow>()
  const row = (k: string): MonthlyRow => {
    let r = rows.get(k)
    if (!r) {
      r = {
        key: k,
        recordings: 0,
        hours: 0,
        handedOver: 0,
        late: 0,
        onTimeRate: null,
        classified: 0,
        classifiedRate: null,
        flags: 0,
        views: 0,
        exports: 0,
        findings: 0,
        reviewed: 0,
        reviewOk: 0,
        reviewLate: 0,
        reviewWrongCategory: 0,
        reviewIncomplete: 0,
        reviewOther: 0,
      }
      rows.set(k, r)
    }
    return r
  }
  const recorded = db
    .prepare(
      `SELECT ${key} AS k, count(*) AS n, round(coalesce(sum(m.duration_sec), 0) / 3600.0, 3) AS hours, count(h.recording_id) AS handedOver,
       coalesce(sum(h.late), 0) AS late, sum(CASE WHEN r.category IS NULL THEN 0 ELSE 1 END) AS classified
       FROM recordings r LEFT JOIN recording_attribution a ON a.recording_id = r.id LEFT JOIN media_info m ON m.recording_id = r.id
       LEFT JOIN handovers h ON h.recording_id = r.id
       WHERE r.kind <> 'sidecar' AND r.recorded_at >= ? AND r.recorded_at < ? GROUP BY 1`,
    )
    .all(q.from, q.to) as { k: string; n: number; hours: number; handedOver: number; late: number; classified: number }[]
  for (const g of recorded) Object.assign(row(g.k), { recordings: g.n, hours: g.hours, handedOver: g.handedOver, late: g.late, classified: g.classified })

  const count = (sql: string, field: 'flags' | 'views' | 'exports' | 'findings') => {
    for (const g of db.prepare(`SELECT ${key} AS k, count(*) AS n FROM (${sql}) x ${join} GROUP BY 1`).all(q.from, q.to) as { k: string; n: number }[])
      row(g.k)[field] = g.n
  }
  count('SELECT recording_id AS rid FROM retention_flags WHERE set_at >= ? AND set_at < ?', 'flags')
  count("SELECT json_extract(payload, '$.recordingId') AS rid FROM events WHERE type = 'viewed' AND at >= ? AND at < ?", 'views')
  count("SELECT json_extract(payload, '$.recordingId') AS rid FROM events WHERE type = 'exported' AND at >= ? AND at < ?", 'exports')
  count("SELECT recording_id AS rid FROM findings WHERE kind = 'reconciliation' AND recording_id IS NOT NULL AND found_at >= ? AND found_at < ?", 'findings')

  const outcomes = db
    .prepare(
      `SELECT ${key} AS k, x.outcome AS outcome, count(*) AS n FROM (SELECT recording_id AS rid, outcome FROM review_items WHERE outcome IS NOT NULL AND decided_at >= ? AND decided_at < ?) x ${join} GROUP BY 1, 2`,
    )
    .all(q.from, q.to) as { k: string; outcome: string; n: number }[]
  const field = { ok: 'reviewOk', late: 'reviewLate', 'wrong-category': 'reviewWrongCategory', incomplete: 'reviewIncomplete', other: 'reviewOther' } as const
  for (const o of outcomes) {
    const r = row(o.k)
    r.reviewed += o.n
    r[field[o.outcome as keyof typeof field]] += o.n
  }
  for (const r of rows.values()) {
    r.onTimeRate = ratio(r.handedOver - r.late, r.handedOver)
    r.classifiedRate = ratio(r.classified, r.recordings)
  }
  return [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}
