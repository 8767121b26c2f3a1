import type { Migration } from './migration.js'

/**
 * The registry (issue 17): units (a tree: bureau > station > team), the
 * officers on the roster (police number 警号, six digits, leading zeros
 * kept) with their unit over time, the devices (device number 设备编号)
 * and who carries which device when (an assignment for a period, 一人一机,
 * or a checkout from the pool for a shift). These are the roster the admin
 * keeps; the older `officers` and `devices` tables stay what ingest has
 * seen. Each recording's attribution (the officer used, where that came
 * from, the device and the officer's unit at the recorded time) is kept
 * beside it, and findings (a name/assignment conflict, a reconciliation
 * gap) wait for a clerk or a supervisor.
 */
export const registry: Migration = {
  version: 15,
  name: 'registry: units, roster officers, devices, assignments, attribution, findings',
  sql: `
CREATE TABLE units (
code         TEXT PRIMARY KEY,
name         TEXT NOT NULL,
level        TEXT NOT NULL CHECK (level IN ('bureau', 'station', 'team')),
parent_code  TEXT REFERENCES units(code),
retired_at   TEXT,
updated_at   TEXT NOT NULL
);

CREATE TABLE roster_officers (
police_number  TEXT PRIMARY KEY CHECK (length(police_number) = 6 AND police_number NOT GLOB '*[^0-9]*'),
name           TEXT NOT NULL,
unit_code      TEXT NOT NULL REFERENCES units(code),
active_from    TEXT NOT NULL,
active_to      TEXT,
updated_at     TEXT NOT NULL
);

-- Which unit an officer belonged to when: what the statistics by unit read at the recorded time.
CREATE TABLE officer_units (
police_number  TEXT NOT NULL REFERENCES roster_officers(police_number),
unit_code      TEXT NOT NULL REFERENCES units(code),
valid_from     TEXT NOT NULL,
valid_to       TEXT,
PRIMARY KEY (police_number, valid_from)
) WITHOUT ROWID;

CREATE TABLE roster_devices (
device_number  TEXT PRIMARY KEY,
serial         TEXT UNIQUE,
usb_vendor     TEXT,
usb_product    TEXT,
model          TEXT,
profile_id     TEXT,
unit_code      TEXT REFERENCES units(code),
status         TEXT NOT NULL CHECK (status IN ('in-service', 'repair', 'retired')),
updated_at     TEXT NOT NULL
);

CREATE TABLE device_assignments (
id             INTEGER PRIMARY KEY,
device_number  TEXT NOT NULL REFERENCES roster_devices(device_number),
police_number  TEXT NOT NULL REFERENCES roster_officers(police_number),
kind           TEXT NOT NULL CHECK (kind IN ('assignment', 'checkout')),
valid_from     TEXT NOT NULL,
valid_to       TEXT,
created_at     TEXT NOT NULL,
created_by     TEXT NOT NULL
);
CREATE INDEX device_assignments_device ON device_assignments(device_number, valid_from);

CREATE TABLE recording_attribution (
recording_id    INTEGER PRIMARY KEY REFERENCES recordings(id),
device_number   TEXT,
officer_source  TEXT NOT NULL CHECK (officer_source IN ('file-name', 'camera-identity', 'assignment', 'checkout', 'none')),
unit_code       TEXT,
file_counter    INTEGER
);
CREATE INDEX recording_attribution_device ON recording_attribution(device_number, file_counter);

CREATE TABLE findings (
id             INTEGER PRIMARY KEY,
kind           TEXT NOT NULL CHECK (kind IN ('officer-conflict', 'reconciliation')),
code           TEXT NOT NULL,
device_number  TEXT,
recording_id   INTEGER REFERENCES recordings(id),
session_id     INTEGER REFERENCES ingest_sessions(id),
message        TEXT NOT NULL,
detail         TEXT NOT NULL DEFAULT '{}',
found_at       TEXT NOT NULL,
resolved_at    TEXT,
resolved_by    TEXT,
resolution     TEXT
);
CREATE INDEX findings_open ON findings(resolved_at, kind);
`,
}
