/**
 * What the fixity part writes: a `fixity-failed` event with the object's
 * row marked bad, an `object-repaired` event with its new block list, each
 * in one transaction, and the log line beside it.
 */
import type { Db } from '../catalog/db.js'
import { describeProblem, getObjectFixity, markObjectFailed, recordObjectBlocks } from '../catalog/fixity.js'
import { recordingsWithObject } from '../catalog/objects.js'
import type { Logger } from '../common/log.js'
import { type EventPayload, subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import type { ObjectDigest } from '../vault/blocks.js'

export interface RecordDeps {
  db: Db
  logger: Logger
  actor: string
  now: () => Date
}

export type Failure = Omit<EventPayload<'fixity-failed'>, 'recordingIds'>

/**
 * A bad local copy: its `fixity-failed` event and the row marked bad, in
 * one transaction. Nothing new when it is already known bad (many readers
 * of one bad object make one event). Returns whether it was news.
 */
export function recordFailure(d: RecordDeps, f: Failure): boolean {
  // One instant for the event and the row: a catalog rebuilt from the ledger says the same.
  const now = d.now()
  const at = now.toISOString()
  const news = d.db
    .transaction((): boolean => {
      if (getObjectFixity(d.db, f.sha256)?.failedAt) return false
      appendEvent(d.db, {
        type: 'fixity-failed',
        actor: d.actor,
        subject: subjects.object(f.sha256),
        at: now,
        payload: { ...f, recordingIds: recordingsWithObject(d.db, f.sha256) },
      })
      markObjectFailed(d.db, { sha256: f.sha256, size: f.size, at, failure: describeProblem(f) })
      return true
    })
    .immediate()
  if (news) d.logger.error({ event: 'fixity.failed', ...f }, `vault object failed its fixity check: ${describeProblem(f)}`)
  return news
}

/** A good copy is in place again: its `object-repaired` event and its block list, in one transaction. */
export function recordRepair(
  d: RecordDeps,
  r: { from: EventPayload<'object-repaired'>['from']; source: string; quarantined: string | null; digest: ObjectDigest },
): void {
  const { sha256, size, blockBytes, blocks } = r.digest
  const now = d.now()
  d.db
    .transaction(() => {
      appendEvent(d.db, {
        type: 'object-repaired',
        actor: d.actor,
        subject: subjects.object(sha256),
        at: now,
        payload: { sha256, size, from: r.from, source: r.source, quarantined: r.quarantined, recordingIds: recordingsWithObject(d.db, sha256) },
      })
      recordObjectBlocks(d.db, { sha256, size, blockBytes, blocks, at: now.toISOString() })
    })
    .immediate()
  d.logger.warn({ event: 'fixity.repaired', sha256, size, from: r.from, source: r.source, quarantined: r.quarantined }, 'vault object repaired')
}

/** A package being sent failed its own block check (the temporary file, not a vault object): an event on its export request. */
export function recordPackageFailure(d: RecordDeps, exportId: number, recordingIds: number[], f: Failure): void {
  appendEvent(d.db, { type: 'fixity-failed', actor: d.actor, subject: subjects.export(exportId), payload: { ...f, recordingIds } })
  d.logger.error({ event: 'fixity.package_failed', exportId, ...f }, `evidence package failed its check while being sent: ${describeProblem(f)}`)
}
