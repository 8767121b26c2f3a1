import type { Migration } from '../migrations.js'

/**
 * Block hashes and the rolling fixity check (src/catalog/fixity.ts).
 *
 * object_fixity: per vault object, the SHA-256 of each block (blocks: 32
 * bytes a block, in order), when they were computed, when every byte was
 * last found to match, and whether the local copy is known bad. Not
 * evidence: a block list is made only from bytes whose whole SHA-256 is
 * the recorded one and can be made again from the object at any time;
 * failures and repairs are ledger events (fixity-failed, object-repaired).
 * A catalog rebuilt from S3 starts without rows: every object is then due.
 *
 * fixity_runs: one row per run of the fixity job (its fixity-checked event).
 */
export const fixity: Migration = {
  version: 12,
  name: 'block hashes and fixity runs',
  sql: `
CREATE TABLE object_fixity (
  sha256       TEXT PRIMARY KEY CHECK (length(sha256) = 64),
  size         INTEGER NOT NULL CHECK (size >= 0),
  block_bytes  INTEGER CHECK (block_bytes > 0),
  blocks       BLOB,
  hashed_at    TEXT,
  checked_at   TEXT,
  failed_at    TEXT,
  failure      TEXT,
  CHECK ((blocks IS NULL) = (block_bytes IS NULL)),
  CHECK ((failed_at IS NULL) = (failure IS NULL))
);
CREATE INDEX object_fixity_checked ON object_fixity(checked_at);

CREATE TABLE fixity_runs (
  id          INTEGER PRIMARY KEY,
  started_at  TEXT NOT NULL,
  ended_at    TEXT NOT NULL,
  trigger     TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  scope       TEXT NOT NULL CHECK (scope IN ('due', 'all')),
  objects     INTEGER NOT NULL,
  bytes       INTEGER NOT NULL,
  failed      INTEGER NOT NULL,
  repaired    INTEGER NOT NULL,
  remaining   INTEGER NOT NULL,
  stopped     INTEGER NOT NULL CHECK (stopped IN (0, 1)),
  event_seq   INTEGER REFERENCES events(seq)
);
`,
}
