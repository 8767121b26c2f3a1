/**
 * The officer's part of the dock screen (issue 19): the calls to
 * /v1/station (src/api/routes/dock.ts), made with the kiosk's token; every
 * act carries the officer's police number and PIN in its body. The PIN is
 * passed in by the panel for each call and kept nowhere here.
 */

export interface DockOffer {
  officerInput: boolean
  idleSeconds: number
  categories: { id: string; label: string | null }[]
  pool: { deviceNumber: string; state: 'available' | 'checked-out'; policeNo: string | null }[]
}

export interface DockRecording {
  id: number
  kind: string
  recordedAt: string
  category: string | null
  caseNumber: string | null
  important: boolean
  locked: boolean
}

export interface Signed {
  policeNo: string
  pin: string
}

/** An answer the station refused: its error code, and the seconds to wait when locked out. */
export class DockError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfter: number | null,
  ) {
    super(message)
  }
}

async function call<T>(token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : null,
    cache: 'no-store',
  })
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } }
  if (!res.ok) {
    const after = Number(res.headers.get('retry-after'))
    throw new DockError(json.error?.code ?? 'INTERNAL', json.error?.message ?? res.statusText, Number.isFinite(after) && after > 0 ? after : null)
  }
  return json as T
}

export const dockOffer = (token: string): Promise<DockOffer> => call(token, 'GET', '/v1/station/dock')

export const sessionRecordings = (token: string, sessionId: number, s: Signed) =>
  call<{ officer: { displayName: string; policeNo: string }; items: DockRecording[] }>(token, 'POST', `/v1/station/sessions/${sessionId}/recordings`, s)

export interface Choice {
  recordingId: number
  category?: string
  caseNumber?: string
  important?: boolean
}

export const classify = (token: string, sessionId: number, s: Signed, items: Choice[]) =>
  call<{ items: { recordingId: number; changed: string[] }[] }>(token, 'POST', `/v1/station/sessions/${sessionId}/classify`, { ...s, items })

export const poolAct = (token: string, device: string, act: 'checkout' | 'return', s: Signed) =>
  call<{ officer: { displayName: string; policeNo: string } }>(token, 'POST', `/v1/station/devices/${encodeURIComponent(device)}/${act}`, s)

/** A configured category's label in the screen's language: the label's Chinese part, or what follows it in English ("日常巡查 routine patrol"). */
export function categoryLabel(c: { id: string; label: string | null }, lang: 'zh-CN' | 'en'): string {
  const label = c.label?.trim() ?? ''
  const cut = label.search(/[A-Za-z]/)
  const zh = (cut < 0 ? label : label.slice(0, cut)).trim()
  const en = cut < 0 ? '' : label.slice(cut).trim()
  return (lang === 'zh-CN' ? zh || en : en || zh) || c.id
}
