import type { Db } from '../catalog/db.js'
import { insertRecording, touchDeviceAndOfficer, type IngestFacts } from '../catalog/recordings.js'
import { appendEvent, type LedgerEvent } from '../ledger/ledger.js'

/** What the station does with a new recording inside its ingest transaction (src/station/ queues its media jobs). */
export type RecordedHook = (db: Db, recording: { id: number; kind: IngestFacts['kind']; at: string }) => void

/**
 * Records one verified object as a recording: the catalog row and its
 * `ingested` ledger event commit in ONE immediate transaction, so there is
 * never a row without its event or an event without its row. Call only
 * after the object is in objects/ (invariant 1).
 */
export function recordIngested(db: Db, facts: IngestFacts, actor: string, onRecorded?: RecordedHook): { id: number; event: LedgerEvent } {
  return db
    .transaction(() => {
      const id = (db.prepare('SELECT coalesce(max(id), 0) AS m FROM recordings').get() as { m: number }).m + 1
      const event = appendEvent(db, { type: 'ingested', actor, subject: `recording:${id}`, payload: { recordingId: id, ...facts } })
      touchDeviceAndOfficer(db, facts.deviceId, facts.officerId, event.at)
      insertRecording(db, { ...facts, id, ingestedAt: event.at, eventSeq: event.seq })
      // The station's hook (media jobs: probe, proxy, thumbnail) commits in this same transaction; ingest never waits for them.
      onRecorded?.(db, { id, kind: facts.kind, at: event.at })
      return { id, event }
    })
    .immediate()
}
