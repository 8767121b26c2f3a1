import type { Lang } from '../lib/i18n.js'

/** Whether the signed-in person (lib/api.ts's Person; not imported: this file is tested without a DOM) holds one of the roles. */
export function hasRole(p: { roles: readonly string[] } | null, ...roles: string[]): boolean {
  return !!p && p.roles.some((r) => roles.includes(r))
}

/** An export request as GET /v1/exports returns it. */
export interface ExportRequest {
  id: number
  recordingIds: number[]
  reason: string
  recipient: string
  requestedPerson: string
  requestedAt: string
  state: 'requested' | 'approved' | 'rejected'
  decidedPerson: string | null
  decidedAt: string | null
  decisionReason: string | null
  downloads: number
  allowedDownloads: number
}

/** What the requester can do with an export now. */
export type ExportAction = 'wait' | 'download' | 'used-up' | 'rejected' | 'not-mine'

export function exportAction(e: ExportRequest, person: string | null): ExportAction {
  if (e.state === 'rejected') return 'rejected'
  if (e.state === 'requested') return 'wait'
  if (person === null || e.requestedPerson !== person) return 'not-mine'
  return e.downloads < e.allowedDownloads ? 'download' : 'used-up'
}

/** Recording ids typed by a clerk: numbers separated by commas, spaces or new lines; null when something is not a number. */
export function parseIds(text: string): number[] | null {
  const parts = text.split(/[\s,，、;；]+/).filter((p) => p !== '')
  if (parts.length === 0 || parts.some((p) => !/^[1-9][0-9]{0,15}$/.test(p))) return null
  return [...new Set(parts.map(Number))]
}

/** Date and time in the browser's zone (the station's own PC), to the minute. */
export function formatWhen(lang: Lang, iso: string): string {
  return new Intl.DateTimeFormat(lang, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(
    new Date(iso),
  )
}

/** Date, time and seconds: the audit's precision. */
export function formatInstant(lang: Lang, iso: string): string {
  return new Intl.DateTimeFormat(lang, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(new Date(iso))
}

/** A datetime-local input's value (browser zone) as an ISO instant, or undefined when empty or invalid. */
export function localToIso(v: string): string | undefined {
  if (!v) return undefined
  const d = new Date(v)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

/** An ISO instant as a datetime-local input's value (browser zone). */
export function isoToLocal(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`
}

/** A reason as the ledger takes it: one line (no newlines or control characters), spaces collapsed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** A ledger event as the API returns it. */
export interface LedgerEvent {
  seq: number
  type: string
  at: string
  actor: string
  subject: string
  payload: Record<string, unknown>
  hash: string
}

/** The audit browser's presets: the event types each shows (empty: every type). */
export const PRESETS = {
  all: [],
  signIn: ['signed-in', 'signed-out', 'session-expired', 'sign-in-failures', 'password-changed'],
  exports: ['export-requested', 'export-approved', 'export-rejected', 'exported'],
  views: ['viewed'],
  accounts: ['user-created', 'roles-changed', 'user-disabled', 'user-enabled', 'token-created', 'token-revoked'],
} as const satisfies Record<string, readonly string[]>
export type Preset = keyof typeof PRESETS

/** An event's payload in one line: its fields as `name: value`, long values and hashes cut short. */
export function summarise(payload: Record<string, unknown>, max = 240): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(payload)) {
    if (v === null || v === undefined || k === 'proof') continue
    let s = typeof v === 'string' ? v : JSON.stringify(v)
    if (/^[0-9a-f]{64}$/.test(s)) s = `${s.slice(0, 12)}…`
    if (s.length > 60) s = `${s.slice(0, 57)}…`
    parts.push(`${k}: ${s}`)
  }
  const all = parts.join('; ')
  return all.length > max ? `${all.slice(0, max - 1)}…` : all
}
