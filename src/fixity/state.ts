/**
 * The fixity job's state as `status`, `doctor`, /metrics and /v1/station/fixity
 * show it: how many objects, how many due, overdue and known bad, since when
 * every local object has been checked, the last run, and a warning.
 */
import { fixityCounts, type FixityCounts, type FixityCutoffs, type FixityRun, lastFixityRun, localObjectBytes } from '../catalog/fixity.js'
import type { Db } from '../catalog/db.js'
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

/** fixityState, computed at most every `ttlMs` (it counts every object: /metrics and status may ask often). */
export function fixityStateCache(db: Db, settings: FixitySettings, ttlMs: number, now: () => Date = () => new Date()): () => FixityState {
  let cached: { at: number; state: FixityState } | undefined
  return () => {
    const t = now()
    if (!cached || t.getTime() - cached.at >= ttlMs || t.getTime() < cached.at) cached = { at: t.getTime(), state: fixityState(db, settings, t) }
    return cached.state
  }
}
