/**
 * The notifier: finds what is due from the catalog's state (jobs discovered
 * from state, never pushed by the parts), renders it once (./notice.ts),
 * queues it per channel in the outbox (a notice of a kind and key goes out
 * once per channel) and delivers the outbox with exponential backoff. A
 * delivered notice is a `notice-sent` ledger event and its line in
 * `notices`, in one transaction. Delivery is at least once: a receiver
 * that answered but whose answer was lost gets the notice again, with the
 * same X-Bodyvault-Notice header. The timers that drive it are built in
 * src/station/ (the one composition root).
 */
import type { Db } from '../catalog/db.js'
import { listExportRequests } from '../catalog/exports.js'
import { failedObjects } from '../catalog/fixity.js'
import { lateHandoversCommitted } from '../catalog/handovers.js'
import { dueNotices, enqueueNotice, insertNoticeSent, lastWindowEnd, noticeAttemptFailed, noticeDelivered, type OutboxRow } from '../catalog/notices.js'
import { recordingsWithObject } from '../catalog/objects.js'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { retentionPlan } from '../retention/plan.js'
import type { RetentionPolicy } from '../retention/policy.js'
import { refreshHandovers } from '../stats/handover.js'
import type { Sender } from './channels.js'
import {
  deletionsDueNotice,
  exportRequestedNotice,
  exportsPendingNotice,
  fixityFailureNotice,
  lateHandoversNotice,
  lowDiskNotice,
  nextAttemptDelaySeconds,
  noticeBody,
  noticeDigest,
  type Notice,
  type PendingExport,
  type Station,
} from './notice.js'
import { channelTakes, type NotifySettings } from './settings.js'

export interface NotifierDeps {
  db: Db
  station: Station
  /** The ledger's actor: `station:<id>`. */
  actor: string
  logger: Logger
  settings: NotifySettings
  senders: Sender[]
  policy: RetentionPolicy
  handoverLimitSeconds: number
  /** Free bytes on the data dir's disk, and the level below which that is news. */
  freeBytes: () => Promise<number>
  lowDiskBytes: number
  now?: () => Date
}

/** The deletions notice looks this many days ahead. */
export const DELETIONS_AHEAD_DAYS = 7

const pending = (e: {
  id: number
  recordingIds: number[]
  reason: string
  recipient: string
  requestedPerson: string
  requestedAt: string
}): PendingExport => ({
  id: e.id,
  recordingIds: e.recordingIds,
  reason: e.reason,
  recipient: e.recipient,
  requestedPerson: e.requestedPerson,
  requestedAt: e.requestedAt,
})

export class Notifier {
  private readonly now: () => Date
  private delivering: Promise<{ sent: number; failed: number }> | null = null
  constructor(readonly d: NotifierDeps) {
    this.now = d.now ?? (() => new Date())
  }

  /** Queues a notice on every channel that takes its kind; returns the channels it was new on. */
  queue(n: Notice | null): string[] {
    if (!n) return []
    const at = this.now().toISOString()
    const body = noticeBody(this.d.station, n, at)
    const digest = noticeDigest(body)
    const queued: string[] = []
    for (const s of this.d.senders) {
      if (!channelTakes(s.config, n.kind)) continue
      const row = { kind: n.kind, key: n.key, channel: s.id, subject: n.subject, body, digest, items: n.items.length, windowTo: n.windowTo, at }
      if (enqueueNotice(this.d.db, row)) queued.push(s.id)
    }
    if (queued.length) this.d.logger.info({ event: 'notify.queued', kind: n.kind, key: n.key, channels: queued, items: n.items.length }, 'notice queued')
    return queued
  }

  /** What goes out at once: fixity failures, low disk (once a day while it lasts), export requests awaiting approval. */
  async checkNow(): Promise<number> {
    const { db, station } = this.d
    let n = 0
    for (const f of failedObjects(db, 1000)) n += this.queue(fixityFailureNotice(station, { ...f, recordingIds: recordingsWithObject(db, f.sha256) })).length
    n += this.queue(lowDiskNotice(station, { freeBytes: await this.d.freeBytes(), thresholdBytes: this.d.lowDiskBytes, now: this.now() })).length
    for (const e of listExportRequests(db, 'requested', 1000)) n += this.queue(exportRequestedNotice(station, pending(e))).length
    return n
  }

  /** The daily notices: late handovers since the last list (else the last day), and the exports still awaiting approval. */
  daily(): number {
    const { db, station } = this.d
    const now = this.now()
    const to = now.toISOString()
    const from = lastWindowEnd(db, 'late-handovers') ?? new Date(now.getTime() - 86_400_000).toISOString()
    refreshHandovers(db, this.d.handoverLimitSeconds)
    const late = lateHandoversCommitted(db, from, to)
    let n = this.queue(lateHandoversNotice(station, late, { from, to, limitHours: this.d.handoverLimitSeconds / 3600 })).length
    n += this.queue(exportsPendingNotice(station, listExportRequests(db, 'requested', 1000).map(pending), now)).length
    return n
  }

