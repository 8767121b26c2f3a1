import type { Migration } from './migration.js'

/**
 * People, not tokens (issue 18). Accounts: a person (kind 'person', with
 * the police number that makes two accounts one person) or a service
 * account (a machine, the kiosk, the `legacy` owner of the tokens made
 * before accounts existed). Every token belongs to an account. Sign-in
 * sessions (the web's cookie, the CLI's `login`) are rows, looked up by the
 * SHA-256 of their secret. Export requests name the account and the person
 * of the requester and of the decider (a cookie session has no token, so
 * export_requests is rebuilt with requested_by nullable), and how many
 * downloads the approval allows.
 */
export const people: Migration = {
  version: 16,
  name: 'accounts, sign-in sessions, exports by person',
  rebuildsTables: true,
  sql: `
CREATE TABLE users (
  id                  INTEGER PRIMARY KEY,
  username            TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name        TEXT NOT NULL,
  kind                TEXT NOT NULL CHECK (kind IN ('person', 'service')),
  police_no           TEXT,
  unit                TEXT,
  roles               TEXT NOT NULL,
  enabled             INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  password_hash       TEXT,
  must_change         INTEGER NOT NULL DEFAULT 1 CHECK (must_change IN (0, 1)),
  password_changed_at TEXT,
  created_at          TEXT NOT NULL,
  disabled_at         TEXT,
  CHECK (kind <> 'person' OR police_no IS NOT NULL)
);
CREATE INDEX users_police_no ON users(police_no);

INSERT INTO users (username, display_name, kind, roles, must_change, created_at)
  SELECT 'legacy', 'tokens made before named accounts', 'service', '["officer","clerk","supervisor","auditor","admin"]', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
  WHERE EXISTS (SELECT 1 FROM tokens WHERE role <> 'kiosk');
INSERT INTO users (username, display_name, kind, roles, must_change, created_at)
  SELECT 'kiosk', 'dock screens', 'service', '["kiosk"]', 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
  WHERE EXISTS (SELECT 1 FROM tokens WHERE role = 'kiosk');

ALTER TABLE tokens ADD COLUMN user_id INTEGER REFERENCES users(id);
UPDATE tokens SET user_id = (SELECT id FROM users WHERE username = CASE WHEN tokens.role = 'kiosk' THEN 'kiosk' ELSE 'legacy' END);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE auth_sessions (
  id            INTEGER PRIMARY KEY,
  hash          TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
  user_id       INTEGER NOT NULL REFERENCES users(id),
  kind          TEXT NOT NULL CHECK (kind IN ('web', 'cli')),
  csrf          TEXT NOT NULL,
  client        TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  last_seen_at  TEXT NOT NULL,
  ended_at      TEXT,
  end_reason    TEXT CHECK (end_reason IN ('signed-out', 'idle', 'absolute', 'account')),
  CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX auth_sessions_user ON auth_sessions(user_id, ended_at);

CREATE TABLE export_requests_new (
  id                INTEGER PRIMARY KEY,
  recording_ids     TEXT NOT NULL,
  reason            TEXT NOT NULL,
  recipient         TEXT NOT NULL,
  requested_by      INTEGER REFERENCES tokens(id),
  requested_user    INTEGER REFERENCES users(id),
  requested_person  TEXT NOT NULL,
  requested_at      TEXT NOT NULL,
  state             TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'rejected')),
  decided_by        INTEGER REFERENCES tokens(id),
  decided_user      INTEGER REFERENCES users(id),
  decided_person    TEXT,
  decided_at        TEXT,
  decision_reason   TEXT,
  downloads         INTEGER NOT NULL DEFAULT 0,
  allowed_downloads INTEGER NOT NULL DEFAULT 0
);
INSERT INTO export_requests_new (id, recording_ids, reason, recipient, requested_by, requested_user, requested_person, requested_at, state,
    decided_by, decided_user, decided_person, decided_at, decision_reason, downloads, allowed_downloads)
  SELECT e.id, e.recording_ids, e.reason, e.recipient, e.requested_by, t.user_id, 'token:' || e.requested_by, e.requested_at, e.state,
    e.decided_by, d.user_id, CASE WHEN e.decided_by IS NULL THEN NULL ELSE 'token:' || e.decided_by END, e.decided_at, e.decision_reason,
    e.downloads, CASE WHEN e.state = 'approved' THEN max(e.downloads, 1) ELSE 0 END
  FROM export_requests e LEFT JOIN tokens t ON t.id = e.requested_by LEFT JOIN tokens d ON d.id = e.decided_by;
DROP TABLE export_requests;
ALTER TABLE export_requests_new RENAME TO export_requests;
CREATE INDEX export_requests_state ON export_requests(state, id);
`,
}
