import type { Db } from '../catalog/db.js'
import { verifiedCopies } from '../catalog/remote-copies.js'
import type { EventType } from '../ledger/events.js'
import type { LedgerEvent } from '../ledger/ledger.js'
import type { Problem } from '../common/problems.js'

interface RemoteState {
  key: string
  versionId: string
  /** A local copy is expected (false after `evicted` or a catalog rebuilt from S3). */
  local: boolean
  deleted: boolean
}

type P = Record<string, unknown>

/**
 * What the ledger says of remote copies: `offloaded` (uploaded, read back
 * and hashed), `evicted` (local cache copy dropped), `fetched-back` (the
 * local copy is back), `local-copy-confirmed` (a copy already in a rebuilt
 * data dir found good: local again), `remote-deleted` (purged), `catalog-rebuilt` (a
 * catalog rebuilt from the bucket: no local copies). `verify` accepts a missing local object only when this says a
 * verified remote copy exists and the local one was dropped on the record.
 */
export class OffloadFold {
  /** The event types apply() looks at, and the only ones: verify reads just these (by the type index), so the list cannot fall behind the switch. */
  static readonly types: ReadonlySet<EventType> = new Set<EventType>([
    'offloaded',
    'evicted',
    'fetched-back',
    'local-copy-confirmed',
    'remote-deleted',
    'catalog-rebuilt',
  ])
  readonly objects = new Map<string, RemoteState>()

  apply(ev: Pick<LedgerEvent, 'type' | 'payload'>): void {
    if (!OffloadFold.types.has(ev.type as EventType)) return
    const p = ev.payload as P
    switch (ev.type) {
      case 'offloaded':
        this.objects.set(String(p.sha256), { key: String(p.key), versionId: String(p.versionId), local: true, deleted: false })
        break
      case 'evicted': {
        const o = this.objects.get(String(p.sha256))
        if (o) o.local = false
        break
      }
      case 'fetched-back':
      case 'local-copy-confirmed': {
        const o = this.objects.get(String(p.sha256))
        if (o) o.local = true
        break
      }
      case 'remote-deleted': {
        const o = this.objects.get(String(p.sha256))
        if (o) o.deleted = true
        break
      }
      case 'catalog-rebuilt':
        for (const o of this.objects.values()) o.local = false
        break
    }
  }

  /** True when the local object may be absent: a verified remote copy holds it. */
  mayBeAbsent(sha256: string): boolean {
    const o = this.objects.get(sha256)
    return o !== undefined && !o.local && !o.deleted
  }
}

/** Verified rows of offload_objects against the `offloaded` / `remote-deleted` events. */
export function checkOffloadCatalog(db: Db, fold: OffloadFold): Problem[] {
  const out: Problem[] = []
  const rows = verifiedCopies(db)
  const seen = new Set<string>()
  for (const r of rows) {
    seen.add(r.sha256)
    const subject = `remote:${r.sha256}`
    const w = fold.objects.get(r.sha256)
    if (!w) {
      out.push({ kind: 'catalog-extra', subject, detail: 'the catalog says this object has a verified remote copy but no offloaded event records it' })
      continue
    }
    if (r.key !== w.key)
      out.push({ kind: 'catalog-mismatch', subject, detail: `key is ${JSON.stringify(r.key)} in the catalog but ${JSON.stringify(w.key)} in the ledger` })
    if (r.versionId !== w.versionId)
      out.push({
        kind: 'catalog-mismatch',
        subject,
        detail: `versionId is ${JSON.stringify(r.versionId)} in the catalog but ${JSON.stringify(w.versionId)} in the ledger`,
      })
    if ((r.deletedAt !== null) !== w.deleted)
      out.push({
        kind: 'catalog-mismatch',
        subject,
        detail: `the catalog says the remote copy is ${r.deletedAt !== null ? '' : 'not '}deleted, the ledger says the opposite`,
      })
  }
  for (const sha of fold.objects.keys())
    if (!seen.has(sha))
      out.push({ kind: 'catalog-missing', subject: `remote:${sha}`, detail: 'the ledger records a verified remote copy but the catalog has no row for it' })
  return out
}
