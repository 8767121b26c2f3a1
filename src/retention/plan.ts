import type { Db } from '../catalog/db.js'
import { purgedCount, recordingsForRetention, type RetentionFacts } from '../catalog/recordings.js'
import { decide } from './deadlines.js'
import { describeRule, purgeAfter, type Decision, type RetentionPolicy, type RuleCode } from './policy.js'

export interface PlanItem {
  recordingId: number
  sha256: string
  size: number
  category: string | null
  caseNumber: string | null
  recordedAt: string
  /** When it became (or becomes) due: the first instant deletion is allowed. */
  deadline: string
  /** deadline + grace: when the purge actually deletes it. */
  purgeAfter: string
  rule: RuleCode
  ruleRef: string | null
  why: string
  /** in-grace: due, still shown and rescuable (link a case, place a hold); purgeable: the next purge deletes it. */
  state: 'in-grace' | 'purgeable'
}

export interface RetentionCounts {
  /** Recordings still stored. */
  stored: number
  purged: number
  /** Stored recordings per deciding rule. */
  byRule: Record<RuleCode, number>
  /** Stored recordings per category ("(none)" for uncategorised). */
  byCategory: Record<string, number>
  /** Footage with no category (kept for the longest non-case period): the count the stats ask for. */
  uncategorised: number
  indefinite: number
  due: number
  inGrace: number
  purgeable: number
}

export interface RetentionPlan {
  at: string
  timezone: string
  graceDays: number
  items: PlanItem[]
  counts: RetentionCounts
}

/** The rule's decision for every stored recording, as the catalog stands (read only). */
export function* decisions(db: Db, policy: RetentionPolicy): Generator<{ r: RetentionFacts; d: Decision }> {
  for (const r of recordingsForRetention(db)) yield { r, d: decide(db, r, policy) }
}

/**
 * What is due at `now` (default: the real clock), when and by which rule.
 * Reads only: the same function backs `bodyvault retention plan` and the
 * API. Items are due (deadline passed); they are purgeable once the grace
 * period has passed too.
 */
export function retentionPlan(db: Db, policy: RetentionPolicy, now: Date = new Date()): RetentionPlan {
  const items: PlanItem[] = []
  const counts = emptyCounts()
  counts.purged = purgedCount(db)
  for (const { r, d } of decisions(db, policy)) {
    counts.stored++
    counts.byRule[d.rule]++
    const cat = r.category ?? '(none)'
    counts.byCategory[cat] = (counts.byCategory[cat] ?? 0) + 1
    if (r.category === null && !r.important) counts.uncategorised++
    if (d.deadline === 'indefinite') {
      counts.indefinite++
      continue
    }
    if (d.deadline.getTime() > now.getTime()) continue
    const after = purgeAfter(d.deadline, policy) as Date
    const state = after.getTime() <= now.getTime() ? 'purgeable' : 'in-grace'
    counts.due++
    if (state === 'purgeable') counts.purgeable++
    else counts.inGrace++
    items.push({
      recordingId: r.id,
      sha256: r.sha256,
      size: r.size,
      category: r.category,
      caseNumber: r.caseNumber,
      recordedAt: r.recordedAt,
      deadline: d.deadline.toISOString(),
      purgeAfter: after.toISOString(),
      rule: d.rule,
      ruleRef: d.ref,
      why: describeRule(d.rule, d.ref),
      state,
    })
  }
  items.sort((a, b) => (a.purgeAfter < b.purgeAfter ? -1 : a.purgeAfter > b.purgeAfter ? 1 : a.recordingId - b.recordingId))
  return { at: now.toISOString(), timezone: policy.timezone, graceDays: policy.graceDays, items, counts }
}

function emptyCounts(): RetentionCounts {
  const byRule: Record<RuleCode, number> = {
    flag: 0,
    'unknown-flag': 0,
    hold: 0,
    'open-case': 0,
    'case-archive': 0,
    'unknown-case-type': 0,
    'awaiting-case': 0,
    'category-period': 0,
    uncategorised: 0,
    'unknown-category': 0,
  }
  return { stored: 0, purged: 0, byRule, byCategory: {}, uncategorised: 0, indefinite: 0, due: 0, inGrace: 0, purgeable: 0 }
}
