/**
 * The rolling fixity job: re-hashes local vault objects, oldest-checked
 * first, within an I/O budget, pausing while cameras are copying; a
 * fixity_runs row per run, and a `fixity-checked` event per run that checked
 * anything. The daemon runs it every fixity.everyMinutes (startFixityJob,
 * built by src/station/); `bodyvault fixity run` runs it by hand. A lease
 * keeps two runs (the daemon's and a typed one) from overlapping.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { dueObjects, fixityCounts, insertFixityRun, localObjectBytes } from '../catalog/fixity.js'
import { errorMessage } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { acquireLease, releaseLease } from '../retention/lease.js'
import type { Fixity } from './fixity.js'
import { budgetBytesPerSec, dueBefore, overdueBefore } from './schedule.js'

export interface FixityRunOptions {
  /** due: what the schedule says is due; all: every local object. */
  scope: 'due' | 'all'
  trigger: 'schedule' | 'manual'
  /** Bytes a second; 0: no limit. Default: fixity.budgetMBps. */
  budgetBytesPerSec?: number
  /** True while cameras are copying: the run waits (checked between reads). */
  busy?: () => boolean
  signal?: AbortSignal
  /** After each read (tests and the CLI's progress). */
  onBytes?: (n: number) => void
  /** How often a paused run looks again (default 1 s). */
  pausePollMs?: number
}

export interface FixityRunReport {
  startedAt: string
  endedAt: string
  scope: 'due' | 'all'
  objects: number
  bytes: number
  ok: number
  failed: number
  repaired: number
  /** Objects that could not be read for another reason (permissions, I/O errors): logged, tried again next run. */
  errors: number
  remaining: number
  stopped: boolean
  /** Time spent waiting for cameras to finish copying. */
  pausedMs: number
  durationMs: number
  budgetBytesPerSec: number
  eventSeq: number | null
  /** Set when another process holds the job's lease: nothing was done. */
  heldBy?: string
}

/**
 * Reads at most `rate` bytes a second: after a read of n bytes the next one
 * starts n/rate later. Time lost (a pause, a slow read, a busy machine) is
 * not made up in a burst: over any second at most the budget plus the one
 * read under way (an average-only limit let a stalled run catch up at full
 * speed on a loaded machine).
 */
class Budget {
  private due = performance.now()
  constructor(private readonly rate: number) {}
  async spend(n: number, signal?: AbortSignal): Promise<void> {
    if (this.rate <= 0) return
    const now = performance.now()
    this.due = Math.max(this.due, now) + (n / this.rate) * 1000
    if (this.due > now) await sleep(this.due - now, undefined, signal ? { signal } : {})
  }
}

const LEASE = 'fixity'

