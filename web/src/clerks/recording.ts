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
