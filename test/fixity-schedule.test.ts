// When an object is due and when a cycle is overdue (src/fixity/schedule.ts),
// as a table: the promise is "every local object re-hashed at least once per
// cycle", without re-hashing a small vault far more often than that.
import t from 'tap'
import { budgetBytesPerSec, dueBefore, fixityWarning, leadMs, overdueBefore } from '../src/fixity/schedule.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const now = new Date('2026-06-01T00:00:00Z')
const TB = 1e12

t.test('lead before the end of the cycle: one pass at the budget plus two intervals, at most half a cycle', async (t) => {
  const cases: [string, { cycleDays: number; everyMinutes: number; budgetMBps: number }, number, number][] = [
    ['empty vault: two intervals', { cycleDays: 30, everyMinutes: 60, budgetMBps: 20 }, 0, 2 * HOUR],
    ['no budget (flat out): two intervals', { cycleDays: 30, everyMinutes: 60, budgetMBps: 0 }, 10 * TB, 2 * HOUR],
    ['1 TB at 20 MB/s: 50,000 s plus two hours', { cycleDays: 30, everyMinutes: 60, budgetMBps: 20 }, TB, 50_000_000 + 2 * HOUR],
    ['20 TB at 20 MB/s (11.6 days) plus two hours', { cycleDays: 30, everyMinutes: 60, budgetMBps: 20 }, 20 * TB, 1_000_000_000 + 2 * HOUR],
    ['40 TB at 20 MB/s (23 days): capped at half a cycle', { cycleDays: 30, everyMinutes: 60, budgetMBps: 20 }, 40 * TB, 15 * DAY],
    ['a 1-day cycle, hourly runs, small vault', { cycleDays: 1, everyMinutes: 60, budgetMBps: 20 }, 1e9, 50_000 + 2 * HOUR],
    ['a 1-day cycle, 12-hourly runs: capped at half a cycle', { cycleDays: 1, everyMinutes: 720, budgetMBps: 20 }, 0, 12 * HOUR],
  ]
  for (const [what, s, bytes, lead] of cases) {
    t.equal(leadMs(s, bytes), lead, what)
    t.equal(dueBefore(now, s, bytes).getTime(), now.getTime() - (s.cycleDays * DAY - lead), `${what}: due when last checked before cycle - lead`)
  }
  t.equal(budgetBytesPerSec(20), 20_000_000, 'MB/s are 10^6 bytes a second')
  t.equal(budgetBytesPerSec(0.5), 500_000)
})

t.test('overdue: not checked for a whole cycle', async (t) => {
  t.equal(overdueBefore(now, { cycleDays: 30 }).toISOString(), '2026-05-02T00:00:00.000Z')
})

t.test('the warning names what is wrong and what to do', async (t) => {
  const s = { cycleDays: 30, budgetMBps: 20 }
  t.equal(fixityWarning({ overdue: 0, failed: 0 }, s), null, 'nothing to say')
  t.match(fixityWarning({ overdue: 3, failed: 0 }, s), /3 object\(s\) were not re-hashed in the last 30 day\(s\).*fixity\.budgetMBps 20/)
  t.match(fixityWarning({ overdue: 0, failed: 2 }, s), /2 object\(s\) failed their check.*fixity status/)
  t.match(fixityWarning({ overdue: 1, failed: 1 }, s), /failed.*; 1 object\(s\) were not re-hashed/)
})
