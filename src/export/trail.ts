/**
 * What an evidence package holds of the catalog and the ledger, read in one
 * transaction against a signed checkpoint: each recording, its custody trail
 * (every event about it or its ingest session, and the latest probe of a
 * linked sidecar whose GPS it uses) up to the checkpoint, its derivatives,
 * and an inclusion proof of every event.
 */
import type { Checkpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { derivativesOf, type Derivative } from '../catalog/derivatives.js'
import { sidecarsOf } from '../catalog/media-info.js'
import { getRecording, type Recording } from '../catalog/recordings.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { eventsFor, type LedgerEvent } from '../ledger/ledger.js'
import { LedgerTree } from '../ledger/tree.js'
import type { ManifestRecording, ProofFile } from './layout.js'

export interface Trail {
  recs: { rec: Recording; events: LedgerEvent[]; derivatives: Derivative[] }[]
  allEvents: Map<number, LedgerEvent>
  proofs: Map<number, ProofFile>
}

/** The trail of these recordings up to `checkpoint`; refuses a ledger that no longer matches it. */
export function gatherTrail(db: Db, ids: readonly number[], checkpoint: Pick<Checkpoint, 'id' | 'treeSize' | 'rootHash'>, includeDerivatives: boolean): Trail {
  const size = checkpoint.treeSize
  return db.transaction((): Trail => {
    const tree = LedgerTree.for(db)
    if (tree.size < size || !tree.rootAt(size).equals(Buffer.from(checkpoint.rootHash, 'hex'))) {
      throw new BodyvaultError('LEDGER_INCONSISTENT', `the ledger no longer matches checkpoint ${checkpoint.id}: run bodyvault verify`)
    }
    const recs: Trail['recs'] = []
    const allEvents = new Map<number, LedgerEvent>()
    for (const id of ids) {
      const rec = getRecording(db, id)
      if (!rec) throw new BodyvaultError('PACKAGE_NO_RECORDING', `there is no recording ${id}: check the id (bodyvault recordings)`, 2)
      if (rec.status !== 'stored')
        throw new BodyvaultError('PACKAGE_PURGED', `recording ${id} was purged: its original no longer exists and cannot be exported`, 2)
      const evs = new Map<number, LedgerEvent>()
      for (const e of eventsFor(db, subjects.recording(id))) evs.set(e.seq, e)
      if (rec.sessionId !== null) for (const e of eventsFor(db, subjects.session(rec.sessionId))) evs.set(e.seq, e)
      // A clip's GPS may come from a linked sidecar (media_links): its probe event goes in the trail as the proof.
      for (const sid of sidecarsOf(db, id)) {
        const probe = eventsFor(db, subjects.recording(sid))
          .filter((e) => e.type === 'probed' && e.seq <= size)
          .pop()
        if (probe) evs.set(probe.seq, probe)
      }
      const trail = [...evs.values()].filter((e) => e.seq <= size).sort((a, b) => a.seq - b.seq)
      if (!trail.some((e) => e.seq === rec.eventSeq))
        throw new BodyvaultError('LEDGER_INCONSISTENT', `recording ${id}'s ingested event ${rec.eventSeq} is not in the ledger: run bodyvault verify`)
      for (const e of trail) allEvents.set(e.seq, e)
      const derivatives = includeDerivatives ? derivativesOf(db, id).filter((d) => d.eventSeq <= size) : []
      recs.push({ rec, events: trail, derivatives })
    }
    const proofs = new Map<number, ProofFile>()
    for (const seq of allEvents.keys()) {
      const index = tree.indexOf(seq)
      proofs.set(seq, {
        seq,
        leafIndex: index,
        treeSize: size,
        leafHash: tree.leaf(index).toString('hex'),
        path: tree.inclusionProof(seq, size).map((b) => b.toString('hex')),
      })
    }
    return { recs, allEvents, proofs }
  })()
}

/**
 * Duration and place from the recording's latest `probed` event
 * (src/media/job-runner.ts payload); the place, failing that, from the latest
 * `probed` event of a linked sidecar (in `events` too, see above).
 */
export function probedFacts(recordingId: number, events: readonly LedgerEvent[]): Pick<ManifestRecording, 'durationSec' | 'gps'> {
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
  const gpsOf = (e: LedgerEvent | undefined, source?: string): ManifestRecording['gps'] => {
    const lat = num(e?.payload.gpsLat)
    const lon = num(e?.payload.gpsLon)
    if (!e || lat === null || lon === null) return null
    return { lat, lon, source: source ?? (typeof e.payload.gpsSource === 'string' ? e.payload.gpsSource : null) }
  }
  const probes = [...events].reverse().filter((e) => e.type === 'probed')
  const own = probes.find((e) => e.subject === subjects.recording(recordingId))
  let gps = gpsOf(own)
  for (const e of probes) {
    if (gps) break
    if (e.subject !== subjects.recording(recordingId)) gps = gpsOf(e, `sidecar ${e.subject} (ledger event ${e.seq})`)
  }
  return { durationSec: num(own?.payload.durationSec), gps }
}
