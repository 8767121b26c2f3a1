import type { Migration } from './migration.js'

/**
 * One ffmpeg for a remuxed proxy and its thumbnail (issue 16): `carries`
 * names the recording's other job that this job makes in the same run
 * ('thumbnail' on the proxy job of a recording whose probe chose a remux).
 * Claiming the carrier claims the carried job with it; a carried job is
 * not claimed alone while its carrier is queued or running
 * (src/catalog/media-jobs.ts claimNextJob). NULL: separate jobs, as
 * existing rows keep.
 */
export const mediaJobCarries: Migration = {
  version: 24,
  name: 'media job carries',
  sql: `
ALTER TABLE media_jobs ADD COLUMN carries TEXT CHECK (carries IS NULL OR carries IN ('proxy', 'thumbnail'));
`,
}
