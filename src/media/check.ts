/**
 * The media part of `bodyvault verify`: derivatives (proxies, thumbnails),
 * probe results and sidecar links are checked against the ledger events
 * that created them (`derived`, `probed`), and every derivative object is
 * re-hashed. src/verify/vault.ts (verifyVault) runs checkMediaCatalog in its
 * one read transaction, after the chain walk (which already proves these
 * events were not edited), and hashMediaObjects after it.
 */
import type { Db } from '../catalog/db.js'
import { hashFile, type CopyResult } from '../vault/hash.js'
import { type RehashReport, rehashObjects } from '../vault/rehash.js'
import type { Problem } from '../common/problems.js'
import type { Vault } from '../vault/store.js'
import { allDerivatives } from '../catalog/derivatives.js'
import { recordingsNotStored } from '../catalog/recordings.js'
import { subjects } from '../ledger/events.js'
import { storedEventsOfType } from '../ledger/ledger.js'
import { allLinks, allMediaInfo, MEDIA_FIELDS, type MediaFacts } from '../catalog/media-info.js'
import { sha256Text } from './facts.js'

export interface MediaVerifyReport {
  problems: Problem[]
  notes: string[]
  /** Derivative objects re-hashed, and their bytes. */
  objects: number
  bytes: number
  derivatives: number
  mediaInfo: number
  /** Every object a derivative event names (not "unreferenced" for verify's notes). */
  objectShas: Set<string>
}

export interface DerivedPayload {
  derivativeId: number
  recordingId: number
  kind: string
  sha256: string
  size: number
  mimeType: string
  inputSha256: string
  ffmpegVersion: string | null
  args: unknown
}

export type ProbedPayload = { recordingId: number; links?: { sidecarId: number; recordingId: number }[]; gpsTrackSha256?: string | null } & MediaFacts

function same(a: unknown, b: unknown): boolean {
  return a === b || (a === null && b === undefined) || (a === undefined && b === null)
}

/**
 * What the ledger says the media tables hold: each derivatives row (by its
 * `derived` event), each media_info row (the latest `probed` event of its
 * recording), each sidecar link, and the jobs that failed for good
 * (`media-failed`). verify compares the tables with it; a catalog rebuilt
 * from the bucket writes the tables from it (src/offload/rebuild.ts).
 */
export class MediaFold {
  readonly derived = new Map<number, { seq: number; at: string; p: DerivedPayload }>()
  readonly probed = new Map<number, { seq: number; at: string; p: ProbedPayload }>()
  readonly links = new Map<number, { recordingId: number; seq: number }>()
  /** `recordingId:job` -> the failure, for the jobs that failed for good (and the jobs that depended on them). */
  readonly failed = new Map<string, { code: string; error: string; attempts: number; at: string }>()

  apply(ev: { seq: number; type: string; at: string; payload: unknown }): void {
    if (ev.type === 'derived') {
      const p = ev.payload as DerivedPayload
      this.derived.set(p.derivativeId, { seq: ev.seq, at: ev.at, p })
    } else if (ev.type === 'probed') {
      const p = ev.payload as ProbedPayload
      this.probed.set(p.recordingId, { seq: ev.seq, at: ev.at, p })
      for (const l of p.links ?? []) this.links.set(l.sidecarId, { recordingId: l.recordingId, seq: ev.seq })
    } else if (ev.type === 'media-failed') {
      const p = ev.payload as { recordingId: number; job: string; code: string; error: string; attempts: number; dependentsFailed?: string[] }
      for (const job of [p.job, ...(p.dependentsFailed ?? [])])
        this.failed.set(`${p.recordingId}:${job}`, { code: p.code, error: p.error, attempts: p.attempts, at: ev.at })
    }
  }
}

/** What the catalog and the ledger say about media, read in one go (no await: one snapshot when the caller holds a read transaction). */
export interface MediaCatalogCheck {
  problems: Problem[]
  notes: string[]
  /** Derivative objects the ledger says must exist, what they must weigh, and who uses them. */
  needed: Map<string, { size: number; who: string[] }>
  derivatives: number
  mediaInfo: number
  objectShas: Set<string>
}

