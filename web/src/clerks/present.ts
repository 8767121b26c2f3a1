/**
 * The clerks' pages' pure parts, tested as tables (test/web-clerks-present.test.ts):
 * the search in the address bar and in the API's terms, times as the
 * recording's own clock showed them, the custody trail's rows.
 */

import { withQuery } from '../lib/api-paths.js'

/** The search form, as the address bar keeps it (so a search can be shared). */
export interface SearchForm {
  q: string
  officer: string
  device: string
  case: string
  category: string
  important: boolean
  kind: string
  /** datetime-local values (the browser's own time zone). */
  from: string
  to: string
  sort: string
  view: 'grid' | 'list'
  cursor: string
}

export const FIELDS = ['q', 'officer', 'device', 'case', 'category', 'kind', 'from', 'to', 'sort', 'cursor'] as const

export function searchFromUrl(search: string): SearchForm {
  const p = new URLSearchParams(search)
  const get = (k: string): string => p.get(k)?.trim() ?? ''
  return {
    q: get('q'),
    officer: get('officer'),
    device: get('device'),
    case: get('case'),
    category: get('category'),
    important: p.get('important') === 'true',
    kind: get('kind'),
    from: get('from'),
    to: get('to'),
    sort: get('sort'),
    view: p.get('view') === 'list' ? 'list' : 'grid',
    cursor: get('cursor'),
  }
}

/** The address of a search: only what was given, in a fixed order. */
export function searchToUrl(f: SearchForm, extra: Partial<SearchForm> = {}): string {
  const all = { ...f, ...extra }
  const p = new URLSearchParams()
  for (const k of FIELDS) if (all[k]) p.set(k, all[k])
  if (all.important) p.set('important', 'true')
  if (all.view === 'list') p.set('view', 'list')
  const s = p.toString()
  return s ? `/clerks?${s}` : '/clerks'
}

/** A datetime-local value (browser time) as an instant, or undefined when empty or not a time. */
export function localToInstant(v: string): string | undefined {
  if (!v) return undefined
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
}

/** The search in the API's terms (GET /v1/recordings). */
export function apiQuery(f: SearchForm, limit: number): Record<string, string | number | undefined> {
  return {
    q: f.q || undefined,
    officer: f.officer || undefined,
    device: f.device || undefined,
    case: f.case || undefined,
    category: f.category || undefined,
    important: f.important ? 'true' : undefined,
    kind: f.kind || undefined,
    from: localToInstant(f.from),
    to: localToInstant(f.to),
    sort: f.sort || undefined,
    cursor: f.cursor || undefined,
    limit,
  }
}

/** "+08:00" -> minutes east of UTC; null when it is not an offset. */
export function offsetMinutes(offset: string): number | null {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(offset)
  if (!m) return offset === 'Z' ? 0 : null
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]))
}

/** An instant as the recording's own clock showed it: "2026-11-20 08:00:00 (UTC+08:00)". */
export function recordedText(iso: string, offset: string): string {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  const off = offsetMinutes(offset)
  const wall = new Date(ms + (off ?? 0) * 60_000).toISOString().slice(0, 19).replace('T', ' ')
  return off === null ? `${wall} UTC` : `${wall} (UTC${offset === 'Z' ? '+00:00' : offset})`
}

export function fileName(sourcePath: string): string {
  return sourcePath.slice(sourcePath.lastIndexOf('/') + 1)
}

/** A position in a recording: "1:05" or "1:02:03". */
export function position(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const two = (n: number): string => String(n).padStart(2, '0')
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}` : `${Math.floor(s / 60)}:${two(s % 60)}`
}

export interface TrailEvent {
  seq: number
  type: string
  at: string
  actor: string
  payload: Record<string, unknown>
}

/** A row of the custody trail: one event, or a run of the same reads by the same person (a player asks for a video in many ranges). */
export interface TrailRow {
  first: TrailEvent
  seqs: number[]
  count: number
  last: string
}

const sameRead = (a: TrailEvent, b: TrailEvent): boolean =>
  a.type === 'viewed' && b.type === 'viewed' && a.actor === b.actor && a.payload.what === b.payload.what && a.payload.reason === b.payload.reason

/** The trail in order, consecutive identical reads folded into one row with their count. */
export function trailRows(events: readonly TrailEvent[]): TrailRow[] {
  const rows: TrailRow[] = []
  for (const e of events) {
    const prev = rows[rows.length - 1]
    if (prev && sameRead(prev.first, e)) {
      prev.seqs.push(e.seq)
      prev.count++
      prev.last = e.at
    } else rows.push({ first: e, seqs: [e.seq], count: 1, last: e.at })
  }
  return rows
}

/** Who an actor is, in a few words: user:li.na -> li.na; station:s1 -> the station. */
export function actorName(actor: string): { kind: 'user' | 'station' | 'token' | 'other'; name: string } {
  const i = actor.indexOf(':')
  const kind = actor.slice(0, i)
  const name = actor.slice(i + 1)
  return kind === 'user' || kind === 'station' || kind === 'token' ? { kind, name } : { kind: 'other', name: actor }
}

/** Results per search page. */
export const PAGE = 48

/** One page of search results, as GET /v1/recordings answers (T: a recording, web/src/clerks/recording.ts). */
export interface SearchPage<T> {
  items: T[]
  nextCursor: string | null
}

/** The API request of the search in `search` (the address's query). */
export const searchUrl = (search: string): string => withQuery('/v1/recordings', apiQuery(searchFromUrl(search), PAGE))
