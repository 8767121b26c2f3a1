/**
 * What the fixity part writes: a `fixity-failed` event with the object's
 * row marked bad, an `object-repaired` event with its new block list, each
 * in one transaction, and the log line beside it.
 */
import type { Db } from '../catalog/db.js'
import { markObjectFailed, getObjectFixity, recordObjectBlocks } from '../catalog/fixity.js'
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

/** One line for the catalog row and the logs. */
export function describeFailure(f: Failure): string {
  switch (f.problem) {
    case 'missing':
      return 'the local copy is missing'
    case 'size':
      return `the local copy has ${f.foundSize} bytes, recorded ${f.size}`
    case 'block':
      return `block ${f.block} (bytes from ${(f.block ?? 0) * (f.blockBytes ?? 0)}) does not match its recorded SHA-256`
    case 'hash':
      return `the local copy hashes to ${f.foundSha256 ?? '?'}, recorded ${f.sha256}`
  }
}

/**
 * A bad local copy: its `fixity-failed` event and the row marked bad, in
 * one transaction. Nothing new when it is already known bad (many readers
 * of one bad object make one event). Returns whether it was news.
 */
export function recordFailure(d: RecordDeps, f: Failure): boolean {
  const at = d.now().toISOString()
  const news = d.db
    .transaction((): boolean => {
      if (getObjectFixity(d.db, f.sha256)?.failedAt) return false
      appendEvent(d.db, {
        type: 'fixity-failed',
        actor: d.actor,
        subject: subjects.object(f.sha256),
        payload: { ...f, recordingIds: recordingsWithObject(d.db, f.sha256) },
      })
      markObjectFailed(d.db, { sha256: f.sha256, size: f.size, at, failure: describeFailure(f) })
      return true
    })
    .immediate()
  if (news) d.logger.error({ event: 'fixity.failed', ...f }, `vault object failed its fixity check: ${describeFailure(f)}`)
  return news
}

/** A good copy is in place again: its `object-repaired` event and its block list, in one transaction. */
export function recordRepair(
  d: RecordDeps,
  r: { from: EventPayload<'object-repaired'>['from']; source: string; quarantined: string | null; digest: ObjectDigest },
): void {
  const { sha256, size, blockBytes, blocks } = r.digest
  d.db
    .transaction(() => {
      appendEvent(d.db, {
        type: 'object-repaired',
        actor: d.actor,
        subject: subjects.object(sha256),
        payload: { sha256, size, from: r.from, source: r.source, quarantined: r.quarantined, recordingIds: recordingsWithObject(d.db, sha256) },
      })
      recordObjectBlocks(d.db, { sha256, size, blockBytes, blocks, at: d.now().toISOString() })
    })
    .immediate()
  d.logger.warn({ event: 'fixity.repaired', sha256, size, from: r.from, source: r.source, quarantined: r.quarantined }, 'vault object repaired')
}

/** A package being sent failed its own block check (the temporary file, not a vault object): an event on its export request. */
export function recordPackageFailure(d: RecordDeps, exportId: number, recordingIds: number[], f: Failure): void {
  appendEvent(d.db, { type: 'fixity-failed', actor: d.actor, subject: subjects.export(exportId), payload: { ...f, recordingIds } })
  d.logger.error({ event: 'fixity.package_failed', exportId, ...f }, `evidence package failed its check while being sent: ${describeFailure(f)}`)
}
