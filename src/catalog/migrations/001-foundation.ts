import type { Migration } from './migration.js'

export const foundation: Migration = {
  version: 1,
  name: 'ledger, recordings, devices, officers, ingest sessions',
  sql: `
CREATE TABLE events (
seq        INTEGER PRIMARY KEY,
type       TEXT NOT NULL,
at         TEXT NOT NULL,
actor      TEXT NOT NULL,
subject    TEXT NOT NULL,
payload    TEXT NOT NULL,
prev_hash  TEXT NOT NULL,
hash       TEXT NOT NULL UNIQUE
);
CREATE INDEX events_subject ON events(subject, seq);
CREATE INDEX events_type ON events(type, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: UPDATE refused'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: DELETE refused'); END;

CREATE TABLE devices (
id          TEXT PRIMARY KEY,
first_seen  TEXT NOT NULL,
last_seen   TEXT NOT NULL
);

CREATE TABLE officers (
id          TEXT PRIMARY KEY,
first_seen  TEXT NOT NULL,
last_seen   TEXT NOT NULL
);

CREATE TABLE ingest_sessions (
id              INTEGER PRIMARY KEY,
source_root     TEXT NOT NULL,
profile_id      TEXT NOT NULL,
device_id       TEXT,
pid             INTEGER NOT NULL,
started_at      TEXT NOT NULL,
ended_at        TEXT,
state           TEXT NOT NULL CHECK (state IN ('running', 'complete', 'incomplete')),
files_seen      INTEGER NOT NULL DEFAULT 0,
files_ingested  INTEGER NOT NULL DEFAULT 0,
files_present   INTEGER NOT NULL DEFAULT 0,
files_skipped   INTEGER NOT NULL DEFAULT 0,
files_failed    INTEGER NOT NULL DEFAULT 0,
bytes_ingested  INTEGER NOT NULL DEFAULT 0,
failures        TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE recordings (
id               INTEGER PRIMARY KEY,
sha256           TEXT NOT NULL CHECK (length(sha256) = 64),
size             INTEGER NOT NULL CHECK (size >= 0),
kind             TEXT NOT NULL CHECK (kind IN ('video', 'audio', 'photo', 'sidecar')),
source_path      TEXT NOT NULL,
station_id       TEXT NOT NULL,
device_id        TEXT,
officer_id       TEXT,
recorded_at      TEXT NOT NULL,
recorded_offset  TEXT NOT NULL,
recorded_source  TEXT NOT NULL CHECK (recorded_source IN ('filename', 'file-mtime')),
important        INTEGER NOT NULL CHECK (important IN (0, 1)),
category         TEXT,
case_number      TEXT,
profile_id       TEXT NOT NULL,
session_id       INTEGER REFERENCES ingest_sessions(id),
ingested_at      TEXT NOT NULL,
event_seq        INTEGER NOT NULL UNIQUE REFERENCES events(seq),
status           TEXT NOT NULL DEFAULT 'stored' CHECK (status IN ('stored', 'purged'))
);
CREATE UNIQUE INDEX recordings_source ON recordings(coalesce(device_id, ''), source_path, sha256);
CREATE INDEX recordings_sha ON recordings(sha256);
CREATE INDEX recordings_officer_time ON recordings(officer_id, recorded_at);
CREATE INDEX recordings_device_time ON recordings(device_id, recorded_at);
CREATE INDEX recordings_time ON recordings(recorded_at);
CREATE INDEX recordings_case ON recordings(case_number);
CREATE INDEX recordings_category ON recordings(category, recorded_at);
`,
}
