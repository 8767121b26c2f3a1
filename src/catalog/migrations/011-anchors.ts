import type { Migration } from '../migrations.js'

/**
 * Checkpoint anchors (src/anchor/, src/ledger/checkpoint-log.ts):
 * - checkpoint_cosignatures: the witnesses' co-signatures of this station's
 *   checkpoints, each the signature line as received. Append-only. Not
 *   rebuildable from the ledger, and need not be: each one verifies by
 *   itself against the witness's key (verify checks them).
 * - anchor_progress: how far the bucket and each witness got (a cache of
 *   what was sent; resending is harmless).
 * - witnessed_logs: as a witness, the latest checkpoint this station co-signed
 *   for each origin it witnesses (C2SP tlog-witness: the witness's only
 *   state), and the last one it refused. Not rebuildable from the ledger:
 *   refusals and accepted restores are ledger events, plain co-signatures are
 *   not (they would make two stations witnessing each other write forever).
 */
export const anchors: Migration = {
  version: 11,
  name: 'checkpoint anchors: co-signatures, progress, witnessed logs',
  sql: `
CREATE TABLE checkpoint_cosignatures (
checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id),
witness       TEXT NOT NULL,
key_id        TEXT NOT NULL CHECK (length(key_id) = 8),
timestamp     INTEGER NOT NULL CHECK (timestamp >= 0),
line          TEXT NOT NULL,
received_at   TEXT NOT NULL,
PRIMARY KEY (checkpoint_id, witness, key_id)
);
CREATE TRIGGER checkpoint_cosignatures_no_update BEFORE UPDATE ON checkpoint_cosignatures
BEGIN SELECT RAISE(ABORT, 'co-signatures are append-only: UPDATE refused'); END;
CREATE TRIGGER checkpoint_cosignatures_no_delete BEFORE DELETE ON checkpoint_cosignatures
BEGIN SELECT RAISE(ABORT, 'co-signatures are append-only: DELETE refused'); END;
CREATE TABLE anchor_progress (
target          TEXT PRIMARY KEY,
checkpoint_id   INTEGER,
tree_size       INTEGER,
root_hash       TEXT,
attempts        INTEGER NOT NULL DEFAULT 0,
last_error      TEXT,
next_attempt_at TEXT,
updated_at      TEXT NOT NULL
);
CREATE TABLE witnessed_logs (
origin       TEXT PRIMARY KEY,
tree_size    INTEGER NOT NULL CHECK (tree_size >= 0),
root_hash    TEXT NOT NULL CHECK (length(root_hash) = 64),
note         TEXT NOT NULL,
updated_at   TEXT NOT NULL,
refused_size INTEGER,
refused_root TEXT,
refused_at   TEXT
);
`,
}
