import type { Migration } from '../migrations.js'

export const api: Migration = {
  version: 6,
  name: 'API tokens and export requests',
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
`,
}
