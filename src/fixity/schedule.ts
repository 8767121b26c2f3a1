/**
 * When an object is due for its next fixity check, and when a cycle is
 * overdue (pure; test/fixity-schedule.test.ts holds the cases).
 *
 * The promise is "every local object re-hashed at least once per
 * fixity.cycleDays". A run checks, oldest-checked first, the objects whose
 * last check is older than the cycle minus a lead: the time one pass over
 * all local bytes takes at the I/O budget, plus two intervals between runs,
 * but at most half a cycle. A small vault is then re-hashed about once a
 * cycle; a vault whose pass takes days starts early enough to finish in
 * time. If the budget cannot keep up at all (a pass longer than half a
 * cycle), objects go overdue and `status`, `doctor` and /metrics say so.
 */
import type { FixitySettings } from './settings.js'

const DAY = 86_400_000
const MINUTE = 60_000

/** Bytes a second of a budget in MB/s (10^6 bytes); 0: no limit. */
export const budgetBytesPerSec = (mbps: number): number => Math.round(mbps * 1_000_000)

/** Milliseconds before the end of its cycle at which an object becomes due. */
export function leadMs(s: Pick<FixitySettings, 'cycleDays' | 'everyMinutes' | 'budgetMBps'>, localBytes: number): number {
  const rate = budgetBytesPerSec(s.budgetMBps)
  const pass = rate > 0 ? (localBytes / rate) * 1000 : 0
  // One interval for the next run to come round, one more as slack (a late timer, a run that paused for cameras).
  return Math.min((s.cycleDays * DAY) / 2, pass + 2 * s.everyMinutes * MINUTE)
}

/** Objects last checked before this instant are due now. */
export function dueBefore(now: Date, s: Pick<FixitySettings, 'cycleDays' | 'everyMinutes' | 'budgetMBps'>, localBytes: number): Date {
  return new Date(now.getTime() - (s.cycleDays * DAY - leadMs(s, localBytes)))
}

/** Objects not checked since this instant missed their cycle. */
export function overdueBefore(now: Date, s: Pick<FixitySettings, 'cycleDays'>): Date {
  return new Date(now.getTime() - s.cycleDays * DAY)
}

/** What status and doctor warn about: objects past their cycle, known-bad copies. Null: nothing. */
export function fixityWarning(c: { overdue: number; failed: number }, s: Pick<FixitySettings, 'cycleDays' | 'budgetMBps'>): string | null {
  const out: string[] = []
  if (c.failed > 0)
    out.push(
      `${c.failed} object(s) failed their check and could not be repaired: see bodyvault fixity status (name a backup in fixity.repairFrom, or configure offload)`,
    )
  if (c.overdue > 0)
    out.push(
      `${c.overdue} object(s) were not re-hashed in the last ${s.cycleDays} day(s): is the daemon running? ` +
        `If it is, the budget (fixity.budgetMBps ${s.budgetMBps}) is too small for this vault: raise it, or run bodyvault fixity run`,
    )
  return out.length ? out.join('; ') : null
}
