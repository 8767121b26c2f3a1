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
import type { AssignmentKind } from '../catalog/assignments.js'
import type { FindingKind } from '../catalog/findings.js'
import type { FixityProblem } from '../catalog/fixity.js'
import type { RosterDevice, RosterOfficer, Unit } from '../catalog/registry.js'
import type {
  RecordingSubject,
  SessionSubject,
  CaseSubject,
  ObjectSubject,
  ExportSubject,
  DeviceSubject,
  OfficerSubject,
  StationSubject,
  CheckpointSubject,
  LogSubject,
  UnitSubject,
  AssignmentSubject,
  FindingSubject,
} from './subjects.js'
export * from './subjects.js'
import type { AccessVocabulary } from './events-access.js'
import type { ComplianceVocabulary } from './events-compliance.js'
import type { ExportedVia, IngestAttribution, KeyFacts, ProxyRecord, RegistryChange, RestorePoint, ViaField } from './payloads.js'
export type { AuthFields, ExportedVia, IngestAttribution, KeyFacts, PersonFields, ProxyRecord, RestorePoint, ViaField } from './payloads.js'

// ---------------------------------------------------------------------------
// events, by the part that appends them

type Vocabulary = AccessVocabulary &
  ComplianceVocabulary & {
    // the vault itself (src/station/vault-identity.ts, src/ledger/key-chain.ts)
    /** Event 1 of a vault made by this version: its hash is the genesis the marker (data/vault.json) names; its key starts the chain of keys. */
    'vault-created': { subject: StationSubject; payload: { stationId: string } & KeyFacts }
    /** A vault from before the marker, marked at the first start of this version: its first event's hash and the key at hand (null: missing or not the checkpoints'). */
    'vault-marked': {
      subject: StationSubject
      payload: { stationId: string; genesisHash: string; events: number } & { [K in keyof KeyFacts]: KeyFacts[K] | null }
    }
    /** A new key with the old one at hand: `signature` is the old key's over the statement (key-chain.ts), `newKeySignature` the new key's over the same bytes. */
    'key-rotated': { subject: StationSubject; payload: KeyFacts & { previousFingerprint: string; reason: string; signature: string; newKeySignature: string } }
    /** A new key without the old one (lost, or the file replaced): the chain of keys is broken here, and verify and doctor say so for ever after. */
    'key-replaced': { subject: StationSubject; payload: KeyFacts & { previousFingerprint: string | null; reason: string; newKeySignature: string } }

    // ingest (src/ingest/)
    /**
     * A verified object became a recording: the catalog row's facts, and
     * (since the registry, issue 17) where its officer came from, the roster
     * device, the officer's unit at the recorded time and the file counter.
     */
    ingested: { subject: RecordingSubject; payload: { recordingId: number } & IngestFacts & Partial<IngestAttribution> }
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

    // registry (src/registry/): every change of the roster; `via` says how (cli, api, import: the roster file's SHA-256)
    'unit-saved': { subject: UnitSubject; payload: RegistryChange<Omit<Unit, 'updatedAt'>> }
    'officer-saved': { subject: OfficerSubject; payload: RegistryChange<Omit<RosterOfficer, 'updatedAt'>> & { unitFrom: string | null } }
    'device-saved': { subject: DeviceSubject; payload: RegistryChange<Omit<RosterDevice, 'updatedAt'>> }
    /** A roster file imported: all its rows in one transaction (each row's own event precedes this one). */
    'roster-imported': {
      subject: StationSubject
      payload: {
        entity: 'units' | 'officers' | 'devices'
        format: 'csv' | 'xlsx'
        sha256: string
        rows: number
        added: number
        updated: number
        unchanged: number
      }
    }
    /** A device given to an officer for a period (assignment) or a shift (checkout). */
    'device-assigned': {
      subject: AssignmentSubject
      payload: { assignmentId: number; kind: AssignmentKind; deviceNumber: string; policeNumber: string; validFrom: string; validTo: string | null }
    }
    /** An assignment ended, or a checked-out device returned. */
    'device-returned': {
      subject: AssignmentSubject
      payload: { assignmentId: number; kind: AssignmentKind; deviceNumber: string; policeNumber: string; validTo: string }
    }
    /** Something for a clerk or a supervisor: a name/assignment conflict, a reconciliation gap. */
    'finding-raised': {
      subject: FindingSubject
      payload: {
        findingId: number
        kind: FindingKind
        code: string
        deviceNumber: string | null
        recordingId: number | null
        sessionId: number | null
        message: string
        detail: Record<string, unknown>
      }
    }
    'finding-resolved': { subject: FindingSubject; payload: { findingId: number; resolution: string } }

    // media (src/media/)
    /** Probe result (one media_info row) and the sidecar links it made. */
    probed: {
      subject: RecordingSubject
      payload: { recordingId: number } & MediaFacts & { links: { sidecarId: number; recordingId: number }[]; gpsTrackSha256: string | null }
    }
    /** A derivative committed into the vault: the facts of its derivatives row (its `id` as derivativeId); `proxy`: how a proxy was made (absent on thumbnails and older events). */
    derived: { subject: RecordingSubject; payload: { derivativeId: number } & Omit<Derivative, 'id' | 'createdAt' | 'eventSeq'> & { proxy?: ProxyRecord } }
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
      payload: { recordingId: number; caseNumber: string; reason: string | null; recordingCaseNumber: string | null } & ViaField
    }
    'case-unlinked': {
      subject: RecordingSubject
      payload: { recordingId: number; caseNumber: string; reason: string; recordingCaseNumber: string | null }
    }
    'category-changed': { subject: RecordingSubject; payload: { recordingId: number; from: string | null; to: string | null; reason: string } & ViaField }
    /** The recording's "important" mark (the camera's, at ingest) set or cleared: the officer at the dock, or a clerk with a reason. */
    'importance-changed': { subject: RecordingSubject; payload: { recordingId: number; from: boolean; to: boolean; reason: string } & ViaField }
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
    /** An evicted object back in the local cache: fetched from its verified remote copy, hashed on the way (`reason`: what needed it). */
    'fetched-back': { subject: ObjectSubject; payload: { sha256: string; size: number; key: string; versionId: string; reason: string } }
    /**
     * A local copy already in the data dir of a catalog rebuilt from the bucket (`reindex --fetch`), hashed whole and found to be
     * the recorded bytes (or made so by a repair, with its own `object-repaired` event): on the record as local again.
     */
    'local-copy-confirmed': { subject: ObjectSubject; payload: { sha256: string; size: number; reason: string } }
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
        /** Recordings the ledger knows whose manifest is not in the bucket (rebuilt from the ledger alone). Events written before these two fields lack them. */
        manifestsMissing: number[]
        /** What this rebuild did not restore, in words (`bodyvault doctor` repeats it). */
        notRestored: string[]
      }
    }

    // backup (src/backup/)
    /** A backup finished: where to, and its figures (the copy holds the ledger up to `ledgerHead`, not this event). */
    'backup-completed': {
      subject: StationSubject
      payload: {
        target: string
        full: boolean
        ledgerHead: number
        catalogBytes: number
        stateFilesCopied: number
        objectsCopied: number
        objectsPresent: number
        objectsCorrupt: number
        bytesCopied: number
        durationMs: number
      }
    }

    // fixity (src/fixity/)
    /**
     * A local copy is not what was recorded (missing, another length, a block
     * or the whole SHA-256 that does not match), found when it was about to be
     * served (`where`: serve, export), by the fixity job (fixity-job) or by
     * `reindex --fetch` checking a copy it found (reindex). For a
     * package being sent, the subject is its export request.
     */
    'fixity-failed': {
      subject: ObjectSubject | ExportSubject
      payload: FixityProblem & { where: string; recordingIds: number[] }
    }
    /**
     * A bad or missing local copy replaced by a good one (a backup data dir,
     * the S3 copy), hashed on the way and committed only when it matched; or
     * found good again in place. The bad bytes are kept aside (`quarantined`).
     */
    'object-repaired': {
      subject: ObjectSubject
      payload: { sha256: string; size: number; from: 'backup' | 's3' | 'in-place'; source: string; quarantined: string | null; recordingIds: number[] }
    }
    /** One run of the fixity job (not counted as ledger growth for checkpoints: QUIET_EVENT_TYPES). */
    'fixity-checked': {
      subject: StationSubject
      payload: {
        trigger: 'schedule' | 'manual'
        scope: 'due' | 'all'
        objects: number
        bytes: number
        failed: number
        repaired: number
        /** Objects still due when the run ended. */
        remaining: number
        stopped: boolean
        durationMs: number
        budgetBytesPerSec: number
        cycleDays: number
      }
    }

    // checkpoints and their anchors (src/ledger/checkpoint.ts, src/ledger/restore.ts, src/anchor/)
    /** A checkpoint was signed: the signed note as stored, so the chain itself holds every checkpoint. Quiet (below). */
    checkpoint: {
      subject: CheckpointSubject
      payload: { checkpointId: number; treeSize: number; rootHash: string; origin: string; keyId: string; note: string }
    }
    /**
     * The catalog was rolled back (a backup restored): the newest checkpoint known outside the
     * catalog (`from`) and the state it went back to (`to`), in `statement`, a note signed by the
     * station key (./restore.ts). Witnesses accept the new branch only with this event in it.
     */
    restored: {
      subject: StationSubject
      payload: {
        from: RestorePoint & { source: string; note: string | null }
        to: RestorePoint & { checkpointId: number | null }
        statement: string
        detectedBy: 'restore-command' | 'first-start'
        reason: string
      }
    }
    /** As a witness: another station's checkpoint refused (inconsistent with what this station co-signed for it). */
    'witness-refused': {
      subject: LogSubject
      payload: {
        origin: string
        treeSize: number
        rootHash: string
        oldSize: number
        cosignedSize: number
        cosignedRoot: string | null
        status: number
        reason: string
        note: string
      }
    }
    /** As a witness: another station's `restored` event accepted, and its new branch co-signed from then on. */
    'witness-restore-accepted': {
      subject: LogSubject
      payload: {
        origin: string
        restoredSeq: number
        from: RestorePoint
        to: RestorePoint
        cosignedSize: number
        cosignedRoot: string | null
        treeSize: number
        rootHash: string
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

    // the clerks' workspace (src/api/markers.ts)
    /** A clerk's marker: a time in the recording (ms from its start) and a note; every column of its `markers` row (migration 020). */
    'marker-added': { subject: RecordingSubject; payload: { recordingId: number; markerId: number; positionMs: number; note: string } }

    // API reads and people (./events-access.ts)
  }

/**
 * Events that do not count as "the ledger grew" when deciding whether a new checkpoint is due
 * or needed: each checkpoint appends a `checkpoint` event, which must not cause the next one.
 * The fixity job's summary of each run (`fixity-checked`) is quiet too: an idle station would
 * otherwise sign a checkpoint after every run; the next checkpoint something else causes covers it.
 */
export const QUIET_EVENT_TYPES: readonly EventType[] = ['checkpoint', 'fixity-checked']
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
