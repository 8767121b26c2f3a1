import type { Migration } from './migration.js'

/**
 * Signed checkpoints of the ledger's Merkle tree (src/ledger/checkpoint.ts).
 * Append-only, like events: `note` is the C2SP signed note as written; the
 * other columns repeat what it says, for queries. `verify` checks the note.
 */
export const checkpoints: Migration = {
  version: 5,
  name: 'signed ledger checkpoints',
  sql: `
CREATE TABLE checkpoints (
id          INTEGER PRIMARY KEY,
tree_size   INTEGER NOT NULL CHECK (tree_size >= 0),
root_hash   TEXT NOT NULL CHECK (length(root_hash) = 64),
origin      TEXT NOT NULL,
key_id      TEXT NOT NULL CHECK (length(key_id) = 8),
note        TEXT NOT NULL,
created_at  TEXT NOT NULL
);
CREATE INDEX checkpoints_size ON checkpoints(tree_size);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE refused'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE refused'); END;
`,
}
