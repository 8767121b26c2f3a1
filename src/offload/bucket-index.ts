import { BodyvaultError } from '../common/errors.js'
import type { LedgerEvent } from '../ledger/ledger.js'
import { keys, MANIFEST_FORMAT, type Manifest } from './manifest.js'
import type { S3Store } from './s3.js'

/** A manifest as the bucket holds it: its newest version, and what stands on or around it. */
export interface FoundManifest {
  key: string
  versionId: string
  manifest: Manifest
  /** The server reports a legal hold on this version (manifests written before issue 24 have none). */
  held: boolean
  /** A delete marker stands on top of it: someone deleted the key; the version under it was read. */
  hidden: boolean
}

/** Everything a rebuild reads from the bucket. */
export interface BucketIndex {
  ledgerSegments: number
  /** Every event found in the segments and the manifests, each once, in seq order. */
  events: LedgerEvent[]
  /** The last event the ledger segments hold without a gap from event 1. */
  segmentsThrough: number
  /** By recording id. */
  manifests: Map<number, FoundManifest>
  notes: string[]
}

/**
 * Reads the station's part of the bucket: the ledger segments (under legal
 * hold, kept for ever) and the newest version of every manifest, even one a
 * delete marker hides (manifests are listed by version, so deleting a key
 * without its versions hides nothing from a rebuild). Two copies of an
 * event that differ are refused: the bucket is then not one history.
 */
export async function readBucketIndex(s3: S3Store, prefix: string): Promise<BucketIndex> {
  const index: BucketIndex = { ledgerSegments: 0, events: [], segmentsThrough: 0, manifests: new Map(), notes: [] }
  const bySeq = new Map<number, LedgerEvent>()
  const inSegments = new Set<number>()
  const conflicts: string[] = []
  const add = (e: LedgerEvent, from: string): void => {
    const had = bySeq.get(e.seq)
    if (had && had.hash !== e.hash) conflicts.push(`event ${e.seq}: ${from} has hash ${e.hash.slice(0, 12)}…, another object ${had.hash.slice(0, 12)}…`)
    else if (!had) bySeq.set(e.seq, e)
  }
  for await (const o of s3.list(keys.ledgers(prefix))) {
    if (!o.key.endsWith('.jsonl')) continue
    index.ledgerSegments++
    for (const line of (await s3.getText(o.key)).split('\n')) {
      if (!line.trim()) continue
      const e = JSON.parse(line) as LedgerEvent
      add(e, o.key)
      inSegments.add(e.seq)
    }
  }

  // Per key: the first version listed is the newest; a delete marker on top says someone deleted it.
  const newest = new Map<string, string>()
  const hidden = new Set<string>()
  for await (const v of s3.listVersions(keys.manifests(prefix))) {
    if (!v.key.endsWith('.json')) continue
    if (v.deleteMarker) {
      if (v.isLatest) hidden.add(v.key)
    } else if (!newest.has(v.key)) newest.set(v.key, v.versionId)
  }
  for (const [key, versionId] of newest) {
    const { text, legalHold } = await s3.getTextVersion(key, versionId)
    const m = JSON.parse(text) as Manifest
    if (m.format !== MANIFEST_FORMAT) {
      index.notes.push(`${key}: unknown manifest format ${String(m.format)}: skipped`)
      continue
    }
    index.manifests.set(m.recording.id, { key, versionId, manifest: m, held: legalHold, hidden: hidden.has(key) })
    for (const e of m.events) add(e, key)
  }
  if (conflicts.length)
    throw new BodyvaultError(
      'REINDEX_CONFLICT',
      `the bucket holds two different versions of some events (${conflicts.slice(0, 3).join('; ')}): refusing to rebuild from it`,
    )
  index.events = [...bySeq.values()].sort((a, b) => a.seq - b.seq)
  if (index.events.length === 0)
    throw new BodyvaultError(
      'REINDEX_EMPTY',
      `no ledger segments or manifests under s3://${s3.bucket}/${prefix}: nothing to rebuild from (check offload.bucket and offload.prefix)`,
    )
  while (inSegments.has(index.segmentsThrough + 1)) index.segmentsThrough++
  return index
}
