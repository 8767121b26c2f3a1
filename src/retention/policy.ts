import { DateTime } from 'luxon'

/**
 * The retention rule, as ONE pure function: no clock, no database, no I/O.
 * Given a recording, the cases it is linked to, its holds and the policy,
 * `deadline` says from when the recording may be deleted (or that it may
 * never be, for now) and which rule decided it.
 *
 * How periods are counted (the rule for dates, decided here and tested in
 * test/retention-policy.test.ts): as the PRC Civil Code counts periods
 * (arts. 201-203) in the STATION's time zone (config station.timezone):
 *  - the day of the recording (or of the case's closing) is not counted;
 *  - a period of N months/years ends on the corresponding day of the last
 *    month; where that month has no such day, on its last day (clamp to the
 *    month end: 31 Aug + 6 months ends on 28 Feb, or 29 Feb in a leap year);
 *    a period of N days ends N days after the start day;
 *  - the period's last day is kept whole (until 24:00).
 * So the deadline, the first instant at which deletion is allowed, is
 * 00:00 station time of the day AFTER the last day: a patrol clip recorded
 * on 2026-08-31 is kept through 2027-02-28 and may go from 2027-03-01T00:00
 * (+08:00 at a station in Asia/Shanghai). A clip recorded at 23:30 station
 * time counts from that station day even when it is already the next day in
 * UTC. (A last day falling on a public holiday is not extended: that would
 * only ever keep footage longer, never shorter, and holidays are not known
 * here.)
 */

/** A calendar period. */
export interface Period {
  years?: number
  months?: number
  days?: number
}

export interface RetentionPolicy {
  /** IANA zone in which days are counted (station.timezone). */
  timezone: string
  /** Per category: a minimum period after recording, or 'case' (as long as the linked cases). */
  categories: Record<string, { keep: Period | 'case' }>
  /** Per case type: how long after closing the file (and its footage) is archived. */
  caseTypes: Record<string, { archive: Period | 'indefinite' }>
  /** A 'case' category recording that no case is linked to (yet). */
  unlinkedCaseFootage: Period | 'indefinite'
  /** Days between "due" and deletion, during which a case link or a hold can rescue it. */
  graceDays: number
  /**
   * Retention flags (公安机关现场执法视音频记录工作规定 2016, art. 13, and local rules):
   * per flag, `permanent` or a minimum period after recording. Optional: a policy
   * without flags knows none (a flag it meets is kept, as an unknown case type is).
   */
  flags?: Record<string, { keep: Period | 'permanent' }>
}

/** What the rule needs of a recording. */
export interface PolicyRecording {
  /** UTC ISO instant. */
  recordedAt: string
  category: string | null
  important: boolean
}

export interface PolicyCase {
  number: string
  type: string
  status: 'open' | 'closed'
  /** UTC ISO instant; null while open. */
  closedAt: string | null
}

/**
 * A retention flag on the recording. Set by a clerk; removed only when a
 * supervisor, another person than the one who set it, approved its removal:
 * until then (a removal asked for and not yet approved) it counts.
 */
export interface PolicyFlag {
  id: number
  flag: string
  /** null while the flag is in force (its removal not approved). */
  removedAt: string | null
}

export interface PolicyHold {
  id: number
  /** null while the hold is in force. */
  releasedAt: string | null
}

export type RuleCode =
  | 'flag' // a retention flag is set (evidence-used, obstruction...): its keep rule
  | 'unknown-flag' // a flag the config does not know (any more): kept
  | 'hold' // a legal hold is in force
  | 'open-case' // linked to a case that is still open
  | 'case-archive' // linked to a closed case: closing date + archive period of its type
  | 'unknown-case-type' // linked to a closed case whose type the config does not know: kept
  | 'awaiting-case' // a case-length category with no case linked yet
  | 'category-period' // the category's own minimum period
  | 'uncategorised' // no category: the longest non-case period
  | 'unknown-category' // a category the config does not know: like uncategorised

export type Deadline = Date | 'indefinite'

export interface Candidate {
  rule: RuleCode
  /** What the rule is about: a hold id, a case number, a category. */
  ref: string | null
  deadline: Deadline
}

export interface Decision extends Candidate {
  /** Every rule that applied; the decision is the longest of them. */
  candidates: Candidate[]
}

/**
 * The deadline of one recording: the longest of every rule that applies.
 * `indefinite` is longer than any date. Holds and links to open cases make
 * it indefinite; a closed case gives closing date + archive period of its
 * type; the category gives its own minimum (patrol, inspection: 6 months);
 * a recording marked important on the camera and not yet categorised is
 * evidence. A retention flag in force keeps it by the flag's rule
 * (permanent for art. 13's flags). Ties go to the earlier candidate: flags
 * (permanent is the strongest reason to keep), holds, then cases in link
 * order, then the category.
 */
