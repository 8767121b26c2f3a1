// The retention rule as a table: month ends, leap years, time zones, open and
// closed cases, several cases, holds, the important mark, uncategorised footage,
// and the retention flags of art. 13 (with and without cases and holds, removed
// with an approval, or only asked to be removed).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { retentionPolicy, type RetentionSettings } from '../src/retention/config.js'
import { deadline, periodEnd, purgeAfter, type PolicyCase, type PolicyFlag, type PolicyHold, type RetentionPolicy } from '../src/retention/policy.js'
import { ROOT } from './helpers.js'

const defaults = JSON.parse(readFileSync(join(ROOT, 'config/default.json'), 'utf8')) as { retention: RetentionSettings }
const policyIn = (timezone: string, over: Partial<RetentionPolicy> = {}): RetentionPolicy => ({
  ...retentionPolicy({ station: { timezone }, retention: defaults.retention }),
  ...over,
})
const SH = policyIn('Asia/Shanghai')

const open = (number: string, type = 'penalty-general-procedure'): PolicyCase => ({ number, type, status: 'open', closedAt: null })
const closed = (number: string, closedAt: string, type = 'penalty-general-procedure'): PolicyCase => ({ number, type, status: 'closed', closedAt })
const held = (id: number): PolicyHold => ({ id, releasedAt: null })
const released = (id: number): PolicyHold => ({ id, releasedAt: '2026-10-01T00:00:00.000Z' })
const flagged = (flag: string, id = 1): PolicyFlag => ({ id, flag, removedAt: null })
/** Removed: a supervisor (another person) approved the removal. A removal only asked for is still `flagged`. */
const unflagged = (flag: string, id = 1): PolicyFlag => ({ id, flag, removedAt: '2027-01-01T00:00:00.000Z' })
const rec = (recordedAt: string, category: string | null, important = false) => ({ recordedAt: new Date(recordedAt).toISOString(), category, important })

interface Row {
  name: string
  recordedAt: string
  category: string | null
  important?: boolean
  cases?: PolicyCase[]
  holds?: PolicyHold[]
  flags?: PolicyFlag[]
  policy?: RetentionPolicy
  /** Expected deadline as an instant with its offset, or 'indefinite'. */
  want: string
  rule: string
  ref?: string | null
}

