import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Db } from '../catalog/db.js'
import { allRecordings, COLUMNS, type Recording } from '../catalog/recordings.js'
import { errnoCode, errorMessage } from '../common/errors.js'
import { hashFile } from '../vault/hash.js'
import { checkAnchors } from '../anchor/check.js'
import type { AnchoringReport } from '../anchor/sources.js'
import { subjects } from '../ledger/events.js'
import { walkChain, type ChainProblem } from '../ledger/ledger.js'
import { type Expected, foldRecordings } from '../ledger/recordings.js'
import { verifyMedia } from '../media/check.js'
import { checkOffloadCatalog, OffloadFold } from '../offload/check.js'
import { checkRetentionCatalog, RetentionFold } from '../retention/check.js'
import type { Problem } from '../common/problems.js'
import type { Vault } from '../vault/store.js'

export type { Problem, ProblemKind } from '../common/problems.js'

export interface VerifyReport {
  ok: boolean
  checked: { objects: number; events: number; recordings: number; bytes: number }
  problems: Problem[]
  /** Not problems: complete objects no recording points to (an ingest cut off before its commit), anchors not reached, restores. */
  notes: string[]
  /** How far the latest checkpoint got outside the catalog (null: no checkpoint or no station key yet). */
  anchoring: AnchoringReport | null
}

/**
 * Re-walks the ledger chain, checks every catalog row against the state the
 * ledger gives it, and re-hashes every object a stored recording needs.
 */
export async function verifyVault(
  db: Db,
  vault: Vault,
  opts: { chunkBytes?: number; onObject?: (done: number, total: number) => void; anchors?: Parameters<typeof checkAnchors>[2] } = {},
): Promise<VerifyReport> {
  const problems: Problem[] = []
  const chain: ChainProblem[] = []
  const expected = new Map<number, Expected>()
  const retention = new RetentionFold()
  const offload = new OffloadFold()
  let events = 0
  for (const ev of walkChain(db, chain)) {
    events++
    foldRecordings(ev, expected)
    retention.apply(ev)
    offload.apply(ev)
  }
  for (const c of chain) problems.push({ kind: 'ledger', subject: `event:${c.seq}`, detail: c.detail })

  let recordings = 0
  const seen = new Set<number>()
  for (const row of allRecordings(db)) {
    recordings++
    seen.add(row.id)
    const want = expected.get(row.id)
    if (!want) {
      problems.push({ kind: 'catalog-extra', subject: subjects.recording(row.id), detail: 'catalog row has no ingested event in the ledger' })
      continue
    }
    for (const field of Object.keys(COLUMNS) as (keyof Recording)[]) {
      const a = row[field]
      const b = want[field] ?? null
      if (a !== b) {
        problems.push({
          kind: 'catalog-mismatch',
          subject: subjects.recording(row.id),
          detail: `${field} is ${JSON.stringify(a)} in the catalog but ${JSON.stringify(b)} in ledger event ${want.eventSeq}`,
        })
      }
    }
  }
  for (const [id, want] of expected) {
    if (!seen.has(id))
      problems.push({ kind: 'catalog-missing', subject: subjects.recording(id), detail: `ledger event ${want.eventSeq} records it but the catalog has no row` })
  }
  problems.push(...checkRetentionCatalog(db, retention), ...checkOffloadCatalog(db, offload))
  const anchors = await checkAnchors(db, vault.dataDir, opts.anchors)
  problems.push(...anchors.problems.map((p) => ({ kind: 'checkpoint' as const, ...p })))

  // Objects: the ledger decides which must exist and what they must hash to.
  const needed = new Map<string, { size: number; ids: number[] }>()
  for (const r of expected.values()) {
    if (r.status !== 'stored') continue
    const n = needed.get(r.sha256)
    if (n) n.ids.push(r.id)
    else needed.set(r.sha256, { size: r.size, ids: [r.id] })
  }
  let objects = 0
  let bytes = 0
  let remoteOnly = 0
  for (const [sha, { size, ids }] of needed) {
    const who = ids.map((i) => subjects.recording(i)).join(', ')
    try {
      const h = await hashFile(vault.objectPath(sha), opts.chunkBytes ?? 4 << 20)
      bytes += h.size
      if (h.sha256 !== sha)
        problems.push({
          kind: 'object-corrupt',
          subject: subjects.object(sha),
          detail: `content hashes to ${h.sha256} (${h.size} bytes): the object was altered; used by ${who}`,
        })
      else if (h.size !== size)
        problems.push({ kind: 'object-corrupt', subject: subjects.object(sha), detail: `size ${h.size} differs from the recorded ${size}; used by ${who}` })
    } catch (err) {
      // Evicted from the local cache after a verified offload (or never local after a rebuild from S3): on the record, not a problem.
      if (errnoCode(err) === 'ENOENT' && offload.mayBeAbsent(sha)) remoteOnly++
      else
        problems.push({
          kind: 'object-missing',
          subject: subjects.object(sha),
          detail: `${errnoCode(err) === 'ENOENT' ? 'missing from the vault' : 'unreadable: ' + errorMessage(err)}; used by ${who}`,
        })
    }
    objects++
    opts.onObject?.(objects, needed.size)
  }

  // Derivatives (proxies, thumbnails), probe results and sidecar links against their events; derivative objects re-hashed.
  const media = await verifyMedia(db, vault, { chunkBytes: opts.chunkBytes ?? 4 << 20, mayBeAbsent: (sha) => offload.mayBeAbsent(sha) })
  problems.push(...media.problems)
  objects += media.objects
  bytes += media.bytes

  const notes: string[] = [...media.notes, ...anchors.notes]
  if (remoteOnly) notes.push(`${remoteOnly} object(s) are held only in S3 (evicted from the local cache after a verified upload): not re-hashed here`)
  for (const sha of await listObjects(vault)) {
    if (!needed.has(sha) && !media.objectShas.has(sha))
      notes.push(`object ${sha} is in the vault but no recording refers to it (an ingest stopped before its commit; the next docking of that file will use it)`)
  }
  return { ok: problems.length === 0, checked: { objects, events, recordings, bytes }, problems, notes, anchoring: anchors.anchoring }
}

async function listObjects(vault: Vault): Promise<string[]> {
  const out: string[] = []
  let dirs: string[]
  try {
    dirs = await readdir(vault.objectsDir)
  } catch {
    return out
  }
  for (const d of dirs) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue
    for (const f of await readdir(join(vault.objectsDir, d))) if (/^[0-9a-f]{64}$/.test(f) && f.startsWith(d)) out.push(f)
  }
  return out
}
