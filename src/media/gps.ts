/**
 * Where a recording was made: an ISO 6709 location tag (MP4/QuickTime), or
 * the positions in a recorder's .SRT GPS sidecar. Pure; never throws on odd
 * input: anything unreadable, out of range or 0,0 (no fix) gives nothing.
 */

export interface GpsFix {
  lat: number
  lon: number
  /** Altitude in metres when the ISO 6709 string has one. */
  alt?: number
  /** Where it came from, e.g. `format:location`, `stream0:com.apple.quicktime.location.ISO6709`. */
  source: string
}

/**
 * Parse an ISO 6709 point such as `+31.2304+121.4737/`,
 * `+31.2304+121.4737+010.000/`, `+3113.824+12128.422/` (degrees and decimal
 * minutes) or `+311349.4+1212825.3/` (degrees, minutes, seconds). Returns
 * undefined for anything else, for out-of-range values and for 0,0 (what
 * cameras without a fix write).
 */
export function parseIso6709(text: string): { lat: number; lon: number; alt?: number } | undefined {
  const m = /^\s*([+-])(\d+(?:\.\d+)?)([+-])(\d+(?:\.\d+)?)(?:([+-])(\d+(?:\.\d+)?))?(?:CRS[^/]*)?\/?\s*$/.exec(text)
  if (!m) return undefined
  const lat = sexagesimal(m[2] ?? '', 2)
  const lon = sexagesimal(m[4] ?? '', 3)
  if (lat === null || lon === null) return undefined
  const sLat = m[1] === '-' ? -lat : lat
  const sLon = m[3] === '-' ? -lon : lon
  if (!validLatLon(sLat, sLon)) return undefined
  const out: { lat: number; lon: number; alt?: number } = { lat: sLat, lon: sLon }
  if (m[5] !== undefined && m[6] !== undefined) {
    const alt = Number(m[6])
    if (Number.isFinite(alt)) out.alt = m[5] === '-' ? -alt : alt
  }
  return out
}

/** ISO 6709 number with `degDigits` integer digits of degrees, then optional MM and SS. */
function sexagesimal(s: string, degDigits: number): number | null {
  const [intPart = '', fracPart] = s.split('.')
  const frac = fracPart === undefined ? '' : `.${fracPart}`
  if (intPart.length <= degDigits) return Number(intPart + frac)
  if (intPart.length === degDigits + 2) {
    const deg = Number(intPart.slice(0, degDigits))
    const min = Number(intPart.slice(degDigits) + frac)
    return min < 60 ? deg + min / 60 : null
  }
  if (intPart.length === degDigits + 4) {
    const deg = Number(intPart.slice(0, degDigits))
    const min = Number(intPart.slice(degDigits, degDigits + 2))
    const sec = Number(intPart.slice(degDigits + 2) + frac)
    return min < 60 && sec < 60 ? deg + min / 60 + sec / 3600 : null
  }
  return null
}

function validLatLon(lat: number, lon: number): boolean {
  return Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && !(lat === 0 && lon === 0)
}

const LOCATION_TAGS = ['com.apple.quicktime.location.ISO6709', 'location', 'location-eng']

export function findGps(formatTags: Record<string, string>, streamTags: Record<string, string>[]): GpsFix | undefined {
  const scopes: [string, Record<string, string>][] = [['format', formatTags], ...streamTags.map((t, i): [string, Record<string, string>] => [`stream${i}`, t])]
  for (const [scope, tags] of scopes) {
    const keys = [...LOCATION_TAGS, ...Object.keys(tags).filter((k) => /^location-/.test(k) && !LOCATION_TAGS.includes(k))]
    for (const key of keys) {
      const v = tags[key]
      if (v === undefined) continue
      const p = parseIso6709(v)
      if (p) return { ...p, source: `${scope}:${key}` }
    }
  }
  return undefined
}

export interface SrtGpsPoint {
  /** Start of the subtitle cue, seconds from the beginning of the recording. */
  tSec: number
  lat: number
  lon: number
}

const SRT_TIMING = /^\s*(\d{1,3}):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->/
const NUM = '([+-]?\\d+(?:\\.\\d+)?)'
// GPS(lon,lat[,alt...]) as DJI-style recorders write it; see gpsFromTuple.
const GPS_TUPLE = new RegExp(`GPS\\s*\\(\\s*${NUM}\\s*,\\s*${NUM}`, 'i')
// [latitude: 31.2304] [longitude: 121.4737] (also DJI's "longtitude" typo).
const LAT_BRACKET = new RegExp(`\\[\\s*lat(?:itude)?\\s*[:=]\\s*${NUM}\\s*\\]`, 'i')
const LON_BRACKET = new RegExp(`\\[\\s*(?:lon|lng|longt?itude)\\s*[:=]\\s*${NUM}\\s*\\]`, 'i')
// N31.2304 E121.4737 (hemisphere letters, optional ':' or space).
const HEMI = /\b([NS])\s*:?\s*(\d{1,2}(?:\.\d+)?)[\s,;/]+([EW])\s*:?\s*(\d{1,3}(?:\.\d+)?)(?![\d.])/i

function gpsFromTuple(a: number, b: number): { lat: number; lon: number } {
  // The recorders this targets write longitude first. If the first value
  // cannot be a longitude-only value but the second can only be a longitude,
  // the order was (lat, lon): swap.
  if (Math.abs(a) <= 90 && Math.abs(b) > 90) return { lat: a, lon: b }
  return { lat: b, lon: a }
}

/** Extract one lat/lon from a subtitle line, in any of the three supported forms. */
export function parseGpsText(line: string): { lat: number; lon: number } | undefined {
  let p: { lat: number; lon: number } | undefined
  const t = GPS_TUPLE.exec(line)
  if (t) {
    p = gpsFromTuple(Number(t[1]), Number(t[2]))
  } else {
    const la = LAT_BRACKET.exec(line)
    const lo = LON_BRACKET.exec(line)
    if (la && lo) {
      p = { lat: Number(la[1]), lon: Number(lo[1]) }
    } else {
      const h = HEMI.exec(line)
      if (h) {
        const lat = Number(h[2]) * (h[1]?.toUpperCase() === 'S' ? -1 : 1)
        const lon = Number(h[4]) * (h[3]?.toUpperCase() === 'W' ? -1 : 1)
        p = { lat, lon }
      }
    }
  }
  return p && validLatLon(p.lat, p.lon) ? p : undefined
}

/**
 * GPS points from a recorder-style .SRT sidecar: one point per cue (the first
 * position found in the cue's text), timed by the cue start. Cues without a
 * position, with 0,0 (no fix) or out-of-range values are skipped. Tolerates
 * CRLF, a BOM and missing blank lines between cues.
 */
export function parseSrtGps(text: string): SrtGpsPoint[] {
  const out: SrtGpsPoint[] = []
  if (typeof text !== 'string') return out
  let cueStart: number | null = null
  let cueHasPoint = false
  for (const line of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const tm = SRT_TIMING.exec(line)
    if (tm) {
      cueStart = Number(tm[1]) * 3600 + Number(tm[2]) * 60 + Number(tm[3]) + Number((tm[4] ?? '0').padEnd(3, '0')) / 1000
      cueHasPoint = false
      continue
    }
    if (cueStart === null || cueHasPoint) continue
    const p = parseGpsText(line)
    if (p) {
      out.push({ tSec: cueStart, lat: p.lat, lon: p.lon })
      cueHasPoint = true
    }
  }
  return out
}
