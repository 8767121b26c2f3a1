/**
 * Requests of the security page under the session cookie: the CSRF token
 * from GET /v1/session, sent back as X-CSRF-Token on every change; errors
 * as { code, message } from the API's { error: { code, message } }. (When
 * web/src/lib/api.ts, the one fetch helper, is merged, this goes through it.)
 */
export interface ApiError {
  status: number
  code: string
  message: string
}

let csrf: string | null = null

export async function session(): Promise<{ user: { username: string; displayName: string } | null; csrfToken: string | null } | null> {
  const res = await fetch('/v1/session', { credentials: 'same-origin' })
  if (res.status === 401) return null
  const body = await res.json()
  csrf = body.csrfToken
  return body
}

export async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {}
  if (csrf) headers['x-csrf-token'] = csrf
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(url, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  if (res.status === 204) return undefined as T
  const json = await res.json().catch(() => ({}))
  if (!res.ok) throw { status: res.status, code: json.error?.code ?? 'INTERNAL', message: json.error?.message ?? res.statusText } satisfies ApiError
  return json as T
}

/** A request that may need a fresh second factor: on 401 STEP_UP_REQUIRED it asks `ask` for a code, steps up, and sends the request once more. */
export async function withStepUp<T>(send: () => Promise<T>, ask: (again: boolean) => Promise<string | null>): Promise<T> {
  try {
    return await send()
  } catch (err) {
    if ((err as ApiError).code !== 'STEP_UP_REQUIRED') throw err
    for (let again = false; ; again = true) {
      const code = await ask(again)
      if (code === null) throw err
      try {
        await call('POST', '/v1/session/step-up', { secondFactor: code })
        break
      } catch (e) {
        if ((e as ApiError).code !== 'SECOND_FACTOR_INVALID') throw e
      }
    }
    return send()
  }
}
