import type { Db } from './db.js'

/**
 * Who carries which device when (migration 015): assignments for a period
 * (一人一机) and pool checkouts for a shift, one table; a period is
 * [validFrom, validTo), validTo null while it lasts. The rules (no two
 * periods of a device overlap) are in src/registry/assign.ts.
 */
export type AssignmentKind = 'assignment' | 'checkout'
export type Assignment = {
  id: number
  deviceNumber: string
  policeNumber: string
  kind: AssignmentKind
  validFrom: string
  validTo: string | null
  createdAt: string
  createdBy: string
}

const SELECT = `SELECT id, device_number AS deviceNumber, police_number AS policeNumber, kind, valid_from AS validFrom, valid_to AS validTo,
  created_at AS createdAt, created_by AS createdBy FROM device_assignments`

export function insertAssignment(db: Db, a: Omit<Assignment, 'id'>): number {
  return Number(
    db
      .prepare(`INSERT INTO device_assignments (device_number, police_number, kind, valid_from, valid_to, created_at, created_by)
      VALUES (@deviceNumber, @policeNumber, @kind, @validFrom, @validTo, @createdAt, @createdBy)`)
      .run(a).lastInsertRowid,
  )
}

export function getAssignment(db: Db, id: number): Assignment | undefined {
  return db.prepare(`${SELECT} WHERE id = ?`).get(id) as Assignment | undefined
}

export function endAssignment(db: Db, id: number, at: string): void {
  db.prepare('UPDATE device_assignments SET valid_to = ? WHERE id = ?').run(at, id)
}

/** Periods of the device that overlap [from, to) (to null: open-ended). */
export function overlapping(db: Db, deviceNumber: string, from: string, to: string | null): Assignment[] {
  return db
    .prepare(`${SELECT} WHERE device_number = ? AND (valid_to IS NULL OR valid_to > ?) AND (? IS NULL OR valid_from < ?) ORDER BY valid_from`)
    .all(deviceNumber, from, to, to) as Assignment[]
}

/** Who carried the device at an instant: the period covering it (a checkout before an assignment: it is the more specific). */
export function carrierAt(db: Db, deviceNumber: string, at: string): Assignment | undefined {
  return db
    .prepare(
      `${SELECT} WHERE device_number = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) ORDER BY kind = 'checkout' DESC, valid_from DESC LIMIT 1`,
    )
    .get(deviceNumber, at, at) as Assignment | undefined
}

export function listAssignments(db: Db, q: { deviceNumber?: string | undefined; policeNumber?: string | undefined; open?: boolean } = {}): Assignment[] {
  const where: string[] = []
  const args: string[] = []
  if (q.deviceNumber !== undefined) {
    where.push('device_number = ?')
    args.push(q.deviceNumber)
  }
  if (q.policeNumber !== undefined) {
    where.push('police_number = ?')
    args.push(q.policeNumber)
  }
  if (q.open) where.push('valid_to IS NULL')
  return db.prepare(`${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY valid_from, id`).all(...args) as Assignment[]
}

// ---------------------------------------------------------------------------
// attribution: whose recording it is and why

export type OfficerSource = 'file-name' | 'camera-identity' | 'assignment' | 'checkout' | 'none'
export type Attribution = {
  recordingId: number
  deviceNumber: string | null
  officerSource: OfficerSource
  unitCode: string | null
  fileCounter: number | null
}

export function insertAttribution(db: Db, a: Attribution): void {
  db.prepare(`INSERT INTO recording_attribution (recording_id, device_number, officer_source, unit_code, file_counter)
    VALUES (@recordingId, @deviceNumber, @officerSource, @unitCode, @fileCounter)`).run(a)
}

export function getAttribution(db: Db, recordingId: number): Attribution | undefined {
  return db
    .prepare(`SELECT recording_id AS recordingId, device_number AS deviceNumber, officer_source AS officerSource, unit_code AS unitCode,
      file_counter AS fileCounter FROM recording_attribution WHERE recording_id = ?`)
    .get(recordingId) as Attribution | undefined
}

/** The counters a device's stored, non-sidecar recordings carry, with their session and time: what reconciliation reads. */
export function deviceCounters(
  db: Db,
  deviceNumber: string,
): { recordingId: number; counter: number; sessionId: number | null; recordedAt: string; sha256: string }[] {
  return db
    .prepare(`SELECT r.id AS recordingId, a.file_counter AS counter, r.session_id AS sessionId, r.recorded_at AS recordedAt, r.sha256 FROM recording_attribution a
      JOIN recordings r ON r.id = a.recording_id WHERE a.device_number = ? AND a.file_counter IS NOT NULL AND r.kind <> 'sidecar' ORDER BY a.file_counter, r.id`)
    .all(deviceNumber) as { recordingId: number; counter: number; sessionId: number | null; recordedAt: string; sha256: string }[]
}

/** The recordings a session made, with their device and time (reconciliation at the end of a session). */
export function sessionAttributions(
  db: Db,
  sessionId: number,
): { recordingId: number; deviceNumber: string | null; counter: number | null; recordedAt: string; kind: string; sha256: string }[] {
  return db
    .prepare(`SELECT r.id AS recordingId, a.device_number AS deviceNumber, a.file_counter AS counter, r.recorded_at AS recordedAt, r.kind, r.sha256
      FROM recordings r JOIN recording_attribution a ON a.recording_id = r.id WHERE r.session_id = ? ORDER BY r.id`)
    .all(sessionId) as { recordingId: number; deviceNumber: string | null; counter: number | null; recordedAt: string; kind: string; sha256: string }[]
}

/** When the device was docked last before this session (the start of its latest earlier session that made a recording). */
export function previousDocking(db: Db, deviceNumber: string, sessionId: number): string | undefined {
  return (
    (db
      .prepare(`SELECT max(s.started_at) FROM ingest_sessions s WHERE s.id < ? AND s.id IN
        (SELECT r.session_id FROM recordings r JOIN recording_attribution a ON a.recording_id = r.id WHERE a.device_number = ?)`)
      .pluck()
      .get(sessionId, deviceNumber) as string | null) ?? undefined
  )
}

/** An assignment as the ledger recorded it, with its own id (a catalog rebuilt from the ledger: src/registry/fold.ts). */
export function restoreAssignment(db: Db, a: Assignment): void {
  db.prepare(`INSERT INTO device_assignments (id, device_number, police_number, kind, valid_from, valid_to, created_at, created_by)
    VALUES (@id, @deviceNumber, @policeNumber, @kind, @validFrom, @validTo, @createdAt, @createdBy)`).run(a)
}
