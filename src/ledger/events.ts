/**
 * The ledger's vocabulary, in one place: every event type the station
 * appends, what it is about (its subject) and what it says (its payload),
 * and the builders of actors (who caused it) and subjects.
 *
 * appendEvent (ledger.ts) takes only a NewEvent of this union: an unknown
 * type, a subject of the wrong kind or a payload with a missing, extra or
 * mistyped field does not compile (test/ledger-events.test.ts holds the
 * cases). The payloads are the byte form of ledgers already written: a
 * field is never renamed or retyped; a new fact is a new field or a new
 * event type.
 */
import type { Derivative } from '../catalog/derivatives.js'
import type { MediaFacts } from '../catalog/media-info.js'
import type { JobKind } from '../catalog/media-jobs.js'
import type { IngestFacts } from '../catalog/recordings.js'

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
  user: (username: string): UserSubject => `user:${username}`,
}

/** The kind and the id of a subject as the builders spell it: "recording:42" -> recording, "42". */
export function splitSubject(subject: string): { kind: string; id: string } {
  const i = subject.indexOf(':')
  return i < 0 ? { kind: subject, id: '' } : { kind: subject.slice(0, i), id: subject.slice(i + 1) }
}

// ---------------------------------------------------------------------------
// events, by the part that appends them

