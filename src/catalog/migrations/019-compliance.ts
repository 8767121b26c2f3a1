import type { Migration } from './migration.js'

/**
 * What the recording rules ask of a station (issue 20). Retention flags
 * (art. 13: permanent): set by a clerk with a reason, removed only when
 * another person (another police number) approved the removal; at most one
 * flag of a name in force per recording. Handovers: each recording's delay
 * from its end (start + probed duration, else start) to its commit in the
 * vault, against the limit in force when it was computed. Random review
 * (随机抽查): samples drawn from a recorded seed and an outcome per item.
 * Notices: what was sent, so a daily or weekly notice is sent once. Every
 * row of flags, samples and review items is backed by a ledger event;
 * handovers are derived from the recordings and media rows.
 */
export const compliance: Migration = {
  version: 19,
  name: 'retention flags, handovers, random review, notices',
  sql: `
CREATE TABLE retention_flags (
  id                    INTEGER PRIMARY KEY,
  recording_id          INTEGER NOT NULL REFERENCES recordings(id),
  flag                  TEXT NOT NULL,
  reason                TEXT NOT NULL,
  set_by                TEXT NOT NULL,
  set_person            TEXT NOT NULL,
  set_at                TEXT NOT NULL,
  removal_requested_by  TEXT,
  removal_person        TEXT,
  removal_requested_at  TEXT,
  removal_reason        TEXT,
  removed_at            TEXT,
  removed_by            TEXT,
  removed_person        TEXT,
  CHECK ((removal_requested_at IS NULL) = (removal_requested_by IS NULL)),
  CHECK ((removed_at IS NULL) = (removed_by IS NULL)),
  CHECK (removed_at IS NULL OR removal_requested_at IS NOT NULL)
);
CREATE INDEX retention_flags_recording ON retention_flags(recording_id, id);
CREATE UNIQUE INDEX retention_flags_in_force ON retention_flags(recording_id, flag) WHERE removed_at IS NULL;

CREATE TABLE handovers (
  recording_id   INTEGER PRIMARY KEY REFERENCES recordings(id),
  ended_at       TEXT NOT NULL,
  ended_from     TEXT NOT NULL CHECK (ended_from IN ('probe', 'start')),
  committed_at   TEXT NOT NULL,
  delay_seconds  INTEGER NOT NULL,
  limit_seconds  INTEGER NOT NULL CHECK (limit_seconds > 0),
  late           INTEGER NOT NULL CHECK (late IN (0, 1))
);
CREATE INDEX handovers_late ON handovers(late, recording_id);

CREATE TABLE review_samples (
  id             INTEGER PRIMARY KEY,
  month          TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
  per_officer    INTEGER NOT NULL CHECK (per_officer > 0),
  seed           TEXT NOT NULL,
  requested_by   TEXT NOT NULL,
  requested_at   TEXT NOT NULL
);

CREATE TABLE review_items (
  sample_id      INTEGER NOT NULL REFERENCES review_samples(id),
  recording_id   INTEGER NOT NULL REFERENCES recordings(id),
  officer_id     TEXT NOT NULL,
  outcome        TEXT CHECK (outcome IN ('ok', 'late', 'wrong-category', 'incomplete', 'other')),
  note           TEXT,
  decided_by     TEXT,
  decided_at     TEXT,
  PRIMARY KEY (sample_id, recording_id)
);
CREATE INDEX review_items_recording ON review_items(recording_id);

CREATE TABLE notices (
  id        INTEGER PRIMARY KEY,
  kind      TEXT NOT NULL,
  key       TEXT NOT NULL,
  channel   TEXT NOT NULL,
  sent_at   TEXT NOT NULL,
  event_seq INTEGER NOT NULL REFERENCES events(seq),
  UNIQUE (kind, key, channel)
);
`,
}