export function deadline(
  recording: PolicyRecording,
  caseLinks: readonly PolicyCase[],
  holds: readonly PolicyHold[],
  policy: RetentionPolicy,
  flags: readonly PolicyFlag[] = [],
): Decision {
  const zone = policy.timezone
  const candidates: Candidate[] = []

  for (const f of flags) {
    if (f.removedAt !== null) continue
    const keep = policy.flags?.[f.flag]?.keep
    if (keep === undefined) candidates.push({ rule: 'unknown-flag', ref: f.flag, deadline: 'indefinite' })
    else candidates.push({ rule: 'flag', ref: f.flag, deadline: keep === 'permanent' ? 'indefinite' : periodEnd(recording.recordedAt, keep, zone) })
  }

  for (const h of holds) if (h.releasedAt === null) candidates.push({ rule: 'hold', ref: String(h.id), deadline: 'indefinite' })

  for (const c of caseLinks) {
    if (c.status === 'open' || c.closedAt === null) {
      candidates.push({ rule: 'open-case', ref: c.number, deadline: 'indefinite' })
      continue
    }
    const archive = policy.caseTypes[c.type]?.archive
    if (archive === undefined) candidates.push({ rule: 'unknown-case-type', ref: c.number, deadline: 'indefinite' })
    else candidates.push({ rule: 'case-archive', ref: c.number, deadline: archive === 'indefinite' ? 'indefinite' : periodEnd(c.closedAt, archive, zone) })
  }

  const category = recording.category ?? (recording.important ? 'evidence' : null)
  const keep = category === null ? undefined : policy.categories[category]?.keep
  if (category === null || keep === undefined) {
    candidates.push({
      rule: category === null ? 'uncategorised' : 'unknown-category',
      ref: category,
      deadline: longestFixedPeriod(recording.recordedAt, policy),
    })
  } else if (keep === 'case') {
    if (caseLinks.length === 0) {
      const p = policy.unlinkedCaseFootage
      candidates.push({ rule: 'awaiting-case', ref: category, deadline: p === 'indefinite' ? 'indefinite' : periodEnd(recording.recordedAt, p, zone) })
    }
  } else {
    candidates.push({ rule: 'category-period', ref: category, deadline: periodEnd(recording.recordedAt, keep, zone) })
  }

  let best = candidates[0]!
  for (const c of candidates.slice(1)) if (later(c.deadline, best.deadline)) best = c
  return { ...best, candidates }
}

/** True when a is strictly later than b. */
export function later(a: Deadline, b: Deadline): boolean {
  if (a === 'indefinite') return b !== 'indefinite'
  if (b === 'indefinite') return false
  return a.getTime() > b.getTime()
}

/**
 * The first instant after a period that starts on the station day of `from`
 * (see the rule at the top of this file): 00:00 station time of the day after
 * the period's last day.
 */
export function periodEnd(from: string | Date, period: Period, zone: string): Date {
  const start = (typeof from === 'string' ? DateTime.fromISO(from, { zone: 'utc' }) : DateTime.fromJSDate(from)).setZone(zone)
  if (!start.isValid) throw new RangeError(`not a date: ${String(from)}`)
  const lastDay = start
    .startOf('day')
    .plus({ years: period.years ?? 0, months: period.months ?? 0 })
    .plus({ days: period.days ?? 0 })
  return lastDay.plus({ days: 1 }).startOf('day').toJSDate()
}

/** deadline + the grace period in whole station days: when the purge may actually delete. */
export function purgeAfter(d: Deadline, policy: Pick<RetentionPolicy, 'graceDays' | 'timezone'>): Deadline {
  if (d === 'indefinite') return d
  return DateTime.fromJSDate(d).setZone(policy.timezone).plus({ days: policy.graceDays }).toJSDate()
}

/** Uncategorised footage: the longest of the categories' own periods (indefinite when none has one). */
function longestFixedPeriod(recordedAt: string, policy: RetentionPolicy): Deadline {
  let best: Deadline | undefined
  for (const { keep } of Object.values(policy.categories)) {
    if (keep === 'case') continue
    const d = periodEnd(recordedAt, keep, policy.timezone)
    if (best === undefined || later(d, best)) best = d
  }
  return best ?? 'indefinite'
}

/** The stored form of a deadline: UTC ISO, or null for indefinite. */
export function deadlineToDb(d: Deadline): string | null {
  return d === 'indefinite' ? null : d.toISOString()
}

export function deadlineFromDb(s: string | null): Deadline {
  return s === null ? 'indefinite' : new Date(s)
}

/** The ledger form: UTC ISO or the word "indefinite". */
export function deadlineText(d: Deadline): string {
  return d === 'indefinite' ? 'indefinite' : d.toISOString()
}

/** One line saying which rule decided, for people. */
export function describeRule(rule: RuleCode, ref: string | null): string {
  switch (rule) {
    case 'flag':
      return `flag ${ref}`
    case 'unknown-flag':
      return `flag "${ref}" the config does not know: kept`
    case 'hold':
      return `legal hold #${ref}`
    case 'open-case':
      return `case ${ref} is open`
    case 'case-archive':
      return `case ${ref} closed + archive period`
    case 'unknown-case-type':
      return `case ${ref} has a type the config does not know: kept`
    case 'awaiting-case':
      return `${ref}: no case linked yet`
    case 'category-period':
      return `${ref}: category minimum`
    case 'uncategorised':
      return 'uncategorised: longest non-case period'
    case 'unknown-category':
      return `unknown category "${ref}": longest non-case period`
  }
}
