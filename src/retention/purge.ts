import { rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Db } from '../catalog/db.js'
import { objectInUse, objectsOfRecording, type OwnedObject } from '../catalog/objects.js'
import { queueOffloadJob } from '../catalog/offload-queue.js'
import { undeletedCopy } from '../catalog/remote-copies.js'
import { getRecording, purgedRecordingIds, setRecordingStatus } from '../catalog/recordings.js'
import { getRetention, recordingsDueForPurge } from '../catalog/retention.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { fsyncDir, type Vault } from '../vault/store.js'
import { recomputeDeadline, refreshDeadlines, type Ctx } from './deadlines.js'
import { acquireLease, releaseLease } from './lease.js'
import { retentionPlan, type PlanItem, type RetentionCounts } from './plan.js'
import { describeRule, purgeAfter, type RetentionPolicy, type RuleCode } from './policy.js'

export interface PurgeOptions {
  db: Db
  vault: Vault
  policy: RetentionPolicy
  /** The clock, injected (tests move time): the time of the ledger events written. */
  now: Date
  /**
   * Decide as of this instant (default: now): nothing whose deadline + grace is later is
   * touched. It may lie in the past (purges less); never ahead of `now` except in a dry run.
   */
  asOf?: Date
  dryRun: boolean
  /** Ledger actor, e.g. "station:station-01". */
  actor: string
  logger: Logger
}

export interface PurgedItem {
  recordingId: number
  sha256: string
  rule: RuleCode
  ruleRef: string | null
  deadline: string
  purgeAfter: string
  /** Vault objects deleted (original, derivatives); an object another stored recording uses is kept. */
  deleted: { sha256: string; role: string; size: number }[]
  kept: { sha256: string; role: string; reason: string }[]
  /** A remote (S3) copy is queued for deletion. */
  remoteDeleteQueued: string[]
  eventSeq: number
}

export interface PurgeReport {
  at: string
  dryRun: boolean
  graceDays: number
  refreshed: { checked: number; changed: number }
  /** Deleted now (or, in a dry run, what would be). */
  purged: (PurgedItem | PlanItem)[]
  /** Due but inside the grace period: shown, not deleted. */
  inGrace: PlanItem[]
  bytesFreed: number
  /** Leftover objects of earlier tombstones (a crash between the tombstone and the unlink) removed now. */
  leftoversRemoved: number
  counts: RetentionCounts
  errors: { recordingId: number; error: string }[]
}

const LEASE = 'retention-purge'

/**
 * The purge the nightly job and `bodyvault retention purge` both run:
 *  1. bring every deadline up to date (a `retention-changed` event per change);
 *  2. for each recording whose deadline + grace has passed, re-decide inside
 *     ONE transaction (a hold or a case link that came in meanwhile wins),
 *     append the `purged` tombstone (rule, deadline, reason), mark the row
 *     purged and queue its remote copy's deletion; 3. after the commit,
 *     delete its vault objects (original and derivatives) that no stored
 *     recording still uses.
 * Tombstone first, then unlink: a crash in between leaves a leftover file
 * (removed by the next run), never a missing object without its tombstone.
 * A dry run writes nothing at all. Two purges never overlap (a lease).
 */
export async function runPurge(o: PurgeOptions): Promise<PurgeReport> {
  const { db, policy, now } = o
  const asOf = o.asOf ?? now
  const log = o.logger.child({ job: 'retention-purge', dryRun: o.dryRun })
  if (o.dryRun) {
    const plan = retentionPlan(db, policy, asOf)
    return {
      at: asOf.toISOString(),
      dryRun: true,
      graceDays: policy.graceDays,
      refreshed: { checked: plan.counts.stored, changed: 0 },
      purged: plan.items.filter((i) => i.state === 'purgeable'),
      inGrace: plan.items.filter((i) => i.state === 'in-grace'),
      bytesFreed: plan.items.filter((i) => i.state === 'purgeable').reduce((n, i) => n + i.size, 0),
      leftoversRemoved: 0,
      counts: plan.counts,
      errors: [],
    }
  }
  if (asOf.getTime() > now.getTime() + 60_000) {
    throw new BodyvaultError(
      'PURGE_AHEAD_OF_CLOCK',
      `a purge as of ${asOf.toISOString()} would run ahead of the clock (${now.toISOString()}): only a dry run may look ahead`,
      2,
    )
  }
  // The lease is about processes, not retention: it runs on the real clock, whatever `now` says.
  const lease = acquireLease(db, LEASE, new Date(), 6 * 3600_000)
  if ('heldBy' in lease)
    throw new BodyvaultError('PURGE_RUNNING', `another purge is running (${lease.heldBy}, since ${lease.since}); try again when it has finished`, 1)
  try {
    const ctx: Ctx = { db, policy, actor: o.actor, now }
    const refreshed = refreshDeadlines(ctx)
    const report: PurgeReport = {
      at: asOf.toISOString(),
      dryRun: false,
      graceDays: policy.graceDays,
      refreshed,
      purged: [],
      inGrace: [],
      bytesFreed: 0,
      leftoversRemoved: 0,
      counts: retentionPlan(db, policy, asOf).counts,
      errors: [],
    }
    for (const id of recordingsDueForPurge(db, asOf.toISOString())) {
      try {
        const res = tombstone(ctx, id, asOf)
        if (res.kind === 'in-grace') {
          report.inGrace.push(res.item)
          continue
        }
        if (res.kind === 'kept') continue
        const item = res.item
        for (const obj of res.objects) {
          if (objectInUse(db, obj.sha256)) {
            item.kept.push({ sha256: obj.sha256, role: obj.role, reason: 'another stored recording uses the same bytes' })
            continue
          }
          if (await removeObject(o.vault, obj.sha256)) report.bytesFreed += obj.size
          item.deleted.push({ sha256: obj.sha256, role: obj.role, size: obj.size })
        }
        report.purged.push(item)
        log.info(
          { event: 'retention.purged', recordingId: id, sha256: item.sha256, rule: item.rule, deadline: item.deadline, eventSeq: item.eventSeq },
          'purged',
        )
      } catch (err) {
        report.errors.push({ recordingId: id, error: errorMessage(err) })
        log.error({ event: 'retention.purge-failed', recordingId: id, err: errorMessage(err) }, 'purge of one recording failed')
      }
    }
    report.leftoversRemoved = await removeLeftovers(db, o.vault)
    report.counts = retentionPlan(db, policy, asOf).counts
    log.info(
      {
        event: 'retention.purge-done',
        purged: report.purged.length,
        inGrace: report.inGrace.length,
        bytesFreed: report.bytesFreed,
        errors: report.errors.length,
      },
      'purge finished',
    )
    return report
  } finally {
    releaseLease(db, LEASE, lease.holder)
  }
}

