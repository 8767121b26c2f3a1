/**
 * Where a chart's bar leads: the clerks' search (/clerks) with the API's own
 * filter names (GET /v1/recordings: officer, device, category, from, to), so
 * the list it shows is the recordings the bar counts. A bar's span is its
 * first and last recorded instant; `to` is exclusive, so it is the last
 * one plus a millisecond.
 */
export interface SearchFilter {
  officer?: string
  device?: string
  category?: string
  /** The first recorded instant (inclusive). */
  from?: string
  /** The last recorded instant (inclusive). */
  through?: string
}

export function searchLink(f: SearchFilter): string {
  const q = new URLSearchParams()
  if (f.officer && f.officer !== '(unknown)') q.set('officer', f.officer)
  if (f.device) q.set('device', f.device)
  if (f.category) q.set('category', f.category)
  if (f.from) q.set('from', new Date(f.from).toISOString())
  if (f.through) q.set('to', new Date(Date.parse(f.through) + 1).toISOString())
  q.set('sort', 'recordedAt')
  return `/clerks?${q.toString()}`
}

/** The custody report (视听资料清单 and chain of custody) of an export request: a PDF from GET /v1/reports/export/:id, Chinese unless asked. */
export const custodyReportLink = (exportId: number, lang: 'zh' | 'en' = 'zh'): string => `/v1/reports/export/${exportId}${lang === 'zh' ? '' : '?lang=en'}`

/** The work chart's bars and the anchoring panel that lead to a list (GET /v1/dashboard/items' `what`). */
export const WORK_ITEMS = [
  'media:queued',
  'media:running',
  'media:failed',
  'offload:queued',
  'offload:retrying',
  'fixity:neverChecked',
  'fixity:due',
  'fixity:overdue',
  'fixity:failed',
  'unanchored',
] as const
export type WorkItemKind = (typeof WORK_ITEMS)[number]

/** The list of the items behind a work bar or the anchoring panel; null for a bar with no list (media jobs done). */
export function itemsLink(what: string): string | null {
  return (WORK_ITEMS as readonly string[]).includes(what) ? `/dashboard/items?what=${encodeURIComponent(what)}` : null
}

/** A recording's page in the clerks' workspace. */
export const recordingLink = (id: number): string => `/clerks/recordings/${id}`

/** The audit trail of a subject (recording:12, export:3) or of a person (by account name), printable. */
export function trailLink(o: { subject?: string; user?: string }): string {
  const q = new URLSearchParams()
  if (o.subject) q.set('subject', o.subject)
  if (o.user) q.set('user', o.user)
  return `/audit/trail?${q.toString()}`
}
