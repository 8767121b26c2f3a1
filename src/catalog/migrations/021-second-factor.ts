import type { Migration } from './migration.js'

/**
 * Second factor and directory sign-in (issue 23). A person's TOTP secret,
 * encrypted with the station's second-factor key (AES-256-GCM; the key is a
 * file beside the station key, never in the catalog), the last time step a
 * code was accepted at (a code is never taken twice), and single-use
 * recovery codes (their SHA-256: they are 60 random bits, no slow hash
 * needed). A sign-in session remembers when its person last gave a second
 * factor (the step-up window). Accounts say where they come from: local
 * (the break-glass admins, people without a directory) or the directory,
 * with the DN they were found at and whether the directory disabled them
 * (only such an account is enabled again by the directory). Enrolment,
 * recovery codes used and resets are ledger events; the secrets are not
 * evidence and cannot be rebuilt from the ledger (a lost key means
 * enrolling again).
 */
export const secondFactor: Migration = {
  version: 21,
  name: 'second factor, step-up, directory accounts',
  sql: `
CREATE TABLE second_factors (
  user_id      INTEGER PRIMARY KEY REFERENCES users(id),
  secret       TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'active')),
  last_step    INTEGER,
  created_at   TEXT NOT NULL,
  confirmed_at TEXT
);

CREATE TABLE recovery_codes (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id),
  hash       TEXT NOT NULL CHECK (length(hash) = 64),
  used_at    TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id, hash);

ALTER TABLE auth_sessions ADD COLUMN factor_at TEXT;

ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'directory'));
ALTER TABLE users ADD COLUMN directory_dn TEXT;
ALTER TABLE users ADD COLUMN directory_disabled INTEGER NOT NULL DEFAULT 0 CHECK (directory_disabled IN (0, 1));
`,
}
