/**
 * The re-hash of stored objects that `bodyvault verify` runs, once for
 * the originals (src/verify/vault.ts) and once for the derivatives
 * (src/media/check.ts): every object a list names is hashed by the
 * caller's `hash` (verify's HashPool on all cores, or a look at its size
 * for --quick), at most `lanes` at once, so memory stays bounded however
 * many objects there are, and compared with its name and recorded size.
 * What the ledger says of each object (who uses it, how to name it) comes
 * from the caller; this module imports nothing above the vault.
 */
import { errnoCode, errorMessage } from '../common/errors.js'
import type { Problem } from '../common/problems.js'
import type { CopyResult } from './hash.js'
import { forEachLimit } from './hash-pool.js'
import type { Vault } from './store.js'

export interface RehashOptions<T> {
  /** SHA-256 and length of the file at `path` (rejects with ENOENT when it is absent). */
  hash: (path: string, sha256: string) => Promise<CopyResult>
  lanes: number
  /** The problems' subject for an object (subjects.object). */
  subject: (sha256: string) => string
  /** Who uses the object, for the problem's detail ("recording:4, recording:9"). */
  usedBy: (use: T) => string
  /** What an altered one is called in the detail: "the object was altered", "the derivative was altered". */
  altered: string
  /** Absent on the record (evicted after a verified upload, never local after a rebuild): counted in `absent`, not a problem. */
  mayBeAbsent?: (sha256: string) => boolean
  /** After each object, with the number done so far. */
  onObject?: (done: number) => void
}

export interface RehashReport {
  /** Objects looked at (hashed, absent or unreadable) and the bytes hashed. */
  objects: number
  bytes: number
  /** Altered, of another size, or unreadable. */
  problems: Problem[]
  /** Absent from the vault and not absent on the record: apart, so that a caller can ask the ledger again (purged since?). */
  missing: Problem[]
  /** Absent on the record (mayBeAbsent). */
  absent: number
}

export async function rehashObjects<T extends { size: number }>(vault: Vault, objects: Iterable<[string, T]>, o: RehashOptions<T>): Promise<RehashReport> {
  const r: RehashReport = { objects: 0, bytes: 0, problems: [], missing: [], absent: 0 }
  await forEachLimit(objects, o.lanes, async ([sha, use]) => {
    const subject = o.subject(sha)
    try {
      const h = await o.hash(vault.objectPath(sha), sha)
      r.bytes += h.size
      if (h.sha256 !== sha)
        r.problems.push({
          kind: 'object-corrupt',
          subject,
          detail: `content hashes to ${h.sha256} (${h.size} bytes): ${o.altered}; used by ${o.usedBy(use)}`,
        })
      else if (h.size !== use.size)
        r.problems.push({ kind: 'object-corrupt', subject, detail: `size ${h.size} differs from the recorded ${use.size}; used by ${o.usedBy(use)}` })
    } catch (err) {
      const absent = errnoCode(err) === 'ENOENT'
      if (absent && o.mayBeAbsent?.(sha)) r.absent++
      else
        (absent ? r.missing : r.problems).push({
          kind: 'object-missing',
          subject,
          detail: `${absent ? 'missing from the vault' : `unreadable: ${errorMessage(err)}`}; used by ${o.usedBy(use)}`,
        })
    }
    r.objects++
    o.onObject?.(r.objects)
  })
  return r
}
