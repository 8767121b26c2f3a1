/**
 * The supervisors' workspace's requests to the API: the session cookie
 * (sent by the browser), the CSRF token GET /v1/session gives (sent as
 * X-CSRF-Token on every state-changing request), errors as their stable
 * code, a page without a person sent to /signin?next=..., and the step-up
 * contract: a 401 STEP_UP_REQUIRED asks the second factor, POSTs
 * /v1/session/step-up and sends the request once more. The lead folds this
 * into web/src/lib/api.ts (o-clerks-web's one fetch helper) at merge.
 */

export interface Me {
  user: { username: string; displayName: string; roles: string[]; policeNo: string | null } | null
  role: string
  csrfToken: string | null
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

let me: Me | null = null

/** Asks the person for their 6-digit code (or a recovery code); null: they cancelled. Set by the page that can show the prompt. */
let askSecondFactor: (() => Promise<string | null>) | null = null
export function onStepUp(ask: (() => Promise<string | null>) | null): void {
  askSecondFactor = ask
}

/** Where a page that needs a person sends the browser when nobody is signed in. */
export function signInPath(): string {
  return `/signin?next=${encodeURIComponent(location.pathname + location.search)}`
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = 'HTTP_' + res.status
  let message = res.statusText
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } }
    code = body.error?.code ?? code
    message = body.error?.message ?? message
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new ApiError(res.status, code, message)
}

/** Who is signed in (cached for the page's life); null when nobody is. */
export async function whoAmI(refresh = false): Promise<Me | null> {
  if (me && !refresh) return me
  const res = await fetch('/v1/session', { credentials: 'same-origin', headers: { accept: 'application/json' } })
  if (res.status === 401) return null
  if (!res.ok) throw await errorOf(res)
  me = (await res.json()) as Me
  return me
}

export function hasRole(m: Me | null, ...roles: string[]): boolean {
  return !!m?.user && m.user.roles.some((r) => roles.includes(r))
}

function query(params: Record<string, string | string[] | number | undefined | null>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** GET a JSON resource under /v1. */
export async function get<T>(path: string, params: Record<string, string | string[] | number | undefined | null> = {}): Promise<T> {
  const res = await fetch(`/v1${path}${query(params)}`, { credentials: 'same-origin', headers: { accept: 'application/json' } })
  if (res.status === 401) {
    location.assign(signInPath())
    throw await errorOf(res)
  }
  if (!res.ok) throw await errorOf(res)
  return (await res.json()) as T
}

async function send(method: string, path: string, body: unknown): Promise<Response> {
  const m = await whoAmI()
  return fetch(`/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': m?.csrfToken ?? '' },
    body: JSON.stringify(body ?? {}),
  })
}

/** A state-changing request (POST, PUT, DELETE) with the CSRF token; a step-up asked once, then the request sent again. */
export async function change<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let res = await send(method, path, body)
  if (res.status === 401) {
    const err = await errorOf(res)
    if (err.code !== 'STEP_UP_REQUIRED' || !askSecondFactor) {
      if (err.code !== 'STEP_UP_REQUIRED') location.assign(signInPath())
      throw err
    }
    const code = await askSecondFactor()
    if (code === null) throw err
    const up = await send('POST', '/session/step-up', { secondFactor: code })
    if (!up.ok) throw await errorOf(up)
    res = await send(method, path, body)
  }
  if (!res.ok) throw await errorOf(res)
  return (await res.json()) as T
}

export { query }
