import { dueOffloadJobs, finishOffloadJob, pendingOffloadJobs, postponeOffloadJob, type OffloadJob, type OffloadOp } from '../catalog/offload-queue.js'
import type { Db } from '../catalog/db.js'
import { errorMessage } from '../common/errors.js'
import { refreshDeadlines } from '../retention/deadlines.js'
import { applyLock, deleteRemote, uploadLedger, uploadManifest } from './bucket-jobs.js'
import { Deferred, offloadActor, zeroCounts, type OffloadDeps, type OffloadReport } from './context.js'
import { evict } from './evict.js'
import { enqueueMissing } from './reconcile.js'
import { errorName, isOutage } from './s3.js'
import { uploadObject } from './upload.js'

/**
 * The offload worker: one pass (`runOffloadOnce`) reconciles the catalog
 * with the bucket through a persisted queue (./reconcile.ts queues, the
 * jobs run in ./upload.ts and ./bucket-jobs.ts):
 *   object    upload an original or derivative, read it back and hash it,
 *             check its lock; only then the `offloaded` event
 *   lock      extend COMPLIANCE retain-until / legal hold as deadlines move
 *   delete    a purged recording's remote copy, once its lock has expired
 *   manifest  the recording's manifest (catalog row + its ledger events)
 *   ledger    the chain itself, in append-only segments under legal hold
 * A failed job is retried with exponential backoff (persisted, so a restart
 * keeps the schedule); an outage ends the pass early. Then the local cache
 * is trimmed (./evict.ts): only objects with a verified remote copy are
 * ever evicted.
 */

const ORDER: OffloadOp[] = ['object', 'lock', 'delete', 'manifest', 'ledger']

export async function runOffloadOnce(d: OffloadDeps): Promise<OffloadReport> {
  const clock = d.now ?? (() => new Date())
  const started = clock()
  const t0 = Date.now()
  const log = d.logger.child({ job: 'offload' })
  const report: OffloadReport = {
    startedAt: started.toISOString(),
    durationMs: 0,
    enqueued: zeroCounts(),
    done: zeroCounts(),
    verified: [],
    evicted: [],
    failed: [],
    deferred: [],
    pending: 0,
    outage: false,
  }
  refreshDeadlines({ db: d.db, policy: d.policy, actor: offloadActor(d), now: started })
  report.enqueued = enqueueMissing(d, started)
  try {
    await d.s3.ensureBucket(d.settings.createBucket)
  } catch (err) {
    if (!isOutage(err)) throw err
    report.outage = true
    log.warn({ event: 'offload.outage', err: errorMessage(err) }, 'S3 unreachable: the queue waits for the next pass')
  }
  const tried = new Set<number>()
  while (!report.outage) {
    const job = nextJob(d.db, clock(), tried)
    if (!job) break
    tried.add(job.id)
    try {
      await runJob(d, job, report, clock)
      finishOffloadJob(d.db, job.id)
      report.done[job.op]++
    } catch (err) {
      const attempts = job.attempts + 1
      let next: Date
      if (err instanceof Deferred) {
        next = err.until
      } else {
        const base = d.settings.retry.baseSeconds * 1000 * 2 ** Math.min(attempts - 1, 20)
        next = new Date(clock().getTime() + Math.min(d.settings.retry.maxSeconds * 1000, base) * (0.75 + Math.random() * 0.5))
      }
      const msg = err instanceof Deferred ? err.message : `${errorName(err)}: ${errorMessage(err)}`
      postponeOffloadJob(d.db, job.id, attempts, next, msg)
      if (err instanceof Deferred) {
        report.deferred.push({ op: job.op, subject: job.subject, until: next.toISOString(), reason: msg })
        continue
      }
      report.failed.push({ op: job.op, subject: job.subject, attempts, error: msg, nextAttemptAt: next.toISOString() })
      if (isOutage(err)) {
        report.outage = true
        log.warn(
          { event: 'offload.outage', op: job.op, subject: job.subject, attempts, next: next.toISOString(), err: msg },
          'S3 unreachable: will retry with backoff',
        )
      } else {
        log.warn(
          { event: 'offload.job-failed', op: job.op, subject: job.subject, attempts, next: next.toISOString(), err: msg },
          'offload job failed: will retry',
        )
      }
    }
  }
  report.evicted = await evict(d, clock())
  report.pending = pendingOffloadJobs(d.db)
  report.durationMs = Date.now() - t0
  const busy = report.verified.length + report.evicted.length + report.failed.length + Object.values(report.done).reduce((x, y) => x + y, 0) > 0
  log[busy ? 'info' : 'debug'](
    {
      event: 'offload.pass',
      done: report.done,
      verified: report.verified.length,
      evicted: report.evicted.length,
      failed: report.failed.length,
      pending: report.pending,
      outage: report.outage,
      ms: report.durationMs,
    },
    'offload pass finished',
  )
  return report
}

function nextJob(db: Db, now: Date, tried: Set<number>): OffloadJob | undefined {
  const rows = dueOffloadJobs(db, now)
  rows.sort((a, b) => ORDER.indexOf(a.op) - ORDER.indexOf(b.op) || a.id - b.id)
  return rows.find((j) => !tried.has(j.id))
}

async function runJob(d: OffloadDeps, job: OffloadJob, report: OffloadReport, clock: () => Date): Promise<void> {
  switch (job.op) {
    case 'object':
      return uploadObject(d, job, report, clock)
    case 'lock':
      return applyLock(d, job.subject, clock())
    case 'delete':
      return deleteRemote(d, job.subject)
    case 'manifest':
      return uploadManifest(d, Number(job.subject), clock())
    case 'ledger':
      return uploadLedger(d)
  }
}

/** Runs passes every `intervalSeconds` until stopped; passes never overlap. */
export function startOffloadWorker(d: OffloadDeps): { stop(): Promise<void>; runNow(): Promise<OffloadReport | undefined> } {
  let stopped = false
  let running: Promise<OffloadReport | undefined> | null = null
  let timer: NodeJS.Timeout | null = null
  const log = d.logger.child({ job: 'offload' })
  const pass = (): Promise<OffloadReport | undefined> => {
    if (running) return running
    running = runOffloadOnce(d)
      .catch((err: unknown) => {
        log.error({ event: 'offload.error', err: errorMessage(err) }, 'offload pass failed')
        return undefined
      })
      .finally(() => {
        running = null
        if (!stopped) timer = setTimeout(() => void pass(), d.settings.intervalSeconds * 1000)
      })
    return running
  }
  timer = setTimeout(() => void pass(), 1000)
  return {
    runNow: pass,
    stop: async () => {
      stopped = true
      if (timer) clearTimeout(timer)
      if (running) await running
    },
  }
}