  /** The weekly notice: what the nightly purge deletes within the next 7 days (already purgeable ones included). */
  weekly(): number {
    const now = this.now()
    const horizon = new Date(now.getTime() + DELETIONS_AHEAD_DAYS * 86_400_000)
    const due = retentionPlan(this.d.db, this.d.policy, horizon).items.filter((i) => i.purgeAfter <= horizon.toISOString())
    return this.queue(deletionsDueNotice(this.d.station, due, { now, days: DELETIONS_AHEAD_DAYS })).length
  }

  /** One attempt at every pending notice that is due; never two passes at once (a second caller joins the first). */
  deliverDue(): Promise<{ sent: number; failed: number }> {
    if (!this.delivering)
      this.delivering = this.deliverPass().finally(() => {
        this.delivering = null
      })
    return this.delivering
  }

  private async deliverPass(): Promise<{ sent: number; failed: number }> {
    const r = { sent: 0, failed: 0 }
    for (const row of dueNotices(this.d.db, this.now().toISOString())) {
      if (!this.d.db.open) break
      if (await this.attempt(row)) r.sent++
      else r.failed++
    }
    return r
  }

  private async attempt(row: OutboxRow): Promise<boolean> {
    const { db, logger } = this.d
    const attempts = row.attempts + 1
    const sender = this.d.senders.find((s) => s.id === row.channel)
    try {
      if (!sender) throw new Error(`the channel ${row.channel} is no longer configured`)
      await sender.send({ kind: row.kind, key: row.key, subject: row.subject, text: (JSON.parse(row.body) as { text: string }).text, body: row.body })
    } catch (err) {
      const wait = sender ? nextAttemptDelaySeconds(attempts, this.d.settings.retry) : null
      const nextAt = wait === null ? null : new Date(this.now().getTime() + wait * 1000).toISOString()
      if (db.open) noticeAttemptFailed(db, row.id, { attempts, error: errorMessage(err), nextAt })
      const fields = {
        event: nextAt ? 'notify.retry' : 'notify.given_up',
        kind: row.kind,
        key: row.key,
        channel: row.channel,
        attempts,
        nextAt,
        err: errorMessage(err),
      }
      if (nextAt) logger.warn(fields, 'a notice could not be delivered: trying again later')
      else logger.error(fields, 'a notice could not be delivered and its attempts are spent: see bodyvault doctor')
      return false
    }
    if (!db.open) return true
    const at = this.now()
    db.transaction(() => {
      const ev = appendEvent(db, {
        type: 'notice-sent',
        actor: this.d.actor,
        subject: subjects.station(this.d.station.id),
        at,
        payload: { kind: row.kind, key: row.key, channel: row.channel, to: sender.to, subject: row.subject, items: row.items, attempts, digest: row.digest },
      })
      noticeDelivered(db, row.id, { attempts, at: at.toISOString(), eventSeq: ev.seq })
    }).immediate()
    logger.info({ event: 'notify.sent', kind: row.kind, key: row.key, channel: row.channel, attempts }, 'notice delivered')
    return true
  }

  /** One attempt now on every channel, outside the outbox (`bodyvault notify test`): what each channel answered. */
  async sendNow(n: Notice): Promise<{ channel: string; to: string; ok: boolean; error?: string }[]> {
    const { db } = this.d
    const at = this.now()
    const body = noticeBody(this.d.station, n, at.toISOString())
    const digest = noticeDigest(body)
    const out: { channel: string; to: string; ok: boolean; error?: string }[] = []
    for (const s of this.d.senders) {
      if (!channelTakes(s.config, n.kind)) continue
      try {
        await s.send({ kind: n.kind, key: n.key, subject: n.subject, text: n.text, body })
      } catch (err) {
        out.push({ channel: s.id, to: s.to, ok: false, error: errorMessage(err) })
        continue
      }
      db.transaction(() => {
        const ev = appendEvent(db, {
          type: 'notice-sent',
          actor: this.d.actor,
          subject: subjects.station(this.d.station.id),
          at,
          payload: { kind: n.kind, key: n.key, channel: s.id, to: s.to, subject: n.subject, items: n.items.length, attempts: 1, digest },
        })
        insertNoticeSent(db, { kind: n.kind, key: n.key, channel: s.id, at: at.toISOString(), eventSeq: ev.seq })
      }).immediate()
      out.push({ channel: s.id, to: s.to, ok: true })
    }
    return out
  }

  close(): void {
    for (const s of this.d.senders) s.close()
  }
}