const rows: Row[] = [
  // Month ends (clamp to the month end, the last day kept whole, deletion from 00:00 station time the day after).
  {
    name: 'patrol mid-month: last day 2027-01-15, purge from the 16th',
    recordedAt: '2026-07-15T09:00:00+08:00',
    category: 'patrol',
    want: '2027-01-16T00:00:00+08:00',
    rule: 'category-period',
    ref: 'patrol',
  },
  {
    name: 'patrol 31 Aug + 6 months: clamped to 28 Feb, purge from 1 Mar',
    recordedAt: '2026-08-31T10:00:00+08:00',
    category: 'patrol',
    want: '2027-03-01T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'patrol 30 Aug + 6 months: also 28 Feb',
    recordedAt: '2026-08-30T10:00:00+08:00',
    category: 'patrol',
    want: '2027-03-01T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'patrol 28 Aug + 6 months: 28 Feb exactly',
    recordedAt: '2026-08-28T10:00:00+08:00',
    category: 'patrol',
    want: '2027-03-01T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'patrol 27 Aug + 6 months: 27 Feb',
    recordedAt: '2026-08-27T10:00:00+08:00',
    category: 'patrol',
    want: '2027-02-28T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'leap year: 31 Aug 2027 + 6 months ends 29 Feb 2028',
    recordedAt: '2027-08-31T10:00:00+08:00',
    category: 'patrol',
    want: '2028-03-01T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'leap year: 28 Aug 2027 + 6 months ends 28 Feb 2028, purge from 29 Feb',
    recordedAt: '2027-08-28T10:00:00+08:00',
    category: 'patrol',
    want: '2028-02-29T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: '31 Mar + 6 months: 30 Sep',
    recordedAt: '2026-03-31T10:00:00+08:00',
    category: 'patrol',
    want: '2026-10-01T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: '31 Dec + 6 months crosses the year: 30 Jun',
    recordedAt: '2026-12-31T23:59:59+08:00',
    category: 'patrol',
    want: '2027-07-01T00:00:00+08:00',
    rule: 'category-period',
  },
  // Time zones: the station's day counts, not UTC's.
  {
    name: '00:30 station time is the previous day in UTC: the station day counts',
    recordedAt: '2026-08-31T16:30:00Z',
    category: 'patrol',
    want: '2027-03-02T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'the same instant at a UTC station is still 31 Aug',
    recordedAt: '2026-08-31T16:30:00Z',
    category: 'patrol',
    policy: policyIn('UTC'),
    want: '2027-03-01T00:00:00Z',
    rule: 'category-period',
  },
  {
    name: 'Europe/Berlin: recorded in summer time, due at midnight winter time',
    recordedAt: '2026-09-15T10:00:00+02:00',
    category: 'patrol',
    policy: policyIn('Europe/Berlin'),
    want: '2027-03-16T00:00:00+01:00',
    rule: 'category-period',
  },
  {
    name: 'America/New_York: due at local midnight after the DST change',
    recordedAt: '2026-05-10T22:00:00-04:00',
    category: 'patrol',
    policy: policyIn('America/New_York'),
    want: '2026-11-11T00:00:00-05:00',
    rule: 'category-period',
  },
  // Inspection: 6 months, or case length when linked.
  {
    name: 'inspection, no case: 6 months',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'inspection',
    want: '2026-08-11T00:00:00+08:00',
    rule: 'category-period',
    ref: 'inspection',
  },
  {
    name: 'inspection linked to an open case: indefinite',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'inspection',
    cases: [open('C-1')],
    want: 'indefinite',
    rule: 'open-case',
    ref: 'C-1',
  },
  {
    name: 'inspection linked to a closed case: closing day + 30 years',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'inspection',
    cases: [closed('C-1', '2027-01-10T09:00:00+08:00')],
    want: '2057-01-11T00:00:00+08:00',
    rule: 'case-archive',
    ref: 'C-1',
  },
  {
    name: 'longest wins: a short archive period loses to the category minimum',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'inspection',
    cases: [closed('C-9', '2026-02-11T09:00:00+08:00', 'short')],
    policy: policyIn('Asia/Shanghai', { caseTypes: { short: { archive: { months: 1 } } } }),
    want: '2026-08-11T00:00:00+08:00',
    rule: 'category-period',
  },
  // Evidence-type categories: as long as the case.
  {
    name: 'evidence, no case yet: kept (awaiting a case)',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    want: 'indefinite',
    rule: 'awaiting-case',
    ref: 'evidence',
  },
  {
    name: 'evidence, no case, configured fallback of 1 year',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    policy: policyIn('Asia/Shanghai', { unlinkedCaseFootage: { years: 1 } }),
    want: '2027-02-11T00:00:00+08:00',
    rule: 'awaiting-case',
  },
  {
    name: 'hearing, open case: indefinite',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'hearing',
    cases: [open('H-1', 'compulsory-measures')],
    want: 'indefinite',
    rule: 'open-case',
    ref: 'H-1',
  },
  {
    name: 'enforcement, closed compulsory-measures case: close + 30 years',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'enforcement',
    cases: [closed('E-1', '2026-06-30T17:00:00+08:00', 'compulsory-measures')],
    want: '2056-07-01T00:00:00+08:00',
    rule: 'case-archive',
    ref: 'E-1',
  },
  {
    name: 'service, closed summary-procedure case: close + 10 years',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'service',
    cases: [closed('S-1', '2026-03-01T10:00:00+08:00', 'penalty-summary-procedure')],
    want: '2036-03-02T00:00:00+08:00',
    rule: 'case-archive',
    ref: 'S-1',
  },
  {
    name: 'case closed on 29 Feb + 10 years: clamped to 28 Feb',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [closed('L-1', '2028-02-29T10:00:00+08:00', 'penalty-summary-procedure')],
    want: '2038-03-01T00:00:00+08:00',
    rule: 'case-archive',
  },
  {
    name: 'several cases, one still open: indefinite',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [closed('A', '2026-05-01T10:00:00+08:00'), open('B')],
    want: 'indefinite',
    rule: 'open-case',
    ref: 'B',
  },
  {
    name: 'several closed cases: the latest deadline wins',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [
      closed('A', '2026-05-01T10:00:00+08:00'),
      closed('B', '2026-04-01T10:00:00+08:00', 'penalty-summary-procedure'),
      closed('C', '2026-07-01T10:00:00+08:00', 'penalty-summary-procedure'),
    ],
    want: '2056-05-02T00:00:00+08:00',
    rule: 'case-archive',
    ref: 'A',
  },
  {
    name: 'closed case of a type the config does not know: kept',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [closed('X', '2026-05-01T10:00:00+08:00', 'retired-type')],
    want: 'indefinite',
    rule: 'unknown-case-type',
    ref: 'X',
  },
  {
    name: 'case type archived permanently',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [closed('P', '2026-05-01T10:00:00+08:00', 'major')],
    policy: policyIn('Asia/Shanghai', { caseTypes: { major: { archive: 'indefinite' } } }),
    want: 'indefinite',
    rule: 'case-archive',
    ref: 'P',
  },
  {
    name: 'patrol footage linked to a closed case keeps as long as the case',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    cases: [closed('C-2', '2026-03-01T10:00:00+08:00', 'penalty-summary-procedure')],
    want: '2036-03-02T00:00:00+08:00',
    rule: 'case-archive',
  },
  // Holds.
  {
    name: 'hold on patrol footage: indefinite',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    holds: [held(7)],
    want: 'indefinite',
    rule: 'hold',
    ref: '7',
  },
  {
    name: 'released hold no longer counts',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    holds: [released(7)],
    want: '2026-08-11T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'a hold wins over an open case (listed first)',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [open('C-1')],
    holds: [released(1), held(2)],
    want: 'indefinite',
    rule: 'hold',
    ref: '2',
  },
  // The important mark and uncategorised footage.
  {
    name: 'important, not yet categorised: evidence (awaiting a case)',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: null,
    important: true,
    want: 'indefinite',
    rule: 'awaiting-case',
    ref: 'evidence',
  },
  {
    name: 'important, reclassified as patrol by a clerk: 6 months',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    important: true,
    want: '2026-08-11T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'uncategorised: the longest non-case period (6 months)',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: null,
    want: '2026-08-11T00:00:00+08:00',
    rule: 'uncategorised',
    ref: null,
  },
  {
    name: 'uncategorised with a 12-month inspection period: 12 months',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: null,
    policy: policyIn('Asia/Shanghai', { categories: { ...SH.categories, inspection: { keep: { months: 12 } } } }),
    want: '2027-02-11T00:00:00+08:00',
    rule: 'uncategorised',
  },
  {
    name: 'unknown category: like uncategorised',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'retired',
    want: '2026-08-11T00:00:00+08:00',
    rule: 'unknown-category',
    ref: 'retired',
  },
  {
    name: 'uncategorised but linked to an open case: indefinite',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: null,
    cases: [open('C-3')],
    want: 'indefinite',
    rule: 'open-case',
  },
  // Retention flags (art. 13 of the 2016 recording rules; complaint by local rule): permanent.
  ...['evidence-used', 'obstruction', 'major-incident', 'complaint'].map(
    (flag): Row => ({
      name: `patrol footage flagged ${flag}: kept permanently, by the flag`,
      recordedAt: '2026-02-10T08:00:00+08:00',
      category: 'patrol',
      flags: [flagged(flag)],
      want: 'indefinite',
      rule: 'flag',
      ref: flag,
    }),
  ),
  {
    name: 'obstruction, removal asked for but not approved: still kept by the flag',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    flags: [flagged('obstruction', 4)],
    want: 'indefinite',
    rule: 'flag',
    ref: 'obstruction',
  },
  {
    name: 'obstruction removed with approval: back to the category minimum',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    flags: [unflagged('obstruction')],
    want: '2026-08-11T00:00:00+08:00',
    rule: 'category-period',
  },
  {
    name: 'flag and open case: the flag names the decision (permanent outlasts the case)',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [open('C-1')],
    flags: [flagged('evidence-used')],
    want: 'indefinite',
    rule: 'flag',
    ref: 'evidence-used',
  },
  {
    name: 'flag and a case closed 30 years ago: still kept',
    recordedAt: '1990-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [closed('C-1', '1991-01-10T09:00:00+08:00')],
    flags: [flagged('evidence-used')],
    want: 'indefinite',
    rule: 'flag',
  },
  {
    name: 'flag removed, case closed: the case archive period decides',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [closed('C-1', '2027-01-10T09:00:00+08:00')],
    flags: [unflagged('evidence-used')],
    want: '2057-01-11T00:00:00+08:00',
    rule: 'case-archive',
    ref: 'C-1',
  },
  {
    name: 'flag and hold: the flag first (a hold can be released by one supervisor)',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    holds: [held(3)],
    flags: [flagged('complaint')],
    want: 'indefinite',
    rule: 'flag',
    ref: 'complaint',
  },
  {
    name: 'flag removed, hold in force: the hold decides',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    holds: [held(3)],
    flags: [unflagged('complaint')],
    want: 'indefinite',
    rule: 'hold',
    ref: '3',
  },
  {
    name: 'one flag removed, another in force: the one in force',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    flags: [unflagged('complaint', 1), flagged('major-incident', 2)],
    want: 'indefinite',
    rule: 'flag',
    ref: 'major-incident',
  },
  {
    name: 'a flag the config no longer knows: kept (never deleted by a config edit)',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    flags: [flagged('retired-flag')],
    want: 'indefinite',
    rule: 'unknown-flag',
    ref: 'retired-flag',
  },
  {
    name: 'a local flag with a period (complaint: 2 years) outlasts patrol',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    flags: [flagged('complaint')],
    policy: policyIn('Asia/Shanghai', { flags: { complaint: { keep: { years: 2 } } } }),
    want: '2028-02-11T00:00:00+08:00',
    rule: 'flag',
    ref: 'complaint',
  },
  {
    name: 'a 2-year flag loses to an open case',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'evidence',
    cases: [open('C-5')],
    flags: [flagged('complaint')],
    policy: policyIn('Asia/Shanghai', { flags: { complaint: { keep: { years: 2 } } } }),
    want: 'indefinite',
    rule: 'open-case',
    ref: 'C-5',
  },
  {
    name: 'a policy without flags: any flag is unknown and kept',
    recordedAt: '2026-02-10T08:00:00+08:00',
    category: 'patrol',
    flags: [flagged('obstruction')],
    policy: policyIn('Asia/Shanghai', { flags: {} }),
    want: 'indefinite',
    rule: 'unknown-flag',
  },
]

