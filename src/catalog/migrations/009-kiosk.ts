import type { Migration } from './migration.js'

/**
 * The kiosk role (the dock screen's credential: station status only). The
 * role list is a CHECK on tokens, which SQLite cannot alter: the table is
 * rebuilt with the same rows and ids (export_requests refer to them; the
 * runner checks every foreign key before it commits).
 */
export const kiosk: Migration = {
  version: 9,
  name: 'kiosk role for tokens',
  rebuildsTables: true,
  sql: `
CREATE TABLE tokens_new (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('officer', 'clerk', 'supervisor', 'auditor', 'admin', 'kiosk')),
  officer_id  TEXT,
  hash        TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
  created_at  TEXT NOT NULL,
  revoked_at  TEXT,
  CHECK (role <> 'officer' OR officer_id IS NOT NULL)
);
INSERT INTO tokens_new (id, name, role, officer_id, hash, created_at, revoked_at)
  SELECT id, name, role, officer_id, hash, created_at, revoked_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
`,
}