/** verifyMedia in one go: the catalog check, then the derivative objects re-hashed. */
export async function verifyMedia(
  db: Db,
  vault: Vault,
  opts: { chunkBytes?: number; mayBeAbsent?: (sha256: string) => boolean } = {},
): Promise<MediaVerifyReport> {
  const c = checkMediaCatalog(db)
  const h = await hashMediaObjects(vault, c.needed, opts)
  return {
    problems: [...c.problems, ...h.problems, ...h.missing],
    notes: c.notes,
    objects: h.objects,
    bytes: h.bytes,
    derivatives: c.derivatives,
    mediaInfo: c.mediaInfo,
    objectShas: c.objectShas,
  }
}

/**
 * Derivatives rows, probe results and sidecar links against their events;
 * which derivative objects must exist. Synchronous: src/verify/vault.ts
 * runs it inside its one read transaction.
 */
export function checkMediaCatalog(db: Db): MediaCatalogCheck {
  const problems: Problem[] = []
  const notes: string[] = []
  const fold = new MediaFold()
  for (const ev of storedEventsOfType(db, ['derived', 'probed'])) {
    let payload: unknown
    try {
      payload = JSON.parse(ev.payload)
    } catch {
      continue // the chain walk reports it
    }
    fold.apply({ ...ev, payload })
  }
  const { derived, probed, links } = fold

  // derivatives rows against their `derived` events
  let derivatives = 0
  const seen = new Set<number>()
  for (const row of allDerivatives(db)) {
    derivatives++
    seen.add(row.id)
    const subject = `derivative:${row.id}`
    const want = derived.get(row.id)
    if (!want) {
      problems.push({
        kind: 'catalog-extra',
        subject,
        detail: `derivatives row (${row.kind} of recording:${row.recordingId}) has no derived event in the ledger`,
      })
      continue
    }
    const w = want.p
    const pairs: [string, unknown, unknown][] = [
      ['recordingId', row.recordingId, w.recordingId],
      ['kind', row.kind, w.kind],
      ['sha256', row.sha256, w.sha256],
      ['size', row.size, w.size],
      ['mimeType', row.mimeType, w.mimeType],
      ['inputSha256', row.inputSha256, w.inputSha256],
      ['ffmpegVersion', row.ffmpegVersion, w.ffmpegVersion],
      ['args', row.argsText, JSON.stringify(w.args)],
      ['createdAt', row.createdAt, want.at],
      ['eventSeq', row.eventSeq, want.seq],
    ]
    for (const [field, a, b] of pairs) {
      if (!same(a, b))
        problems.push({
          kind: 'catalog-mismatch',
          subject,
          detail: `${field} is ${JSON.stringify(a)} in the catalog but ${JSON.stringify(b)} in ledger event ${want.seq}`,
        })
    }
  }
  for (const [id, want] of derived) {
    if (!seen.has(id))
      problems.push({
        kind: 'catalog-missing',
        subject: `derivative:${id}`,
        detail: `ledger event ${want.seq} records a ${want.p.kind} of recording:${want.p.recordingId} but the catalog has no row`,
      })
  }

  // derivative objects: the ledger decides what must exist and what it hashes to
  // Only the recordings not stored are asked for, and only when there are derivatives to look them up for.
  const status = derived.size ? recordingsNotStored(db) : new Map<number, string>()
  const objectShas = new Set<string>()
  const needed = new Map<string, { size: number; who: string[] }>()
  for (const [id, { p }] of derived) {
    objectShas.add(p.sha256)
    const who = `derivative:${id} (${p.kind} of recording:${p.recordingId})`
    if (status.get(p.recordingId) !== undefined && status.get(p.recordingId) !== 'stored') {
      notes.push(`${who}: the recording is ${status.get(p.recordingId)}; its derivative object is not required`)
      continue
    }
    const n = needed.get(p.sha256)
    if (n) n.who.push(who)
    else needed.set(p.sha256, { size: p.size, who: [who] })
  }
  // media_info rows against their `probed` events
  let mediaInfo = 0
  const seenInfo = new Set<number>()
  for (const row of allMediaInfo(db)) {
    mediaInfo++
    seenInfo.add(row.recordingId)
    const subject = `media-info:${row.recordingId}`
    const want = probed.get(row.recordingId)
    if (!want) {
      problems.push({ kind: 'catalog-extra', subject, detail: 'media_info row has no probed event in the ledger' })
      continue
    }
    const mismatch = (field: string, a: unknown, b: unknown): void => {
      if (!same(a, b))
        problems.push({
          kind: 'catalog-mismatch',
          subject,
          detail: `${field} is ${JSON.stringify(a)} in the catalog but ${JSON.stringify(b)} in ledger event ${want.seq}`,
        })
    }
    for (const f of MEDIA_FIELDS) mismatch(f, row[f], want.p[f])
    mismatch('tags (SHA-256 of the stored JSON)', sha256Text(row.tags), want.p.tagsSha256)
    mismatch('gpsTrack (SHA-256 of the stored JSON)', row.gpsTrack === null ? null : sha256Text(row.gpsTrack), want.p.gpsTrackSha256 ?? null)
    mismatch('probedAt', row.probedAt, want.at)
    mismatch('eventSeq', row.eventSeq, want.seq)
  }
  for (const [id, want] of probed) {
    if (!seenInfo.has(id))
      problems.push({
        kind: 'catalog-missing',
        subject: `media-info:${id}`,
        detail: `ledger event ${want.seq} records its probe but the catalog has no media_info row`,
      })
  }

  // sidecar links
  const seenLinks = new Set<number>()
  for (const l of allLinks(db)) {
    seenLinks.add(l.sidecarId)
    const want = links.get(l.sidecarId)
    const subject = `media-link:${l.sidecarId}`
    if (!want)
      problems.push({
        kind: 'catalog-extra',
        subject,
        detail: `sidecar recording:${l.sidecarId} is linked to recording:${l.recordingId} but no probed event records that link`,
      })
    else if (want.recordingId !== l.recordingId || want.seq !== l.eventSeq) {
      problems.push({
        kind: 'catalog-mismatch',
        subject,
        detail: `link to recording:${l.recordingId} (event ${l.eventSeq}) in the catalog but to recording:${want.recordingId} in ledger event ${want.seq}`,
      })
    }
  }
  for (const [sid, want] of links) {
    if (!seenLinks.has(sid))
      problems.push({
        kind: 'catalog-missing',
        subject: `media-link:${sid}`,
        detail: `ledger event ${want.seq} links sidecar recording:${sid} to recording:${want.recordingId} but the catalog has no such link`,
      })
  }

  return { problems, notes, needed, derivatives, mediaInfo, objectShas }
}

/**
 * Re-hashes the derivative objects `needed` names (the loop is
 * src/vault/rehash.ts, which verify runs for the originals too). Objects
 * absent from the vault (ENOENT) are in `missing`, apart from the other
 * `problems`, so that a caller can look again at what the ledger says now
 * (src/verify/vault.ts).
 */
export async function hashMediaObjects(
  vault: Vault,
  needed: Map<string, { size: number; who: string[] }>,
  opts: {
    chunkBytes?: number
    mayBeAbsent?: (sha256: string) => boolean
    /** How to hash one object (default hashFile in this thread; verify passes its pool of threads), and how many at once. */
    hash?: (path: string, sha256: string) => Promise<CopyResult>
    lanes?: number
  } = {},
): Promise<RehashReport> {
  return rehashObjects(vault, needed, {
    hash: opts.hash ?? ((path: string) => hashFile(path, opts.chunkBytes ?? 4 << 20)),
    lanes: opts.lanes ?? 1,
    subject: subjects.object,
    usedBy: ({ who }) => who.join(', '),
    altered: 'the derivative was altered',
    ...(opts.mayBeAbsent ? { mayBeAbsent: opts.mayBeAbsent } : {}),
  })
}
