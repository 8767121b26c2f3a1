import type { MessageKey } from '../lib/i18n.js'
import { t } from '../lib/locale.svelte.js'

/** A recording as the API serves it (src/api/schemas.ts recordingSchema). */
export interface Recording {
  id: number
  sha256: string
  size: number
  kind: string
  sourcePath: string
  stationId: string
  deviceId: string | null
  officerId: string | null
  recordedAt: string
  recordedOffset: string
  recordedSource: string
  important: boolean
  category: string | null
  caseNumber: string | null
  ingestedAt: string
  status: string
}

const KNOWN = ['patrol', 'inspection', 'evidence', 'hearing', 'enforcement', 'service']

/** A category in the glossary's words (日常巡查 ...); a category the config added shows as it is named there. */
export function categoryName(c: string): string {
  return KNOWN.includes(c) ? t(`clerks.category.${c}` as MessageKey) : c
}

/** Who may read footage, and so a GPS track (src/api/roles.ts: media:read). */
export const canSeeFootage = (roles: readonly string[]): boolean => roles.some((r) => r === 'clerk' || r === 'supervisor' || r === 'officer')

const RULES = [
  'flag',
  'unknown-flag',
  'hold',
  'open-case',
  'case-archive',
  'unknown-case-type',
  'awaiting-case',
  'category-period',
  'uncategorised',
  'unknown-category',
]
const FLAGS = ['evidence-used', 'obstruction', 'major-incident', 'complaint']

/** A retention flag in the glossary's words; a flag the config added shows as it is named there. */
export function flagName(f: string): string {
  return FLAGS.includes(f) ? t(`clerks.flag.${f}` as MessageKey) : f
}

/**
 * Why a recording is kept until its deadline (src/retention/policy.ts RuleCode), in words, with what the
 * rule is about (a flag, a case number, a category); a rule this page does not know shows as it is named.
 */
export function ruleName(rule: string, ref: string | null): string {
  const name = RULES.includes(rule) ? t(`clerks.rule.${rule}` as MessageKey) : rule
  if (!ref) return name
  const about = rule === 'flag' || rule === 'unknown-flag' ? flagName(ref) : rule === 'category-period' || rule === 'awaiting-case' ? categoryName(ref) : ref
  return t('clerks.rule.about', { rule: name, about })
}
