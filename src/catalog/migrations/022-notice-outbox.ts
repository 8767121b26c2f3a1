import type { Migration } from './migration.js'

/**
 * The notices' outbox (issue 20, src/notify/): each notice rendered once per
 * channel and kept here until delivered, so a receiver that is down, or a
 * daemon restarted between attempts, loses nothing. `attempts` and
 * `next_at` carry the exponential backoff; after the last attempt the row
 * is `given-up` (logged, shown by doctor). A delivered row is `sent` and
 * has its line in `notices` (migration 019) with its `notice-sent` event.
 * `window_to`: the end of the period a daily list covered (the next one
 * starts there).
 */
export const noticeOutbox: Migration = {
  version: 22,
  name: 'notice outbox',
  sql: `
CREATE TABLE notice_outbox (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  key         TEXT NOT NULL,
  channel     TEXT NOT NULL,
  subject     TEXT NOT NULL,
  body        TEXT NOT NULL,
  digest      TEXT NOT NULL,
  items       INTEGER NOT NULL,
  window_to   TEXT,
  created_at  TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'given-up')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  next_at     TEXT NOT NULL,
  last_error  TEXT,
  UNIQUE (kind, key, channel)
);
CREATE INDEX notice_outbox_due ON notice_outbox(state, next_at);
`,
}
