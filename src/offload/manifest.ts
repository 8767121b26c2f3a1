import type { Db } from '../catalog/db.js'
import { getMediaInfoRow } from '../catalog/media-info.js'
import { objectsOfRecording } from '../catalog/objects.js'
import { getRecording, type Recording } from '../catalog/recordings.js'
import { verifiedVersionId } from '../catalog/remote-copies.js'
import { getRetention } from '../catalog/retention.js'
import { subjects } from '../ledger/events.js'
import { eventsAbout, type LedgerEvent } from '../ledger/ledger.js'

/** Where things live in the bucket, under the station's prefix. */
export const keys = {
  object: (prefix: string, sha256: string): string => `${prefix}objects/${sha256}`,
  manifest: (prefix: string, recordingId: number): string => `${prefix}manifests/recording-${String(recordingId).padStart(10, '0')}.json`,
  manifests: (prefix: string): string => `${prefix}manifests/`,
  ledger: (prefix: string, from: number, to: number): string => `${prefix}ledger/${String(from).padStart(12, '0')}-${String(to).padStart(12, '0')}.jsonl`,
  ledgers: (prefix: string): string => `${prefix}ledger/`,
}

export const MANIFEST_FORMAT = 'bodyvault-manifest/1'

/**
 * The manifest beside a recording's objects: its catalog row, its deadline,
 * its objects with their remote versions, every ledger event about it or
 * its objects, in full (seq, hash, prevHash), and the two texts of its
 * media_info row that its `probed` event holds only as SHA-256 (the raw
 * tags, a sidecar's GPS track): enough to rebuild and re-verify its part of
 * the catalog from the bucket alone. Written under a legal hold
 * (./bucket-jobs.ts uploadManifest).
 */
export interface Manifest {
  format: typeof MANIFEST_FORMAT
  station: string
  recording: Recording
  retention: { deadline: string | null; rule: string; ruleRef: string | null } | null
  objects: { role: string; sha256: string; size: number; key: string; versionId: string | null }[]
  events: LedgerEvent[]
  /** Absent from manifests written before issue 24, null before the probe. */
  media?: { tags: string; gpsTrack: string | null } | null
}

export function buildManifest(db: Db, recordingId: number, stationId: string, prefix: string): { manifest: Manifest; maxSeq: number } {
  const r = getRecording(db, recordingId)
  if (!r) throw new Error(`recording ${recordingId} not in the catalog`)
  const objects = objectsOfRecording(db, recordingId)
  const events = eventsAbout(db, [subjects.recording(recordingId), ...new Set(objects.map((o) => subjects.object(o.sha256)))])
  const ret = getRetention(db, recordingId)
  const info = getMediaInfoRow(db, recordingId)
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    station: stationId,
    recording: r,
    retention: ret ? { deadline: ret.deadline, rule: ret.rule, ruleRef: ret.ruleRef } : null,
    objects: objects.map((o) => ({
      role: o.role,
      sha256: o.sha256,
      size: o.size,
      key: keys.object(prefix, o.sha256),
      versionId: verifiedVersionId(db, o.sha256),
    })),
    events,
    media: info ? { tags: info.tags, gpsTrack: info.gpsTrack } : null,
  }
  return { manifest, maxSeq: events.reduce((m, e) => Math.max(m, e.seq), 0) }
}
