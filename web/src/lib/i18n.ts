import { en } from './messages/en.js'
import { type MessageKey, type Messages, zhCN } from './messages/zh-CN.js'

export type { MessageKey } from './messages/zh-CN.js'

/** The front end's languages: Simplified Chinese first (the default), then English. */
export const LANGS = ['zh-CN', 'en'] as const
export type Lang = (typeof LANGS)[number]
export type Params = Record<string, string | number>

export const CATALOGS: Record<Lang, Messages> = { 'zh-CN': zhCN, en }

/** A message of `lang` with its `{name}` placeholders filled from `params` (a missing one stays visible, never silently empty). */
export function translate(lang: Lang, key: MessageKey, params?: Params): string {
  return CATALOGS[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) => (params && params[name] !== undefined ? String(params[name]) : whole))
}

/** The language to show: ?lang= in the address, else the one this browser chose last, else Chinese. */
export function pickLang(query: string | null, stored: string | null): Lang {
  for (const v of [query, stored]) if (v && (LANGS as readonly string[]).includes(v)) return v as Lang
  return 'zh-CN'
}