t.test('deadline table', async (t) => {
  for (const row of rows) {
    const d = deadline(rec(row.recordedAt, row.category, row.important), row.cases ?? [], row.holds ?? [], row.policy ?? SH, row.flags ?? [])
    const got = d.deadline === 'indefinite' ? 'indefinite' : d.deadline.toISOString()
    const want = row.want === 'indefinite' ? 'indefinite' : new Date(row.want).toISOString()
    t.equal(got, want, `${row.name}: deadline`)
    t.equal(d.rule, row.rule, `${row.name}: rule`)
    if (row.ref !== undefined) t.equal(d.ref, row.ref, `${row.name}: ref`)
    t.ok(d.candidates.length >= 1, `${row.name}: candidates listed`)
  }
})

t.test('the function is pure: same input, same output, inputs untouched', async (t) => {
  const r = rec('2026-08-31T10:00:00+08:00', 'evidence')
  const cases = [closed('A', '2026-09-01T10:00:00+08:00')]
  const before = JSON.stringify([r, cases])
  const a = deadline(r, cases, [], SH)
  const b = deadline(r, cases, [], SH)
  t.same(a, b)
  t.equal(JSON.stringify([r, cases]), before)
})

t.test('periods in days, and the grace period', async (t) => {
  t.equal(
    periodEnd('2026-02-10T08:00:00+08:00', { days: 30 }, 'Asia/Shanghai').toISOString(),
    new Date('2026-03-13T00:00:00+08:00').toISOString(),
    'day of recording not counted; 30 days end on 12 Mar',
  )
  const d = new Date('2027-03-01T00:00:00+08:00')
  t.equal((purgeAfter(d, SH) as Date).toISOString(), new Date('2027-03-08T00:00:00+08:00').toISOString(), '7 days of grace by default')
  t.equal(purgeAfter('indefinite', SH), 'indefinite')
  const berlin = policyIn('Europe/Berlin')
  t.equal(
    (purgeAfter(new Date('2027-03-25T00:00:00+01:00'), berlin) as Date).toISOString(),
    new Date('2027-04-01T00:00:00+02:00').toISOString(),
    'grace counted in station days across a DST change',
  )
})

t.test('config checks what the schema cannot', async (t) => {
  const bad = { ...defaults.retention, purge: { ...defaults.retention.purge, schedule: 'every night' } }
  t.throws(
    () => retentionPolicy({ station: { timezone: 'Asia/Shanghai' }, retention: bad }),
    /retention\.purge\.schedule: "every night" is not a cron expression/,
  )
  const badZone = { ...defaults.retention, purge: { ...defaults.retention.purge, timezone: 'Moon/Base' } }
  t.throws(() => retentionPolicy({ station: { timezone: 'Asia/Shanghai' }, retention: badZone }), /retention\.purge\.timezone: "Moon\/Base"/)
})
