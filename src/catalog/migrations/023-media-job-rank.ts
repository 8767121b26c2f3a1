import type { Migration } from './migration.js'

/**
 * The claim order within a job kind (issue 16): lowest `rank` first, then
 * oldest. A proxy's rank is set by its recording's probe from the proxy
 * plan (src/media/policy.ts proxyRank): a stream copy before an audio
 * transcode before a video transcode, so a camera docked after an HEVC one
 * does not wait minutes for proxies that take a fraction of a second.
 * Existing rows keep 0 (the order they had).
 */
export const mediaJobRank: Migration = {
  version: 23,
  name: 'media job rank',
  sql: `
ALTER TABLE media_jobs ADD COLUMN rank INTEGER NOT NULL DEFAULT 0;
`,
}
