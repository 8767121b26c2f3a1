import { objectInUse, objectsInUse } from '../catalog/objects.js'
import {
  ledgerUploadedThrough,
  markCopyDeleted,
  recordManifestUpload,
  setCopyLegalHold,
  setCopyRetainUntil,
  setLedgerUploadedThrough,
  undeletedCopy,
  verifiedCopy,
} from '../catalog/remote-copies.js'
import { errorMessage } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent, eventsAfter } from '../ledger/ledger.js'
import { Deferred, offloadActor, type OffloadDeps } from './context.js'
import { buildManifest, keys } from './manifest.js'
import { desiredLock, manifestLock } from './reconcile.js'
import { isOutage } from './s3.js'

/**
 * The offload jobs besides the object upload (./upload.ts), each keeping
 * the bucket in step with the catalog:
 *   lock      extend COMPLIANCE retain-until when a deadline grew; legal
 *             hold ON while the deadline is indefinite, OFF when it is not
 *   delete    a purged recording's remote copy, once its lock has expired
 *   manifest  the recording's manifest (catalog row + its ledger events),
 *             under legal hold until its purge and remote deletion are done
 *   ledger    the chain itself, in append-only segments under legal hold
 */

const SEGMENT_EVENTS = 5000

export async function applyLock(d: OffloadDeps, sha: string, now: Date): Promise<void> {
  const { db, s3 } = d
  const owner = objectsInUse(db).get(sha)
  const row = verifiedCopy(db, sha)
  if (!owner || !row) return
  const want = desiredLock(db, d.policy, owner.recordingIds, now)
  const log = d.logger.child({ job: 'offload', sha256: sha })
  // Retention first, then the hold comes off: never a moment with neither.
  if (want.retainUntil && (row.retainUntil === null || want.retainUntil.toISOString() > row.retainUntil)) {
    await s3.setRetention(row.key, row.versionId, want.retainUntil)
    setCopyRetainUntil(db, sha, want.retainUntil.toISOString())
    log.info({ event: 'offload.retention-extended', from: row.retainUntil, to: want.retainUntil.toISOString() }, 'remote retention extended')
  }
  if (want.legalHold !== (row.legalHold === 1)) {
    await s3.setLegalHold(row.key, row.versionId, want.legalHold)
    setCopyLegalHold(db, sha, want.legalHold)
    log.info(
      { event: 'offload.legal-hold', on: want.legalHold },
      want.legalHold ? 'remote legal hold placed (deadline indefinite)' : 'remote legal hold lifted (deadline is a date again)',
    )
  }
}

export async function deleteRemote(d: OffloadDeps, sha: string): Promise<void> {
  const { db, s3 } = d
  if (objectInUse(db, sha)) return // re-ingested, or a mistake: never delete what a stored recording needs
  const row = undeletedCopy(db, sha)
  if (!row) return
  const versions = await s3.versions(row.key)
  for (const v of versions) {
    const lock = await s3.getLock(row.key, v)
    if (lock.legalHold) await s3.setLegalHold(row.key, v, false)
    if (lock.retainUntil && lock.retainUntil.getTime() > Date.now()) {
      throw new Deferred(
        new Date(lock.retainUntil.getTime() + 60_000),
        `remote copy ${row.key} is locked (COMPLIANCE) until ${lock.retainUntil.toISOString()}: deleting then`,
      )
    }
    await s3.deleteVersion(row.key, v)
  }
  db.transaction(() => {
    appendEvent(db, {
      type: 'remote-deleted',
      actor: offloadActor(d),
      subject: subjects.object(sha),
      payload: { sha256: sha, bucket: s3.bucket, key: row.key, versionIds: versions },
    })
    markCopyDeleted(db, sha, new Date().toISOString())
  }).immediate()
}

/**
 * A recording's manifest, under a legal hold until the recording is purged
 * and its remote deletion done (./reconcile.ts manifestLock). The versions
 * it supersedes are then removed (their hold lifted first): the key keeps
 * one version, the newest. Only versions listed after ours go, so two
 * passes writing the same manifest at once never remove each other's.
 * Delete markers someone put on the key stay (reindex reports them).
 */
export async function uploadManifest(d: OffloadDeps, recordingId: number, now: Date): Promise<void> {
  const { manifest, maxSeq } = buildManifest(d.db, recordingId, d.stationId, d.settings.prefix)
  const key = keys.manifest(d.settings.prefix, recordingId)
  const versionId = await d.s3.putText(key, JSON.stringify(manifest, null, 1), 'application/json', manifestLock(d.db, recordingId))
  if (!versionId) throw new Error(`the server returned no version id for ${key}: is versioning (Object Lock) on?`)
  let older = false
  for await (const v of d.s3.listVersions(key)) {
    if (v.key !== key || v.deleteMarker) continue
    if (v.versionId === versionId) older = true
    else if (older) {
      try {
        await d.s3.setLegalHold(key, v.versionId, false)
        await d.s3.deleteVersion(key, v.versionId)
      } catch (err) {
        if (isOutage(err)) throw err
        // A bucket default retention, say: the old version stays, harmless (reindex reads the newest).
        d.logger.warn(
          { event: 'offload.manifest-version-kept', key, versionId: v.versionId, err: errorMessage(err) },
          'superseded manifest version not removed',
        )
      }
    }
  }
  recordManifestUpload(d.db, recordingId, maxSeq, now.toISOString())
}

/** The chain, in append-only JSON-lines segments, each under legal hold (the ledger is kept for ever). */
export async function uploadLedger(d: OffloadDeps): Promise<void> {
  const { db } = d
  for (;;) {
    const through = ledgerUploadedThrough(db)
    const events = eventsAfter(db, through, SEGMENT_EVENTS)
    if (events.length === 0) return
    const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n'
    const last = events[events.length - 1]!.seq
    await d.s3.putText(keys.ledger(d.settings.prefix, through + 1, last), text, 'application/x-ndjson', { retainUntil: null, legalHold: true })
    setLedgerUploadedThrough(db, last)
  }
}
