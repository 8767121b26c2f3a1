import { existsSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { webRoot } from '../src/web/static.js'

/** What the browser benchmarks (web.ts, web-clerks.ts) share: their preconditions, the load average they print, percentiles. */

/** Exits 2 with what to run when the front end is not built or chromium is missing. */
export function requireBrowserBench(): void {
  if (!existsSync(join(webRoot(), 'index.html'))) {
    console.error('the web front end is not built: run scripts/setup')
    process.exit(2)
  }
  if (!existsSync('/usr/bin/chromium')) {
    console.error('chromium is missing: run scripts/ensure-browser-deps')
    process.exit(2)
  }
}

/** The load average now (1, 5, 15 min), as printed beside each figure. */
export const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

/** The p-th percentile (nearest rank) of `xs`; NaN for none. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN
}
