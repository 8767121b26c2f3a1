import type { Migration } from './migration.js'

/**
 * The media pipeline: persisted jobs, probe results, derivatives (proxies,
 * thumbnails) and sidecar links. media_info, derivatives and media_links
 * rows are each backed by a ledger event (`probed`, `derived`) that verify
 * compares them with; media_jobs is operational state (not evidence).
 */
export const media: Migration = {
  version: 2,
  name: 'media jobs, media info, derivatives, sidecar links',
  sql: `
CREATE TABLE media_jobs (
id               INTEGER PRIMARY KEY,
recording_id     INTEGER NOT NULL REFERENCES recordings(id),
kind             TEXT NOT NULL CHECK (kind IN ('probe', 'proxy', 'thumbnail')),
state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
last_error       TEXT,
result           TEXT,
next_attempt_at  TEXT NOT NULL,
created_at       TEXT NOT NULL,
updated_at       TEXT NOT NULL,
started_at       TEXT,
finished_at      TEXT,
worker_pid       INTEGER,
worker_boot      TEXT,
ffmpeg_pid       INTEGER,
temp_path        TEXT,
UNIQUE (recording_id, kind)
);
CREATE INDEX media_jobs_ready ON media_jobs(state, next_attempt_at);

CREATE TABLE media_info (
recording_id            INTEGER PRIMARY KEY REFERENCES recordings(id),
media_kind              TEXT NOT NULL CHECK (media_kind IN ('video', 'audio', 'photo', 'unknown', 'sidecar')),
container               TEXT,
duration_sec            REAL,
bit_rate                INTEGER,
video_codec             TEXT,
width                   INTEGER,
height                  INTEGER,
fps                     REAL,
pix_fmt                 TEXT,
rotation                INTEGER,
audio_codec             TEXT,
sample_rate             INTEGER,
channels                INTEGER,
created_utc             TEXT,
created_offset          TEXT,
created_local           TEXT,
created_interpretation  TEXT CHECK (created_interpretation IN ('utc', 'camera-local', 'explicit-offset')),
created_raw             TEXT,
created_source          TEXT,
profile_id              TEXT,
time_zone               TEXT NOT NULL,
creation_time_is_local  INTEGER NOT NULL CHECK (creation_time_is_local IN (0, 1)),
gps_lat                 REAL,
gps_lon                 REAL,
gps_alt                 REAL,
gps_source              TEXT,
gps_points              INTEGER,
gps_track               TEXT,
tags                    TEXT NOT NULL,
tags_sha256             TEXT NOT NULL,
tool_version            TEXT,
probed_at               TEXT NOT NULL,
event_seq               INTEGER NOT NULL UNIQUE REFERENCES events(seq)
);
CREATE INDEX media_info_created ON media_info(created_utc);

CREATE TABLE media_links (
sidecar_id    INTEGER PRIMARY KEY REFERENCES recordings(id),
recording_id  INTEGER NOT NULL REFERENCES recordings(id),
event_seq     INTEGER NOT NULL REFERENCES events(seq)
);
CREATE INDEX media_links_recording ON media_links(recording_id);

CREATE TABLE derivatives (
id              INTEGER PRIMARY KEY,
recording_id    INTEGER NOT NULL REFERENCES recordings(id),
kind            TEXT NOT NULL CHECK (kind IN ('proxy', 'audio-proxy', 'thumbnail')),
sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
size            INTEGER NOT NULL CHECK (size > 0),
mime_type       TEXT NOT NULL,
input_sha256    TEXT NOT NULL,
ffmpeg_version  TEXT,
args            TEXT NOT NULL,
created_at      TEXT NOT NULL,
event_seq       INTEGER NOT NULL UNIQUE REFERENCES events(seq),
UNIQUE (recording_id, kind)
);
CREATE INDEX derivatives_sha ON derivatives(sha256);
`,
}
