import { hostname } from 'node:os'
import type { Db } from '../catalog/db.js'
import { deleteLease, getLease, putLease } from '../catalog/leases.js'

/**
 * A named lease in the catalog so that two runs of the same job never
 * overlap, even across processes (the daemon's nightly purge and a
 * `bodyvault retention purge` typed at the same moment). A lease whose
 * holder process is gone, or that has expired, can be taken over.
 */
export function acquireLease(db: Db, name: string, now: Date, ttlMs: number): { holder: string } | { heldBy: string; since: string } {
  const holder = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`
  return db
    .transaction(() => {
      const cur = getLease(db, name)
      if (cur && cur.expiresAt > now.toISOString() && holderAlive(cur.holder)) return { heldBy: cur.holder, since: cur.acquiredAt }
      putLease(db, name, { holder, acquiredAt: now.toISOString(), expiresAt: new Date(now.getTime() + ttlMs).toISOString() })
      return { holder }
    })
    .immediate()
}

export function releaseLease(db: Db, name: string, holder: string): void {
  deleteLease(db, name, holder)
}

function holderAlive(holder: string): boolean {
  const [host, pid] = holder.split(':')
  if (host !== hostname()) return true
  const n = Number(pid)
  if (!Number.isInteger(n) || n <= 0) return false
  try {
    process.kill(n, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
