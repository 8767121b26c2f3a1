import { type Lang, translate } from './i18n.js'

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const

/** Bytes in decimal units (what a camera's capacity is sold in), three significant digits. */
export function formatBytes(lang: Lang, n: number): string {
  let v = Math.max(0, n)
  let i = 0
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000
    i++
  }
  const shown = i === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
  return translate(lang, `unit.${UNITS[i]!}`, { n: shown })
}

/** A duration as people say it: "45 秒", "3 分 20 秒", "1 小时 5 分". */
export function formatDuration(lang: Lang, seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return translate(lang, 'duration.s', { s })
  if (s < 3600) return translate(lang, 'duration.ms', { m: Math.floor(s / 60), s: s % 60 })
  return translate(lang, 'duration.hm', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) })
}

/** Hours and minutes of an ISO time, in the browser's time zone (the station's own PC). */
export function formatClock(lang: Lang, iso: string): string {
  return new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(iso))
}
