import { rm, stat } from 'node:fs/promises'
import { objectsInUse } from '../catalog/objects.js'
import { offloadJobQueued } from '../catalog/offload-queue.js'
import { cachedCopies, markEvicted } from '../catalog/remote-copies.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { offloadActor, type OffloadDeps, type OffloadReport } from './context.js'
import { desiredLock, lockCovers } from './reconcile.js'

/**
 * The local cache policy: evicts objects whose remote copy is verified,
 * oldest first, when older than keepDays or while the cache is over
 * maxBytes; never ahead of the lock: only when the remote version's lock
 * already covers the recordings' current deadline (./reconcile.ts
 * lockCovers) and no lock change is queued for it (one may be waiting out
 * an outage). Each eviction is an `evicted` event, committed before the
 * unlink (a crash in between leaves a harmless cached copy).
 */
export async function evict(d: OffloadDeps, now: Date): Promise<OffloadReport['evicted']> {
  const { db, vault } = d
  const { keepDays, maxBytes } = d.settings.cache
  const out: OffloadReport['evicted'] = []
  if (keepDays === null && maxBytes === null) return out
  const inUse = objectsInUse(db)
  const rows = cachedCopies(db)
  const evicted = new Set(rows.filter((r) => r.evictedAt !== null).map((r) => r.sha256))
  let localBytes = 0
  for (const [sha, o] of inUse) if (!evicted.has(sha)) localBytes += o.size
  const candidates = rows.filter((r) => r.evictedAt === null && inUse.has(r.sha256)).sort((a, b) => (a.cachedSince ?? '').localeCompare(b.cachedSince ?? ''))
  const cutoff = keepDays === null ? null : new Date(now.getTime() - keepDays * 86_400_000).toISOString()
  let waiting = 0
  for (const c of candidates) {
    const old = cutoff !== null && (c.cachedSince ?? '') <= cutoff
    const over = maxBytes !== null && localBytes > maxBytes
    if (!old && !over) continue
    const want = desiredLock(db, d.policy, inUse.get(c.sha256)!.recordingIds, now)
    if (!lockCovers(want, { retainUntil: c.retainUntil, legalHold: c.legalHold === 1 }) || offloadJobQueued(db, 'lock', c.sha256)) {
      waiting++
      continue
    }
    const path = vault.objectPath(c.sha256)
    try {
      await stat(path)
    } catch {
      continue // not here: verify decides whether that is a problem
    }
    const reason = old ? `cached longer than ${keepDays} day(s)` : `local cache over ${maxBytes} bytes`
    db.transaction(() => {
      appendEvent(db, {
        type: 'evicted',
        actor: offloadActor(d),
        subject: subjects.object(c.sha256),
        at: now,
        payload: { sha256: c.sha256, size: c.size, versionId: c.versionId, reason },
      })
      markEvicted(db, c.sha256, now.toISOString())
    }).immediate()
    await rm(path, { force: true })
    localBytes -= c.size
    out.push({ sha256: c.sha256, size: c.size, reason })
  }
  if (waiting) d.logger.info({ event: 'offload.evict-waits', objects: waiting }, 'local copies kept until their remote lock covers the current deadline')
  return out
}
