import type { Migration } from './migration.js'

/**
 * Markers (issue 21): a clerk's note at a time of a recording ("02:13
 * the officer shows his warrant card"), listed on the recording's page and
 * seekable. Each marker is a `marker-added` ledger event (its payload holds
 * every column), so the table is rebuildable from the ledger.
 */
export const markers: Migration = {
  version: 20,
  name: 'markers: a time and a note on a recording',
  sql: `
CREATE TABLE markers (
  id            INTEGER PRIMARY KEY,
  recording_id  INTEGER NOT NULL REFERENCES recordings(id),
  position_ms   INTEGER NOT NULL CHECK (position_ms >= 0),
  note          TEXT NOT NULL CHECK (length(note) BETWEEN 1 AND 500),
  created_by    TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  event_seq     INTEGER NOT NULL
);
CREATE INDEX markers_recording ON markers (recording_id, position_ms);
`,
}