type TombstoneResult = { kind: 'kept' } | { kind: 'in-grace'; item: PlanItem } | { kind: 'purged'; item: PurgedItem; objects: OwnedObject[] }

/** Re-decides and, when (and only when) the rule allows it, writes the tombstone: one transaction. */
function tombstone(ctx: Ctx, id: number, asOf: Date): TombstoneResult {
  const { db, policy, now } = ctx
  return db
    .transaction((): TombstoneResult => {
      const r = getRecording(db, id)
      if (r?.status !== 'stored') return { kind: 'kept' }
      const { decision } = recomputeDeadline(ctx, id)
      if (decision.deadline === 'indefinite' || decision.deadline.getTime() > asOf.getTime()) return { kind: 'kept' }
      const after = purgeAfter(decision.deadline, policy) as Date
      const base = {
        recordingId: id,
        sha256: r.sha256,
        rule: decision.rule,
        ruleRef: decision.ref,
        deadline: decision.deadline.toISOString(),
        purgeAfter: after.toISOString(),
      }
      if (after.getTime() > asOf.getTime()) {
        return {
          kind: 'in-grace',
          item: {
            ...base,
            size: r.size,
            category: r.category,
            caseNumber: r.caseNumber,
            recordedAt: r.recordedAt,
            why: describeRule(decision.rule, decision.ref),
            state: 'in-grace',
          },
        }
      }
      const objects = objectsOfRecording(db, id)
      const remote: string[] = []
      for (const obj of objects) {
        if (objectInUse(db, obj.sha256, id)) continue
        if (undeletedCopy(db, obj.sha256)) {
          queueOffloadJob(db, 'delete', obj.sha256, now)
          remote.push(obj.sha256)
        }
      }
      const reason = `retention deadline ${base.deadline} (${describeRule(decision.rule, decision.ref)}) and ${policy.graceDays} day(s) of grace have passed`
      const ev = appendEvent(db, {
        type: 'purged',
        actor: ctx.actor,
        subject: subjects.recording(id),
        at: now,
        payload: {
          recordingId: id,
          sha256: r.sha256,
          size: r.size,
          rule: decision.rule,
          ruleRef: decision.ref,
          deadline: base.deadline,
          purgeAfter: base.purgeAfter,
          graceDays: policy.graceDays,
          reason,
          objects: objects.map((x) => ({ sha256: x.sha256, role: x.role, size: x.size })),
          remoteDeleteQueued: remote,
          retentionEventSeq: getRetention(db, id)?.eventSeq ?? null,
        },
      })
      setRecordingStatus(db, id, 'purged')
      return { kind: 'purged', objects, item: { ...base, deleted: [], kept: [], remoteDeleteQueued: remote, eventSeq: ev.seq } }
    })
    .immediate()
}

/** Unlinks one vault object; true when it was there. */
async function removeObject(vault: Vault, sha256: string): Promise<boolean> {
  const path = vault.objectPath(sha256)
  try {
    await rm(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw err
  }
  await fsyncDir(dirname(path))
  return true
}

/** Objects of tombstoned recordings still on disk (a crash after the tombstone's commit): removed. */
async function removeLeftovers(db: Db, vault: Vault): Promise<number> {
  let n = 0
  for (const id of purgedRecordingIds(db)) {
    for (const obj of objectsOfRecording(db, id)) {
      if (objectInUse(db, obj.sha256)) continue
      if (await removeObject(vault, obj.sha256)) n++
    }
  }
  return n
}
