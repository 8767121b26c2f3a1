/** The pure parts of ./api.ts (no DOM): query strings, and where the sign-in may send a person back to. */

export type Query = Record<string, string | number | boolean | readonly string[] | undefined | null>

/** A path with its query, leaving out empty values; a list is the name repeated (?type=a&type=b, as the ledger's filter reads it). */
export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query))
    for (const one of typeof v === 'object' && v !== null ? v : [v]) if (one !== undefined && one !== null && one !== '') q.append(k, String(one))
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

/** Only a path on this station (never another site: //evil, https://...) is a place to go back to after signing in. */
export function safeNext(next: string | null): string {
  return next && /^\/(?![/\\])/.test(next) ? next : '/clerks'
}