export async function runFixity(fx: Fixity, o: FixityRunOptions): Promise<FixityRunReport> {
  const { db, settings, logger } = fx.d
  const started = fx.now()
  const t0 = performance.now()
  const rate = o.budgetBytesPerSec ?? budgetBytesPerSec(settings.budgetMBps)
  const report: FixityRunReport = {
    startedAt: started.toISOString(),
    endedAt: started.toISOString(),
    scope: o.scope,
    objects: 0,
    bytes: 0,
    ok: 0,
    failed: 0,
    repaired: 0,
    errors: 0,
    remaining: 0,
    stopped: false,
    pausedMs: 0,
    durationMs: 0,
    budgetBytesPerSec: rate,
    eventSeq: null,
  }
  const lease = acquireLease(db, LEASE, started, 24 * 3600_000)
  if ('heldBy' in lease) return { ...report, heldBy: lease.heldBy }
  const budget = new Budget(rate)
  const afterRead = async (n: number): Promise<void> => {
    o.onBytes?.(n)
    if (o.busy?.()) {
      const p0 = performance.now()
      logger.info({ event: 'fixity.paused' }, 'fixity check paused while cameras are copying')
      while (o.busy() && !o.signal?.aborted) await sleep(o.pausePollMs ?? 1000, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined)
      report.pausedMs += performance.now() - p0
    }
    await budget.spend(n, o.signal)
  }
  const due = (): string => (o.scope === 'all' ? started : dueBefore(fx.now(), settings, localObjectBytes(db))).toISOString()
  const cutoff = due()
  const skip = new Set<string>()
  try {
    outer: for (;;) {
      const batch = dueObjects(db, { dueBefore: cutoff, runStart: started.toISOString(), limit: 100 + skip.size }).filter((c) => !skip.has(c.sha256))
      if (batch.length === 0) break
      for (const c of batch) {
        if (o.signal?.aborted) {
          report.stopped = true
          break outer
        }
        try {
          const r = await fx.check(c, { afterRead, ...(o.signal ? { signal: o.signal } : {}) })
          report.objects++
          report.bytes += r.bytes
          report[r.outcome === 'ok' ? 'ok' : r.outcome === 'repaired' ? 'repaired' : 'failed']++
          if (r.outcome !== 'ok') skip.add(c.sha256)
        } catch (err) {
          if (o.signal?.aborted) {
            report.stopped = true
            break outer
          }
          report.errors++
          skip.add(c.sha256)
          logger.error({ event: 'fixity.check_error', sha256: c.sha256, err: errorMessage(err) }, 'cannot check a vault object: tried again next run')
        }
      }
    }
  } finally {
    releaseLease(db, LEASE, lease.holder)
  }
  report.remaining = db.open ? fixityCounts(db, { dueBefore: cutoff, overdueBefore: overdueBefore(fx.now(), settings).toISOString() }).due : 0
  report.endedAt = fx.now().toISOString()
  report.durationMs = Math.round(performance.now() - t0)
  report.pausedMs = Math.round(report.pausedMs)
  // Every run leaves a row (status shows the job is alive); only a run that read something is a ledger event.
  db.transaction(() => {
    if (report.objects > 0 || report.errors > 0) {
      const ev = appendEvent(db, {
        type: 'fixity-checked',
        actor: fx.d.actor,
        subject: subjects.station(fx.d.stationId),
        payload: {
          trigger: o.trigger,
          scope: o.scope,
          objects: report.objects,
          bytes: report.bytes,
          failed: report.failed,
          repaired: report.repaired,
          remaining: report.remaining,
          stopped: report.stopped,
          durationMs: report.durationMs,
          budgetBytesPerSec: rate,
          cycleDays: settings.cycleDays,
        },
      })
      report.eventSeq = ev.seq
    }
    insertFixityRun(db, { ...report, trigger: o.trigger })
  }).immediate()
  logger.info({ event: 'fixity.run', ...report }, 'fixity run ended')
  return report
}

/**
 * The daemon's schedule: a run of what is due every fixity.everyMinutes
 * (the first one `firstMs` after start, default one minute), never two at
 * once; stop() ends the current run after its current read.
 */
export function startFixityJob(fx: Fixity, o: { busy?: () => boolean; firstMs?: number; everyMs?: number } = {}): { stop(): Promise<void> } {
  const ac = new AbortController()
  let running: Promise<unknown> | undefined
  const tick = (): void => {
    if (running || ac.signal.aborted || !fx.d.db.open) return
    running = runFixity(fx, { scope: 'due', trigger: 'schedule', signal: ac.signal, ...(o.busy ? { busy: o.busy } : {}) })
      .catch((err) => fx.d.logger.error({ event: 'fixity.run_failed', err: errorMessage(err) }, 'fixity run failed'))
      .finally(() => {
        running = undefined
      })
  }
  const first = setTimeout(tick, o.firstMs ?? 60_000)
  const timer = setInterval(tick, o.everyMs ?? fx.d.settings.everyMinutes * 60_000)
  first.unref()
  timer.unref()
  return {
    stop: async () => {
      clearTimeout(first)
      clearInterval(timer)
      ac.abort()
      await running
    },
  }
}
