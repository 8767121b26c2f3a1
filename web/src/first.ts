import { searchUrl } from './clerks/present.js'
import { sendFirst } from './lib/api.js'

/**
 * A page's first requests, sent as soon as the entry script runs (main.ts
 * imports this first): before the app mounts and before the screen's own
 * chunk has loaded and run, which on the clerks' search page was most of
 * the time before its first results. The screen's api() calls take these
 * answers (lib/api.ts: sendFirst). Signed out, both answer 401 and the
 * workspace goes to the sign-in page as it would have.
 */
const path = location.pathname.replace(/\/+$/, '') || '/'
if (path === '/clerks' || path.startsWith('/clerks/')) sendFirst('/v1/session')
if (path === '/clerks') sendFirst(searchUrl(location.search))
