import type { Migration } from '../migrations.js'

/**
 * Ingest truth (issue 11): a camera volume is known by its identity (USB
 * serial, file-system UUID, else the device id from names or the unlock
 * tool; a volume may carry several of these keys), and each file it held
 * by its raw name (the bytes the camera wrote, base64) plus SHA-256, so
 * re-docking under another profile finds the recording it already made.
 * Sessions record the volume, the files that are not media
 * (`unrecognised`), how many enumeration passes ran and when the last one
 * listed the volume.
 */
export const ingestTruth: Migration = {
  version: 7,
  name: 'ingest: volume identity, raw file names, unrecognised files, passes',
  sql: `
CREATE TABLE volumes (
id          INTEGER PRIMARY KEY,
first_seen  TEXT NOT NULL,
last_seen   TEXT NOT NULL
);

CREATE TABLE volume_keys (
key         TEXT PRIMARY KEY,
volume_id   INTEGER NOT NULL REFERENCES volumes(id),
first_seen  TEXT NOT NULL
);
CREATE INDEX volume_keys_volume ON volume_keys(volume_id);

CREATE TABLE volume_files (
volume_id     INTEGER NOT NULL REFERENCES volumes(id),
raw_path      TEXT NOT NULL,
sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
size          INTEGER NOT NULL CHECK (size >= 0),
recording_id  INTEGER NOT NULL REFERENCES recordings(id),
session_id    INTEGER NOT NULL REFERENCES ingest_sessions(id),
PRIMARY KEY (volume_id, raw_path, sha256)
) WITHOUT ROWID;
CREATE INDEX volume_files_recording ON volume_files(recording_id);

ALTER TABLE ingest_sessions ADD COLUMN volume_id INTEGER REFERENCES volumes(id);
ALTER TABLE ingest_sessions ADD COLUMN volume_key TEXT;
ALTER TABLE ingest_sessions ADD COLUMN files_unrecognised INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingest_sessions ADD COLUMN unrecognised TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ingest_sessions ADD COLUMN passes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingest_sessions ADD COLUMN listed_at TEXT;
`,
}
