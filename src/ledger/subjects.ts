/**
 * Who causes a ledger event (actors) and what it is about (subjects): the
 * builders every part spells them with. ./events.ts types each event's
 * subject with these and re-exports them, so a part imports the vocabulary
 * from one module.
 */

// ---------------------------------------------------------------------------
// actors: who caused an event

/** The station acting by itself (ingest, media jobs, retention, offload). */
export type StationActor = `station:${string}`
/** An API client, by its token's id. */
export type TokenActor = `token:${number}`
/** A person: a named account (signed in on the web or the CLI, or through a token of theirs); before accounts, the CLI's `--by NAME`. */
export type UserActor = `user:${string}`
export type Actor = StationActor | TokenActor | UserActor

export const actors = {
  station: (stationId: string): StationActor => `station:${stationId}`,
  token: (tokenId: number): TokenActor => `token:${tokenId}`,
  user: (name: string): UserActor => `user:${name}`,
}

// ---------------------------------------------------------------------------
// subjects: what an event is about (events_subject indexes them)

export type RecordingSubject = `recording:${number}`
/** An ingest session (a docking). */
export type SessionSubject = `session:${number}`
export type CaseSubject = `case:${string}`
/** A vault object by its SHA-256 (its remote copy, its local cache copy). */
export type ObjectSubject = `object:${string}`
export type TokenSubject = `token:${number}`
export type ExportSubject = `export:${number}`
export type DeviceSubject = `device:${string}`
export type OfficerSubject = `officer:${string}`
export type StationSubject = `station:${string}`
/** A signed checkpoint of this station's ledger, by its catalog id. */
export type CheckpointSubject = `checkpoint:${number}`
/** Another station's log this station witnesses, by its checkpoint origin ("bodyvault/<station id>"). */
export type LogSubject = `log:${string}`
export type UnitSubject = `unit:${string}`
export type AssignmentSubject = `assignment:${number}`
export type FindingSubject = `finding:${number}`
/** An account, by its user name. */
export type UserSubject = `user:${string}`

export const subjects = {
  recording: (id: number): RecordingSubject => `recording:${id}`,
  session: (id: number): SessionSubject => `session:${id}`,
  case: (caseNumber: string): CaseSubject => `case:${caseNumber}`,
  object: (sha256: string): ObjectSubject => `object:${sha256}`,
  token: (id: number): TokenSubject => `token:${id}`,
  export: (id: number): ExportSubject => `export:${id}`,
  device: (id: string): DeviceSubject => `device:${id}`,
  officer: (id: string): OfficerSubject => `officer:${id}`,
  station: (id: string): StationSubject => `station:${id}`,
  checkpoint: (id: number): CheckpointSubject => `checkpoint:${id}`,
  log: (origin: string): LogSubject => `log:${origin}`,
  unit: (code: string): UnitSubject => `unit:${code}`,
  assignment: (id: number): AssignmentSubject => `assignment:${id}`,
  finding: (id: number): FindingSubject => `finding:${id}`,
  user: (username: string): UserSubject => `user:${username}`,
}

/** The kind and the id of a subject as the builders spell it: "recording:42" -> recording, "42". */
export function splitSubject(subject: string): { kind: string; id: string } {
  const i = subject.indexOf(':')
  return i < 0 ? { kind: subject, id: '' } : { kind: subject.slice(0, i), id: subject.slice(i + 1) }
}
