import { ApiError } from '../lib/api.js'
import type { MessageKey } from '../lib/i18n.js'
import { CATALOGS } from '../lib/i18n.js'
import { locale, t } from '../lib/locale.svelte.js'

/**
 * What an error means to the person in front of the page, and what to do:
 * the catalog's `auth.err.<CODE>` or `clerks.err.<CODE>` when there is one,
 * else a general sentence with the station's own message after it.
 */
export function explain(err: unknown): string {
  if (!(err instanceof ApiError)) return t('auth.err.unexpected', { message: err instanceof Error ? err.message : String(err) })
  for (const prefix of ['auth.err.', 'clerks.err.']) {
    const key = `${prefix}${err.code}`
    if (key in CATALOGS[locale.lang]) return t(key as MessageKey)
  }
  return t('auth.err.other', { message: err.message })
}
