/**
 * The shapes of an ingest session: what the station gives every session
 * (IngestContext), what one docking asks (IngestSessionOptions), how it
 * reports progress while it runs and what it reports at the end.
 */
import type { Identity } from '../camera/names.js'
import type { DockingProfile } from '../camera/profile.js'
import type { Db } from '../catalog/db.js'
import type { Kind } from '../common/kinds.js'
import type { Logger } from '../common/log.js'
import type { IngestAttribution } from '../ledger/events.js'
import type { Vault } from '../vault/store.js'
import type { IngestBuffers } from './buffers.js'
import type { RecordedHook } from './record.js'
import type { ListedFile, Listing } from './walk.js'

/** What ingest needs from the station, the same for every session (built once in src/station/). */
export interface IngestContext {
  db: Db
  vault: Vault
  stationId: string
  /** Who the ledger names as the actor, e.g. "station:station-01". */
  actor: string
  settings: IngestSettings
  /** The station's budget of read buffers, shared by all sessions (built once in src/station/ from ingest.bufferBytes); without it each file has its own. */
  buffers?: IngestBuffers
  logger: Logger
  /** Every loaded profile: file-name patterns that name a device, and volume markers (whether a folder is a camera). */
  profiles?: readonly DockingProfile[]
  /**
   * Called inside the transaction that records each new recording, so what
   * the station does next (queue its media jobs) commits with it or not at
   * all: a crash never leaves a recording without its jobs.
   */
  onRecorded?: RecordedHook
  /**
   * Whose recording it is (the station's registry): called inside the
   * transaction that records it, before its `ingested` event, which then
   * names the officer it decided and says where that came from.
   */
  resolveOfficer?: OfficerResolver
  /** After a session has ended and been recorded (the registry's reconciliation); an error here is logged, never the session's. */
  onSessionEnded?: (report: IngestReport) => void
}

/** What the registry is asked about one new recording. */
export interface AttributionInput {
  /** From the file name, else the docked camera's identity. */
  deviceId: string | null
  officerId: string | null
  /** Where officerId came from (null when nothing on the camera named one). */
  officerFrom: 'file-name' | 'camera-identity' | null
  usb: { vendorId: string; productId: string; serial: string | null } | null
  recordedAt: string
  kind: Kind
  counter: number | null
  sessionId: number | null
}

/** The registry's answer: the officer to record, the facts the `ingested` event carries, and what to store once the recording has its id. */
export interface ResolvedOfficer {
  officerId: string | null
  attribution: IngestAttribution
  record(tx: Db, recordingId: number, at: string): void
}

export type OfficerResolver = (tx: Db, r: AttributionInput) => ResolvedOfficer

/** The `ingest` section of the configuration. */
export interface IngestSettings {
  chunkBytes: number
  /** The station's budget for ingest read buffers, shared by every file being copied (buffers.ts). */
  bufferBytes: number
  /** Read each range of a staged copy back as it is written and compare it with the bytes written (readback.ts). */
  readBackVerify: boolean
  minFreeBytes: number
  /** Reads of a file that changed while it was read, done again before it fails `changed-while-copying`. */
  changeRetries: number
  /** Enumeration passes: after the first, a pass copies what is new or changed since the last listing. */
  maxPasses: number
}

/** One camera's session: where it is mounted, how to read it, and who is asking. */
export interface IngestSessionOptions {
  /** The mounted camera folder. */
  root: string
  profile: DockingProfile
  /** Device/officer from the docked camera (unlock hook, CLI), used where file names say nothing. */
  identity?: Identity
  /** The USB device behind the volume, when the dock knows it (its serial is the volume's strongest identity). */
  usb?: { vendorId: string; productId: string; serial: string | null } | null
  /** Defaults to the context's logger. */
  logger?: Logger
  signal?: AbortSignal
  onProgress?: (p: IngestProgress) => void
  /** Each listing of the volume, as it is made (the dock derives the clock drift and the device from it). */
  onListing?: (l: Listing) => void
  /** Fair share of the disk between cameras (the station daemon's scheduler): awaited before each file is read. */
  diskGate?: (bytes: number, signal?: AbortSignal) => Promise<() => void>
  /** For fault tests only: runs after a range of a file's staged copy is written and before it is read back. */
  afterStagedWrite?: (sourcePath: string, stagingPath: string, pos: number, n: number) => void
}

export type IngestOptions = Omit<IngestContext, 'settings' | 'logger'> & IngestSettings & IngestSessionOptions & { logger: Logger }

export interface IngestProgress {
  sessionId: number | null
  /** Files whose copy (or check) is done, of those planned so far; never above filesTotal. */
  filesDone: number
  filesTotal: number
  /** Files now in the vault from this session (ingested or found already there): what an incomplete docking has saved so far. */
  filesStored: number
  /** Bytes read of the files planned so far; never above bytesTotal (a file that grows raises the total). */
  bytesDone: number
  bytesTotal: number
  /** Enumeration pass (1, then 2... when files appeared or changed). */
  pass: number
  current?: string
  /** When the call on the camera now running started (ms), null when none runs: a long wait is a hung device. */
  waitingSince: number | null
}

export interface FileEntry {
  id: number
  sha256: string
  size: number
  sourcePath: string
  /** The name's bytes (base64), as the camera wrote them. */
  raw: string
}

export interface IngestReport {
  sessionId: number
  state: 'complete' | 'incomplete'
  root: string
  profileId: string
  /** The volume's identity keys, strongest first (usb:, fs:, device:, folder:). */
  volume: { id: number; keys: string[] }
  ingested: FileEntry[]
  /** Already in the vault from an earlier docking of this volume (or device): nothing stored again. */
  present: (FileEntry & { earlierSession: number | null })[]
  /** Not files of the camera (system folders, links, pipes): listed, not ingested. */
  skipped: ListedFile[]
  /** Regular files that are neither media nor sidecars: listed, not ingested (see the profile's ingestUnrecognised). */
  unrecognised: ListedFile[]
  /** Media files (or folders) that are not in the vault, with the reason: the session is incomplete. */
  failed: { sourcePath: string; error: string }[]
  /** Files that changed while read and were read again until a read saw them stand still. */
  retried: { sourcePath: string; attempts: number; changes: string[] }[]
  filesTotal: number
  bytesTotal: number
  bytesIngested: number
  passes: number
  /** When the last listing of the volume began: the state is true as of then. */
  listedAt: string
  durationMs: number
}
