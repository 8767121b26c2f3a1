/**
 * The fixity job's state as `status`, `doctor`, /metrics and /v1/station/fixity
 * show it: how many objects, how many due, overdue and known bad, since when
 * every local object has been checked, the last run, and a warning.
 */
import { fixityCounts, type FixityCounts, type FixityCutoffs, type FixityRun, lastFixityRun, localObjectBytes } from '../catalog/fixity.js'
import type { Db } from '../catalog/db.js'
import type { EventType } from '../ledger/events.js'
import { latestSeqOfTypes } from '../ledger/ledger.js'
import { dueBefore, fixityWarning, overdueBefore } from './schedule.js'
import type { FixitySettings } from './settings.js'

export interface FixityState extends FixityCounts, FixityCutoffs {
  cycleDays: number
  budgetMBps: number
  /** Every local object has been re-hashed since this instant (null: some never were). */
  lastFullCycle: string | null
  lastRun: FixityRun | null
  warning: string | null
}

export function fixityState(db: Db, settings: FixitySettings, now: Date): FixityState {
  const cutoffs: FixityCutoffs = {
    dueBefore: dueBefore(now, settings, localObjectBytes(db)).toISOString(),
    overdueBefore: overdueBefore(now, settings).toISOString(),
  }
  const counts = fixityCounts(db, cutoffs)
  return {
    ...counts,
    ...cutoffs,
    cycleDays: settings.cycleDays,
    budgetMBps: settings.budgetMBps,
    lastFullCycle: counts.neverChecked === 0 ? counts.oldestCheck : null,
    lastRun: lastFixityRun(db) ?? null,
    warning: fixityWarning(counts, settings),
  }
}

/**
 * The events that record a fixity result or move an object in or out of
 * the local vault: a finding, a repair, a run's end, a fetch-back, an
 * eviction, a copy confirmed after a rebuild. What else changes the counts
 * (a quiet check, a first serve, an ingest) is not news and waits the TTL.
 */
const RESULTS: readonly EventType[] = ['fixity-failed', 'object-repaired', 'fixity-checked', 'fetched-back', 'evicted', 'local-copy-confirmed']

/**
 * fixityState, computed at most every `ttlMs` (it counts every object:
 * /metrics and status may ask often), and again as soon as a fixity result
 * is recorded: each read compares the newest RESULTS event with the one the
 * cached state saw, which catches this process's fixity job and repairs and
 * another's (`bodyvault fixity run` beside the daemon) alike.
 */
export function fixityStateCache(db: Db, settings: FixitySettings, ttlMs: number, now: () => Date = () => new Date()): () => FixityState {
  let cached: { at: number; mark: number; state: FixityState } | undefined
  return () => {
    const t = now()
    const mark = latestSeqOfTypes(db, RESULTS)
    if (!cached || cached.mark !== mark || t.getTime() - cached.at >= ttlMs || t.getTime() < cached.at)
      cached = { at: t.getTime(), mark, state: fixityState(db, settings, t) }
    return cached.state
  }
}
