import type { Migration } from './migration.js'

/**
 * Cases, case links, legal holds, each recording's current retention
 * deadline, a lease so two purges never overlap, and the persisted S3
 * offload queue with what is known of each remote copy. Every row here is
 * a cache of ledger events (`verify` folds the events and compares), except
 * the queue, the lease and the offload bookkeeping, which are work state.
 */
export const retention: Migration = {
  version: 3,
  name: 'cases, case links, holds, retention deadlines, offload queue',
  sql: `
CREATE TABLE cases (
number      TEXT PRIMARY KEY CHECK (length(number) BETWEEN 1 AND 64),
type        TEXT NOT NULL,
title       TEXT,
status      TEXT NOT NULL CHECK (status IN ('open', 'closed')),
opened_at   TEXT NOT NULL,
opened_by   TEXT NOT NULL,
closed_at   TEXT,
closed_by   TEXT,
CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX cases_status ON cases(status, number);

CREATE TABLE case_links (
recording_id  INTEGER NOT NULL REFERENCES recordings(id),
case_number   TEXT NOT NULL REFERENCES cases(number),
linked_at     TEXT NOT NULL,
linked_by     TEXT NOT NULL,
PRIMARY KEY (recording_id, case_number)
);
CREATE INDEX case_links_case ON case_links(case_number, recording_id);

CREATE TABLE holds (
id              INTEGER PRIMARY KEY,
recording_id    INTEGER NOT NULL REFERENCES recordings(id),
reason          TEXT NOT NULL,
placed_by       TEXT NOT NULL,
placed_at       TEXT NOT NULL,
released_at     TEXT,
released_by     TEXT,
release_reason  TEXT,
CHECK ((released_at IS NULL) = (released_by IS NULL))
);
CREATE INDEX holds_recording ON holds(recording_id, id);

CREATE TABLE retention (
recording_id  INTEGER PRIMARY KEY REFERENCES recordings(id),
deadline      TEXT,
rule          TEXT NOT NULL,
rule_ref      TEXT,
event_seq     INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX retention_deadline ON retention(deadline);

CREATE TABLE job_leases (
name         TEXT PRIMARY KEY,
holder       TEXT NOT NULL,
acquired_at  TEXT NOT NULL,
expires_at   TEXT NOT NULL
);

CREATE TABLE offload_queue (
id               INTEGER PRIMARY KEY,
op               TEXT NOT NULL CHECK (op IN ('object', 'lock', 'manifest', 'ledger', 'delete')),
subject          TEXT NOT NULL,
enqueued_at      TEXT NOT NULL,
attempts         INTEGER NOT NULL DEFAULT 0,
next_attempt_at  TEXT NOT NULL,
last_error       TEXT,
progress         TEXT,
UNIQUE (op, subject)
);
CREATE INDEX offload_queue_due ON offload_queue(next_attempt_at, id);

CREATE TABLE offload_objects (
sha256        TEXT PRIMARY KEY CHECK (length(sha256) = 64),
size          INTEGER NOT NULL,
key           TEXT NOT NULL,
version_id    TEXT NOT NULL,
uploaded_at   TEXT NOT NULL,
verified_at   TEXT,
retain_until  TEXT,
legal_hold    INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1)),
cached_since  TEXT,
evicted_at    TEXT,
deleted_at    TEXT
);

CREATE TABLE offload_manifests (
recording_id  INTEGER PRIMARY KEY,
event_seq     INTEGER NOT NULL,
uploaded_at   TEXT NOT NULL
);

CREATE TABLE offload_state (
key    TEXT PRIMARY KEY,
value  TEXT NOT NULL
);
`,
}
