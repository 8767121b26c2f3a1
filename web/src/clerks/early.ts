import { api, withQuery } from '../lib/api.js'
import { apiQuery, searchFromUrl } from './present.js'
import type { Recording } from './recording.js'

/**
 * The search page's first request, sent when the workspace's chunk runs:
 * beside the session check (the Shell's), not after it. The page's first
 * results waited on a chain (entry, chunk, session, then search); the
 * search answer alone took 10-35 ms of it on a million recordings. The
 * answer is only shown once the Shell knows who is signed in; signed out,
 * both answer 401 and the Shell goes to the sign-in page.
 */
export const PAGE = 48

export interface SearchPage {
  items: Recording[]
  nextCursor: string | null
}

const searchUrl = (search: string): string => withQuery('/v1/recordings', apiQuery(searchFromUrl(search), PAGE))

function ask(url: string): Promise<SearchPage> {
  return api<SearchPage>(url)
}

let early: { url: string; answer: Promise<SearchPage> } | null = null
if ((location.pathname.replace(/\/+$/, '') || '/') === '/clerks') {
  const url = searchUrl(location.search)
  early = { url, answer: ask(url) }
  // Handled where it is used; until then a 401 (nobody signed in) is not an uncaught rejection.
  early.answer.catch(() => {})
}

/** The results of the search in `search` (the address's query): the one already asked when it is that one, once; else a new request. */
export function searchPage(search: string): Promise<SearchPage> {
  const url = searchUrl(search)
  const e = early
  early = null
  return e && e.url === url ? e.answer : ask(url)
}