type Vocabulary = {
  // ingest (src/ingest/)
  /** A verified object became a recording: the catalog row's facts. */
  ingested: { subject: RecordingSubject; payload: { recordingId: number } & IngestFacts }
  'ingest-session-ended': {
    subject: SessionSubject
    payload: {
      sessionId: number
      state: 'complete' | 'incomplete'
      root: string
      profileId: string
      deviceId: string | null
      /** The volume's strongest identity key (usb:…, fs:…, device:…, folder:…). */
      volume: string
      ingested: number
      present: number
      skipped: number
      /** Regular files that are not media (listed, not ingested unless the profile says so). */
      unrecognised: number
      failed: number
      /** Files read again because they changed while they were read. */
      retried: number
      /** Listings of the volume before it was declared complete. */
      passes: number
      bytesIngested: number
    }
  }

  // docking (src/dock/)
  /** Who a docked camera and its officer are, as the vendor unlock tool said. */
  'camera-identified': {
    subject: DeviceSubject | OfficerSubject
    payload: {
      deviceId: string | null
      officerId: string | null
      officerName: string | null
      unitCode: string | null
      unitName: string | null
      profileId: string
      usbId: string | null
      usbSerial: string | null
    }
  }
  /** A camera wiped after a complete ingest: which files, verified in the vault under which hashes. */
  'camera-wiped': {
    subject: SessionSubject
    payload: {
      sessionId: number
      deviceId: string | null
      profileId: string
      root: string
      files: { sourcePath: string; sha256: string; size: number }[]
      bytes: number
      failed: { sourcePath: string; error: string }[]
    }
  }

  // media (src/media/)
  /** Probe result (one media_info row) and the sidecar links it made. */
  probed: {
    subject: RecordingSubject
    payload: { recordingId: number } & MediaFacts & { links: { sidecarId: number; recordingId: number }[]; gpsTrackSha256: string | null }
  }
  /** A derivative (proxy, thumbnail) committed into the vault: the facts of its derivatives row (its `id` as derivativeId). */
  derived: { subject: RecordingSubject; payload: { derivativeId: number } & Omit<Derivative, 'id' | 'createdAt' | 'eventSeq'> }
  /** A media job failed for good; the original stays in the vault. */
  'media-failed': {
    subject: RecordingSubject
    payload: { recordingId: number; job: JobKind; jobId: number; attempts: number; code: string; error: string; dependentsFailed: JobKind[] }
  }

  // retention (src/retention/): every row of cases, case_links, holds and retention
  'retention-changed': {
    subject: RecordingSubject
    payload: {
      recordingId: number
      /** UTC ISO, or "indefinite". */
      deadline: string
      rule: string
      ruleRef: string | null
      previous: { deadline: string; rule: string; ruleRef: string | null } | null
    }
  }
  'case-created': { subject: CaseSubject; payload: { caseNumber: string; type: string; title: string | null; openedAt: string } }
  'case-closed': { subject: CaseSubject; payload: { caseNumber: string; closedAt: string; reason: string | null } }
  'case-reopened': { subject: CaseSubject; payload: { caseNumber: string; reason: string } }
  /** `recordingCaseNumber`: the recording's case_number after the change (the earliest-linked case still linked). */
  'case-linked': {
    subject: RecordingSubject
    payload: { recordingId: number; caseNumber: string; reason: string | null; recordingCaseNumber: string | null }
  }
  'case-unlinked': {
    subject: RecordingSubject
    payload: { recordingId: number; caseNumber: string; reason: string; recordingCaseNumber: string | null }
  }
  'category-changed': { subject: RecordingSubject; payload: { recordingId: number; from: string | null; to: string | null; reason: string } }
  'hold-placed': { subject: RecordingSubject; payload: { holdId: number; recordingId: number; reason: string } }
  'hold-released': { subject: RecordingSubject; payload: { holdId: number; recordingId: number; reason: string } }
  /** The tombstone: the recording's objects are deleted after it commits. */
  purged: {
    subject: RecordingSubject
    payload: {
      recordingId: number
      sha256: string
      size: number
      rule: string
      ruleRef: string | null
      deadline: string
      purgeAfter: string
      graceDays: number
      reason: string
      objects: { sha256: string; role: string; size: number }[]
      remoteDeleteQueued: string[]
      retentionEventSeq: number | null
    }
  }

  // offload (src/offload/)
  /** Uploaded, read back and hashed, its lock checked. */
  offloaded: {
    subject: ObjectSubject
    payload: {
      sha256: string
      size: number
      bucket: string
      key: string
      versionId: string
      multipart: boolean
      readBackSha256: string
      retainUntil: string | null
      legalHold: boolean
      recordingIds: number[]
    }
  }
  /** The local cache copy dropped (a verified remote copy holds it). */
  evicted: { subject: ObjectSubject; payload: { sha256: string; size: number; versionId: string; reason: string } }
  'remote-deleted': { subject: ObjectSubject; payload: { sha256: string; bucket: string; key: string; versionIds: string[] } }
  'catalog-rebuilt': {
    subject: StationSubject
    payload: {
      source: 's3'
      bucket: string
      prefix: string
      events: number
      recordings: number
      manifests: number
      ledgerSegments: number
      chainProblems: number
    }
  }

  // export (src/export/)
  /** One per recording of an evidence package, before the file takes its name. */
  exported: {
    subject: RecordingSubject
    payload: ExportedVia & {
      recordingId: number
      packageId: string
      recordingIds: number[]
      requestedBy: string
      approvedBy: string
      reason: string
      recipient: string
      manifestSha256: string
      packageSha256: string
      packageBytes: number
      fileName: string
      checkpointSize: number
      checkpointRoot: string
      includeDerivatives: boolean
    }
  }

  // API (src/api/)
  /** A read of footage, written before the first byte is sent. */
  viewed: {
    subject: RecordingSubject
    payload: {
      recordingId: number
      what: string
      sha256: string
      tokenId: number
      role: string
      reason: string | null
      client: string
      range: string
    } & PersonFields
  }
  'token-created': {
    subject: TokenSubject
    payload: { tokenId: number; name: string; role: string; officerId: string | null } & Partial<AuthFields> & { owner?: string }
  }
  'token-revoked': { subject: TokenSubject; payload: { tokenId: number } & Partial<AuthFields> & { owner?: string } }

  // people (src/api/accounts.ts, sessions.ts, sign-in.ts): the CJIS 5.4 audit fields in every payload (the time is the event's)
  'user-created': {
    subject: UserSubject
    payload: AuthFields & { kind: 'person' | 'service'; displayName: string; policeNo: string | null; unit: string | null; roles: string[] }
  }
  'roles-changed': { subject: UserSubject; payload: AuthFields & { from: string[]; to: string[] } }
  'user-disabled': { subject: UserSubject; payload: AuthFields & { tokensRevoked: number[]; sessionsEnded: number[] } }
  'user-enabled': { subject: UserSubject; payload: AuthFields }
  /** `reset`: an admin set a one-time password (changed at the next sign-in); else the person changed their own. */
  'password-changed': { subject: UserSubject; payload: AuthFields & { reset: boolean } }
  'signed-in': { subject: UserSubject; payload: AuthFields & { sessionId: number; kind: 'web' | 'cli'; client: string } }
  'signed-out': { subject: UserSubject; payload: AuthFields & { sessionId: number; client: string } }
  'session-expired': { subject: UserSubject; payload: AuthFields & { sessionId: number; reason: 'idle' | 'absolute' } }
  /**
   * Failed sign-ins of one window, counted (one event per window, so nobody
   * on the LAN can grow the ledger at will): per existing account and per
   * client address. A user name that does not exist is only counted
   * (people type passwords into that field).
   */
  'sign-in-failures': {
    subject: StationSubject
    payload: {
      component: string
      outcome: 'failure'
      windowStart: string
      windowEnd: string
      accounts: { user: string; failures: number; lockedUntil: string | null }[]
      addresses: { address: string; failures: number; lockedUntil: string | null }[]
      unknownAccountFailures: number
    }
  }
  'export-requested': {
    subject: ExportSubject
    payload: { exportId: number; recordingIds: number[]; reason: string; recipient: string; tokenId: number; role: string } & PersonFields
  }
  'export-approved': { subject: ExportSubject; payload: ExportDecision }
  'export-rejected': { subject: ExportSubject; payload: ExportDecision }
}

/** What an `exported` event adds when the API serves the package (its export request, the token, the client, the person). */
export type ExportedVia = { exportId?: number; tokenId?: number; role?: string; client?: string } & PersonFields
type ExportDecision = { exportId: number; reason: string | null; tokenId: number; role: string } & PersonFields & { allowedDownloads?: number }
/** The account and the person (police number, or `account:<id>` for a service account) behind an act; absent in events written before accounts. */
type PersonFields = { user?: string; person?: string }

/** The CJIS 5.4 audit fields of the people events: who (`user`, the account's user name), which component, the outcome. */
export type AuthFields = { user: string; component: 'api' | 'web' | 'cli'; outcome: 'success' | 'failure' }

export type EventType = keyof Vocabulary
export type EventPayload<T extends EventType> = Vocabulary[T]['payload']
export type EventSubject<T extends EventType> = Vocabulary[T]['subject']

/** An event to append: one member per event type. */
export type NewEvent = {
  [T in EventType]: {
    type: T
    /** Who caused it: one of `actors` (the API and the dock pass theirs as built there). */
    actor: string
    subject: EventSubject<T>
    payload: EventPayload<T>
    /** Defaults to now. */
    at?: Date
  }
}[EventType]
