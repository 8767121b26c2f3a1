import { type Lang, type MessageKey, type Params, pickLang, translate } from './i18n.js'

const STORE = 'bodyvault.lang'

function initial(): Lang {
  let stored: string | null = null
  try {
    stored = localStorage.getItem(STORE)
  } catch {
    // Storage may be disabled (a locked-down kiosk browser): the default language then.
  }
  return pickLang(new URLSearchParams(location.search).get('lang'), stored)
}

const first = initial()
document.documentElement.lang = first
let lang = $state<Lang>(first)

/** The current language, reactive: components that call t() re-render when it changes. */
export const locale = {
  get lang(): Lang {
    return lang
  },
  set(next: Lang): void {
    lang = next
    document.documentElement.lang = next
    try {
      localStorage.setItem(STORE, next)
    } catch {
      // Not kept across reloads then; the screen still switches.
    }
  },
}

export function t(key: MessageKey, params?: Params): string {
  return translate(lang, key, params)
}
