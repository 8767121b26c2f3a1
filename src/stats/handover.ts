import { handoverCandidates, putHandover } from '../catalog/handovers.js'
import type { Db } from '../catalog/db.js'

/**
 * Handover on time (及时移交): footage must reach the vault within a limit
 * (default 24 h) of the END of the recording. One pure function decides a
 * recording's delay; `refreshHandovers` stores it for every recording that
 * has none yet or whose end is now better known (probed after ingest).
 *
 * The end is the start + the probed duration when the media was probed,
 * else the start (a photo, a file ffprobe could not read: the delay is then
 * counted from the start, which can only make it look later, never on time
 * when it was not). All instants are absolute (UTC ISO from the catalog,
 * where the camera's local time was already read in its own offset), so
 * the station's or the camera's time zone cannot move a delay; a clip whose
 * end lies after its commit (a camera clock running fast) counts 0, on time.
 */
export interface HandoverInput {
  /** UTC ISO instant of the recording's start. */
  recordedAt: string
  /** Probed duration in seconds, or null when not (yet) probed. */
  durationSec: number | null
  /** UTC ISO instant of the commit in the vault (recordings.ingested_at). */
  ingestedAt: string
}

export interface Handover {
  endedAt: string
  endedFrom: 'probe' | 'start'
  committedAt: string
  delaySeconds: number
  limitSeconds: number
  late: boolean
}

export function handoverDelay(r: HandoverInput, limitSeconds: number): Handover {
  const start = Date.parse(r.recordedAt)
  const committed = Date.parse(r.ingestedAt)
  if (Number.isNaN(start) || Number.isNaN(committed)) throw new RangeError(`not an instant: ${r.recordedAt} / ${r.ingestedAt}`)
  const probed = r.durationSec !== null && Number.isFinite(r.durationSec) && r.durationSec >= 0
  const end = start + (probed ? Math.round(r.durationSec! * 1000) : 0)
  const delaySeconds = Math.max(0, Math.floor((committed - end) / 1000))
  return {
    endedAt: new Date(end).toISOString(),
    endedFrom: probed ? 'probe' : 'start',
    committedAt: new Date(committed).toISOString(),
    delaySeconds,
    limitSeconds,
    late: delaySeconds > limitSeconds,
  }
}

/** Stores the handover of every recording without one, probed since, or computed under another limit. */
export function refreshHandovers(db: Db, limitSeconds: number): { computed: number } {
  const rows = handoverCandidates(db, limitSeconds)
  db.transaction(() => {
    for (const r of rows) putHandover(db, r.recordingId, handoverDelay(r, limitSeconds))
  }).immediate()
  return { computed: rows.length }
}
