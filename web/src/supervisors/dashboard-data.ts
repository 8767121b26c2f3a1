/**
 * GET /v1/dashboard as the page reads it, and the pure steps from its
 * figures to the charts' labels and series (tested as tables in
 * test/web-supervisors-present.test.ts).
 */
export interface Span {
  recordedFrom: string
  recordedTo: string
}
export interface Dashboard {
  at: string
  from: string
  to: string
  hoursByOfficerDay: ({ officerId: string; day: string; recordings: number; hours: number } & Span)[]
  uncategorisedByDay: ({ day: string; recordings: number; hours: number } & Span)[]
  findings: { id: number; code: string; deviceId: string | null; recordingId: number | null; message: string; foundAt: string }[]
  deletionsDue: ({ day: string; recordings: number; bytes: number } & Span)[]
  storage: { usedBytes: number; freeBytes: number | null; reserveBytes: number; inflowDays: number; perDayBytes: number; daysLeft: number | null }
  handovers: Handovers
  queues: { queue: 'media' | 'offload'; state: string; n: number }[]
  fixity: { objects: number; remote: number; neverChecked: number; due: number; overdue: number; failed: number } | null
  anchoring: { level: string; checkpoint: number | null; treeSize: number | null; error: string | null; unanchored: number | null } | null
}

/** Handover on time (GET /v1/dashboard `handovers`, as GET /v1/stats/handovers): delay = commit - end of the recording. */
export interface Handovers {
  limitSeconds: number
  totals: { recordings: number; late: number; onTime: number; onTimeRate: number | null }
  histogram: Record<string, number>
  byOfficer: { officerId: string; recordings: number; late: number; onTimeRate: number | null; maxDelaySeconds: number }[]
  byUnit: { unitCode: string; recordings: number; late: number; onTimeRate: number | null; maxDelaySeconds: number }[]
  late: { recordingId: number; officerId: string | null; unitCode: string | null; endedAt: string; committedAt: string; delaySeconds: number }[]
}

/** The histogram's buckets in order with their upper bounds in seconds (the API's names; `more` has none). */
export const DELAY_BUCKETS: readonly (readonly [string, number])[] = [
  ['le1h', 3600],
  ['le8h', 8 * 3600],
  ['le24h', 86400],
  ['le48h', 2 * 86400],
  ['le72h', 3 * 86400],
  ['le7d', 7 * 86400],
  ['more', Number.POSITIVE_INFINITY],
]

/** The histogram as bars: each bucket's count, and whether it lies past the handover limit (drawn in the late colour, right of the limit's line). */
export function delayBars(h: Handovers): { keys: string[]; values: number[]; late: boolean[]; limitAfter: number } {
  const keys = DELAY_BUCKETS.map(([k]) => k)
  const late = DELAY_BUCKETS.map((_, i) => (i === 0 ? 0 : DELAY_BUCKETS[i - 1]![1]) >= h.limitSeconds)
  return { keys, values: keys.map((k) => h.histogram[k] ?? 0), late, limitAfter: late.indexOf(true) }
}

/** Every calendar day from `first` to `last` (YYYY-MM-DD, inclusive). */
export function daysBetween(first: string, last: string): string[] {
  const out: string[] = []
  const end = Date.parse(`${last}T00:00:00Z`)
  for (let d = Date.parse(`${first}T00:00:00Z`); d <= end && out.length < 400; d += 86_400_000) out.push(new Date(d).toISOString().slice(0, 10))
  return out
}

/** Days of the rows, gaps filled (a day with nothing is a zero, not a missing bar). */
export function dayAxis(rows: { day: string }[]): string[] {
  if (rows.length === 0) return []
  const days = rows.map((r) => r.day).sort()
  return daysBetween(days[0]!, days[days.length - 1]!)
}

/** Hours per officer and day as one series per officer over the day axis. */
export function officerSeries(rows: Dashboard['hoursByOfficerDay']): { days: string[]; officers: { officerId: string; hours: number[] }[] } {
  const days = dayAxis(rows)
  const at = new Map(days.map((d, i) => [d, i]))
  const by = new Map<string, number[]>()
  for (const r of rows) {
    const series = by.get(r.officerId) ?? days.map(() => 0)
    series[at.get(r.day)!] = r.hours
    by.set(r.officerId, series)
  }
  return { days, officers: [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([officerId, hours]) => ({ officerId, hours })) }
}

/** A per-day count over the filled day axis. */
export function daySeries<R extends { day: string }>(rows: R[], value: (r: R) => number): { days: string[]; values: number[] } {
  const days = dayAxis(rows)
  const by = new Map(rows.map((r) => [r.day, value(r)]))
  return { days, values: days.map((d) => by.get(d) ?? 0) }
}

/** Open reconciliation findings per code. */
export function findingCounts(f: Dashboard['findings']): { code: string; n: number }[] {
  const by = new Map<string, number>()
  for (const x of f) by.set(x.code, (by.get(x.code) ?? 0) + 1)
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([code, n]) => ({ code, n }))
}

/** The work the station still has: media jobs and offload operations by state, fixity's due, overdue and failed. */
export function workState(d: Pick<Dashboard, 'queues' | 'fixity'>): { label: string; n: number }[] {
  const out = d.queues.map((q) => ({ label: `${q.queue}:${q.state}`, n: q.n }))
  if (d.fixity) for (const k of ['neverChecked', 'due', 'overdue', 'failed'] as const) out.push({ label: `fixity:${k}`, n: d.fixity[k] })
  return out
}

/** The anchoring levels, weakest first: how far the latest checkpoint got outside the catalog. */
export const ANCHOR_LEVELS = ['catalog only', 'log file', 'bucket', 'witnessed'] as const
export function anchorStep(level: string): number {
  return level.startsWith('witnessed') ? 3 : Math.max(0, ANCHOR_LEVELS.indexOf(level as (typeof ANCHOR_LEVELS)[number]))
}
