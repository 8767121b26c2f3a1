import { objectInUse, objectsInUse, objectsOfRecording, recordingsWithObject } from '../catalog/objects.js'
import { queueOffloadJob, type OffloadOp } from '../catalog/offload-queue.js'
import { getRecording, recordingExists } from '../catalog/recordings.js'
import {
  ledgerUploadedThrough,
  manifestsScannedThrough,
  manifestUploadedThrough,
  recordingsWithoutManifest,
  remoteCopyStates,
  setManifestsScannedThrough,
  undeletedCopy,
} from '../catalog/remote-copies.js'
import { getRetention } from '../catalog/retention.js'
import type { Db } from '../catalog/db.js'
import { splitSubject, subjects } from '../ledger/events.js'
import { latestSeqAbout, ledgerHead, subjectsSince } from '../ledger/ledger.js'
import { purgeAfter, type RetentionPolicy } from '../retention/policy.js'
import { zeroCounts, type OffloadDeps } from './context.js'
import type { Lock } from './s3.js'

/**
 * What the bucket must hold, compared with what the catalog says it holds:
 * the jobs that close the gap go into the persisted queue. Idempotent.
 */

/** What the lock on an object must be: legal hold while any owner is kept indefinitely, else COMPLIANCE until the last owner's purge date. */
export function desiredLock(db: Db, policy: RetentionPolicy, ownerIds: number[], now: Date): Lock {
  let until: Date | null = null
  for (const id of ownerIds) {
    const deadline = getRetention(db, id)?.deadline
    if (deadline === undefined || deadline === null) return { retainUntil: null, legalHold: true }
    const p = purgeAfter(new Date(deadline), policy) as Date
    if (until === null || p > until) until = p
  }
  // A date already past cannot be a retain-until; the purge is due then anyway.
  if (until !== null && until.getTime() <= now.getTime() + 60_000) until = null
  if (until !== null) until = new Date(Math.ceil(until.getTime() / 1000) * 1000)
  return { retainUntil: until, legalHold: false }
}

/**
 * True when the lock a remote copy has already protects it as long as `want`
 * asks: a legal hold covers anything; a retain-until covers a date no later
 * than itself, never an indefinite deadline. Nothing to protect (a deadline
 * already past: its purge is due) is covered by any lock. A local copy is
 * evicted only when this holds (./evict.ts).
 */
export function lockCovers(want: Lock, have: { retainUntil: string | null; legalHold: boolean }): boolean {
  if (have.legalHold) return true
  if (want.legalHold) return false
  if (want.retainUntil === null) return true
  return have.retainUntil !== null && Date.parse(have.retainUntil) >= want.retainUntil.getTime()
}

/**
 * The lock of a recording's manifest: a legal hold, like the ledger
 * segments, so that the bucket's index of the recording cannot be deleted
 * quietly. Lifted only once the recording is purged and nothing of it is
 * left to delete remotely: each of its objects has no remote copy left, or
 * is still needed by a stored recording (whose own manifest is held).
 */
export function manifestLock(db: Db, recordingId: number): Lock {
  const released =
    getRecording(db, recordingId)?.status === 'purged' &&
    objectsOfRecording(db, recordingId).every((o) => undeletedCopy(db, o.sha256) === undefined || objectInUse(db, o.sha256))
  return { retainUntil: null, legalHold: !released }
}

/** The subjects whose events a recording's manifest carries: the recording and each of its objects. */
export function manifestSubjects(db: Db, recordingId: number): string[] {
  return [subjects.recording(recordingId), ...new Set(objectsOfRecording(db, recordingId).map((o) => subjects.object(o.sha256)))]
}

/** Queues what is missing from the bucket: objects, lock changes, remote deletions, manifests, ledger segments. */
export function enqueueMissing(d: OffloadDeps, now: Date): Record<OffloadOp, number> {
  const { db } = d
  const n = zeroCounts()
  const put = (op: OffloadOp, subject: string): number => queueOffloadJob(db, op, subject, now)
  return db
    .transaction(() => {
      const inUse = objectsInUse(db)
      const remote = new Map(remoteCopyStates(db).map((r) => [r.sha256, r]))
      for (const [sha, o] of inUse) {
        const r = remote.get(sha)
        if (!r || r.verifiedAt === null || r.deletedAt !== null) {
          n.object += put('object', sha)
          continue
        }
        const want = desiredLock(db, d.policy, o.recordingIds, now)
        const extend = want.retainUntil !== null && (r.retainUntil === null || want.retainUntil.toISOString() > r.retainUntil)
        if (extend || want.legalHold !== (r.legalHold === 1)) n.lock += put('lock', sha)
      }
      for (const r of remote.values()) if (r.deletedAt === null && !inUse.has(r.sha256)) n.delete += put('delete', r.sha256)

      // Manifests: recordings touched by events since the last scan, and any never uploaded.
      const ids = new Set<number>()
      for (const subject of subjectsSince(db, manifestsScannedThrough(db))) {
        const { kind, id } = splitSubject(subject)
        if (kind === 'recording') ids.add(Number(id))
        else if (kind === 'object') for (const r of recordingsWithObject(db, id)) ids.add(r)
      }
      for (const id of recordingsWithoutManifest(db)) ids.add(id)
      for (const id of ids) {
        if (!recordingExists(db, id)) continue
        const uploaded = manifestUploadedThrough(db, id)
        // Already uploaded with everything it holds (events of this pass's own uploads included)?
        if (uploaded !== undefined && uploaded >= latestSeqAbout(db, manifestSubjects(db, id))) continue
        n.manifest += put('manifest', String(id))
      }
      const head = ledgerHead(db).seq
      setManifestsScannedThrough(db, head)
      if (head > ledgerUploadedThrough(db)) n.ledger += put('ledger', 'chain')
      return n
    })
    .immediate()
}
