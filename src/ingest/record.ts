import type { Db } from '../catalog/db.js'
import { insertRecording, nextRecordingId, touchDeviceAndOfficer, type IngestFacts } from '../catalog/recordings.js'
import { rememberVolumeFile } from '../catalog/sessions.js'
import { subjects } from '../ledger/events.js'
import { appendEvent, type LedgerEvent } from '../ledger/ledger.js'

/** What the station does with a new recording inside its ingest transaction (src/station/ queues its media jobs). */
export type RecordedHook = (db: Db, recording: { id: number; kind: IngestFacts['kind']; at: string }) => void

/** Where on which camera volume a recording came from: the raw name (base64 of its bytes) and the volume's identity. */
export interface Origin {
  volumeId: number
  /** The volume's strongest key (usb:..., fs:..., device:..., folder:...). */
  volumeKey: string
  rawPath: string
}

/**
 * Records one verified object as a recording: the catalog row, its
 * `ingested` ledger event (which carries the raw name and the volume key
 * beside the recording's facts) and the volume-file row that lets a later
 * docking recognise it, in ONE immediate transaction, so there is never a
 * row without its event or an event without its row. Call only after the
 * object is in objects/ (invariant 1).
 */
export function recordIngested(db: Db, facts: IngestFacts, actor: string, onRecorded?: RecordedHook, origin?: Origin): { id: number; event: LedgerEvent } {
  return db
    .transaction(() => {
      const id = nextRecordingId(db)
      const payload = origin ? { recordingId: id, ...facts, sourceRaw: origin.rawPath, volume: origin.volumeKey } : { recordingId: id, ...facts }
      const event = appendEvent(db, { type: 'ingested', actor, subject: subjects.recording(id), payload })
      touchDeviceAndOfficer(db, facts.deviceId, facts.officerId, event.at)
      insertRecording(db, { ...facts, id, ingestedAt: event.at, eventSeq: event.seq })
      if (origin && facts.sessionId !== null)
        rememberVolumeFile(db, origin.volumeId, {
          rawPath: origin.rawPath,
          sha256: facts.sha256,
          size: facts.size,
          recordingId: id,
          sessionId: facts.sessionId,
        })
      // The station's hook (media jobs: probe, proxy, thumbnail) commits in this same transaction; ingest never waits for them.
      onRecorded?.(db, { id, kind: facts.kind, at: event.at })
      return { id, event }
    })
    .immediate()
}
