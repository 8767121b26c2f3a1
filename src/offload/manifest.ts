import type { Db } from '../catalog/db.js'
import { getRecording, type Recording } from '../catalog/recordings.js'
import type { LedgerEvent } from '../ledger/ledger.js'
import { objectsOfRecording } from '../retention/objects.js'
import { getRetention } from '../retention/store.js'

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
 * its objects with their remote versions, and every ledger event about it
 * or its objects, in full (seq, hash, prevHash): enough to rebuild and
 * re-verify its part of the catalog from the bucket alone.
 */
export interface Manifest {
  format: typeof MANIFEST_FORMAT
  station: string
  recording: Recording
  retention: { deadline: string | null; rule: string; ruleRef: string | null } | null
  objects: { role: string; sha256: string; size: number; key: string; versionId: string | null }[]
  events: LedgerEvent[]
}

interface EventRow {
  seq: number
  type: string
  at: string
  actor: string
  subject: string
  payload: string
  prev_hash: string
  hash: string
}

export function buildManifest(db: Db, recordingId: number, stationId: string, prefix: string): { manifest: Manifest; maxSeq: number } {
  const r = getRecording(db, recordingId)
  if (!r) throw new Error(`recording ${recordingId} not in the catalog`)
  const objects = objectsOfRecording(db, recordingId)
  const subjects = [`recording:${recordingId}`, ...new Set(objects.map((o) => `object:${o.sha256}`))]
  const rows = db.prepare(`SELECT * FROM events WHERE subject IN (${subjects.map(() => '?').join(', ')}) ORDER BY seq`).all(...subjects) as EventRow[]
  const events: LedgerEvent[] = rows.map((e) => ({
    seq: e.seq,
    type: e.type,
    at: e.at,
    actor: e.actor,
    subject: e.subject,
    payload: JSON.parse(e.payload) as Record<string, unknown>,
    prevHash: e.prev_hash,
    hash: e.hash,
  }))
  const ret = getRetention(db, recordingId)
  const remote = db.prepare('SELECT version_id AS v FROM offload_objects WHERE sha256 = ? AND verified_at IS NOT NULL')
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
      versionId: (remote.get(o.sha256) as { v: string } | undefined)?.v ?? null,
    })),
    events,
  }
  return { manifest, maxSeq: events.reduce((m, e) => Math.max(m, e.seq), 0) }
}
