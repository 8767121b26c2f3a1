import type { Migration } from './migration.js'

export const api: Migration = {
  version: 6,
  name: 'API tokens, export requests, file-name search',
  sql: `
CREATE TABLE tokens (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('officer', 'clerk', 'supervisor', 'auditor', 'admin')),
  officer_id  TEXT,
  hash        TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
  created_at  TEXT NOT NULL,
  revoked_at  TEXT,
  CHECK (role <> 'officer' OR officer_id IS NOT NULL)
);

CREATE TABLE export_requests (
  id              INTEGER PRIMARY KEY,
  recording_ids   TEXT NOT NULL,
  reason          TEXT NOT NULL,
  recipient       TEXT NOT NULL,
  requested_by    INTEGER NOT NULL REFERENCES tokens(id),
  requested_at    TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'rejected')),
  decided_by      INTEGER REFERENCES tokens(id),
  decided_at      TEXT,
  decision_reason TEXT,
  downloads       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX export_requests_state ON export_requests(state, id);

-- Words in original file names (letters and digits; _ / . - separate them),
-- with prefix indexes so the start of a word is enough: FTS5, kept by triggers.
CREATE VIRTUAL TABLE recordings_name USING fts5(source_path, content='recordings', content_rowid='id', tokenize='unicode61', prefix='2 4 6');
INSERT INTO recordings_name(rowid, source_path) SELECT id, source_path FROM recordings;
CREATE TRIGGER recordings_name_ai AFTER INSERT ON recordings BEGIN
  INSERT INTO recordings_name(rowid, source_path) VALUES (new.id, new.source_path);
END;
CREATE TRIGGER recordings_name_ad AFTER DELETE ON recordings BEGIN
  INSERT INTO recordings_name(recordings_name, rowid, source_path) VALUES ('delete', old.id, old.source_path);
END;
CREATE TRIGGER recordings_name_au AFTER UPDATE OF source_path ON recordings BEGIN
  INSERT INTO recordings_name(recordings_name, rowid, source_path) VALUES ('delete', old.id, old.source_path);
  INSERT INTO recordings_name(rowid, source_path) VALUES (new.id, new.source_path);
END;
CREATE INDEX recordings_station_time ON recordings(station_id, recorded_at);
CREATE INDEX recordings_ingested ON recordings(ingested_at);
`,
}
