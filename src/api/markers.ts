import { getMediaInfoRow } from '../catalog/media-info.js'
import { insertMarker, type Marker, nextMarkerId } from '../catalog/markers.js'
import type { Db } from '../catalog/db.js'
import type { Recording } from '../catalog/recordings.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'

/**
 * Adds a clerk's marker to a recording: the row and its `marker-added`
 * event in one immediate transaction (both or neither). A position past
 * the recording's probed duration (one second of slack for rounding) is
 * refused: a marker the player cannot seek to helps nobody.
 */
export function addMarker(db: Db, r: Recording, m: { positionMs: number; note: string; actor: string; now?: Date }): Marker {
  const note = m.note.trim()
  if (note.length === 0) throw new BodyvaultError('BAD_REQUEST', 'a marker needs a note')
  const duration = getMediaInfoRow(db, r.id)?.durationSec
  if (duration != null && m.positionMs > Math.ceil(duration * 1000) + 1000)
    throw new BodyvaultError('MARKER_POSITION', `the recording lasts ${duration} s: a marker at ${m.positionMs} ms is past its end`)
  return db
    .transaction((): Marker => {
      const id = nextMarkerId(db)
      const at = m.now ?? new Date()
      const ev = appendEvent(db, {
        type: 'marker-added',
        actor: m.actor,
        subject: subjects.recording(r.id),
        payload: { recordingId: r.id, markerId: id, positionMs: m.positionMs, note },
        at,
      })
      return insertMarker(db, { id, recordingId: r.id, positionMs: m.positionMs, note, createdBy: m.actor, createdAt: ev.at, eventSeq: ev.seq })
    })
    .immediate()
}
