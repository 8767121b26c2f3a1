import { type Query, withQuery } from './api-paths.js'

export { safeNext, withQuery } from './api-paths.js'

/**
 * The one fetch helper of the personal workspaces (clerks, supervisors,
 * sign-in): the session cookie goes by itself (same origin, HttpOnly), a
 * state-changing request carries the X-CSRF-Token the sign-in or
 * GET /v1/session returned, and an error answer becomes an ApiError with
 * the API's stable code (the pages say what to do per code). A page that
 * needs a person and finds nobody goes to /signin?next=<where it was>.
 * A request the API answers 401 STEP_UP_REQUIRED is handed to the step-up
 * prompt (onStepUp, set by the second-factor component) and resent once.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export interface Person {
  id: number
  username: string
  displayName: string
  kind: string
  policeNo: string | null
  unit: string | null
  roles: string[]
  mustChange: boolean
}

let csrf: string | null = null

/** Set by the step-up prompt: resolves once the person gave a fresh second factor, rejects when they cancel. */
export const stepUp: { prompt: (() => Promise<void>) | null } = { prompt: null }

export function setCsrf(token: string | null): void {
  csrf = token
}

async function send(method: string, path: string, body: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['x-csrf-token'] = csrf
  return fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
}

/**
 * GET answers asked for before the page's own code ran (web/src/first.ts), by
 * address; the api() call for the same GET takes its answer, once. A page's
 * first requests then go out beside the loading of its code, not after it.
 */
const firstAnswers = new Map<string, Promise<Response>>()

/** Sends GET `url` now, for the api() call that will ask for it first. */
export function sendFirst(url: string): void {
  const answer = send('GET', url, undefined)
  // Handled where it is taken; until then a refused request is not an uncaught rejection.
  answer.catch(() => {})
  firstAnswers.set(url, answer)
}

function takeFirst(method: string, url: string): Promise<Response> | undefined {
  const answer = method === 'GET' ? firstAnswers.get(url) : undefined
  if (answer) firstAnswers.delete(url)
  return answer
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string } }
    return new ApiError(res.status, j.error?.code ?? 'HTTP', j.error?.message ?? res.statusText)
  } catch {
    return new ApiError(res.status, res.status >= 500 ? 'UNAVAILABLE' : 'HTTP', res.statusText)
  }
}

/** One API call; JSON in and out. Throws ApiError on an error answer, and on no answer at all (code OFFLINE). */
export async function api<T>(path: string, o: { method?: string; body?: unknown; query?: Query } = {}): Promise<T> {
  const method = o.method ?? 'GET'
  const url = withQuery(path, o.query)
  let res: Response
  try {
    res = await (takeFirst(method, url) ?? send(method, url, o.body))
    if (res.status === 401 && stepUp.prompt) {
      const e = await errorOf(res.clone())
      if (e.code === 'STEP_UP_REQUIRED') {
        await stepUp.prompt()
        res = await send(method, url, o.body)
      }
    }
  } catch (err) {
    if (err instanceof ApiError) throw err
    throw new ApiError(0, 'OFFLINE', err instanceof Error ? err.message : String(err))
  }
  if (!res.ok) throw await errorOf(res)
  if (res.status === 204) return undefined as T
  return (await res.json()) as T
}

/** Where a page that needs a person sends nobody: the sign-in page, then back here. */
export function signInPath(here: string = location.pathname + location.search): string {
  return `/signin?next=${encodeURIComponent(here)}`
}

/** Who is signed in (and their CSRF token), or null: nobody, or only a token. */
export async function whoAmI(): Promise<Person | null> {
  try {
    const s = await api<{ user: Person | null; via: string; csrfToken: string | null }>('/v1/session')
    setCsrf(s.csrfToken)
    return s.via === 'session' ? s.user : null
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null
    throw err
  }
}

/** The signed-in person, or off to the sign-in page (resolves to null then). */
export async function requirePerson(): Promise<Person | null> {
  const p = await whoAmI()
  if (!p) location.assign(signInPath())
  return p
}

export async function signOut(): Promise<void> {
  try {
    await api('/v1/session', { method: 'DELETE' })
  } finally {
    setCsrf(null)
    location.assign('/signin')
  }
}
