/**
 * Pure parsers for what ffmpeg and ffprobe print, and for recorder GPS
 * sidecars. No I/O; nothing here throws on odd input (except for an invalid
 * configured time zone, which is a configuration error, not a media one).
 */
import { DateTime, FixedOffsetZone, IANAZone } from 'luxon'

export type MediaKind = 'video' | 'audio' | 'photo' | 'unknown'

export interface ProbeVideo {
  codec: string
  width: number | null
  height: number | null
  /** Average frame rate (falls back to r_frame_rate), 3 decimals. */
  fps: number | null
  pixFmt: string | null
  /**
   * Display rotation, 0..359, in ffprobe's display-matrix convention; 90 or
   * 270 mean the picture is shown with width and height swapped.
   */
  rotation: number
}

export interface ProbeAudio {
  codec: string
  sampleRate: number | null
  channels: number | null
}

/**
 * How the creation time was read:
 * - 'utc': a value without a usable offset (or with Z) taken as UTC, as the
 *   MP4/QuickTime spec says;
 * - 'camera-local': the wall-clock digits were taken as local time in the
 *   configured camera time zone (any Z in the raw value is ignored, because
 *   those cameras write local time followed by a meaningless Z);
 * - 'explicit-offset': the raw value carried a non-zero UTC offset (e.g.
 *   QuickTime's creationdate `2024-05-01T08:30:00+0800`), which is trusted.
 */
export type CreationTimeInterpretation = 'utc' | 'camera-local' | 'explicit-offset'

export interface ProbeCreationTime {
  /** The instant, ISO 8601 in UTC with milliseconds (`2024-05-01T00:30:00.000Z`). */
  utc: string
  /** The wall-clock offset at the place of recording (`+08:00`). */
  offset: string
  /** The same instant as local wall time with that offset (`2024-05-01T08:30:00.000+08:00`). */
  local: string
  interpretedAs: CreationTimeInterpretation
  /** The tag value as ffprobe printed it. */
  raw: string
  /** Which tag it came from, e.g. `format:creation_time`, `stream0:creation_time`. */
  source: string
}

export interface GpsFix {
  lat: number
  lon: number
  /** Altitude in metres when the ISO 6709 string has one. */
  alt?: number
  /** Where it came from, e.g. `format:location`, `stream0:com.apple.quicktime.location.ISO6709`. */
  source: string
}

export interface ProbeResult {
  kind: MediaKind
  /** ffprobe's demuxer name list (`mov,mp4,m4a,3gp,3g2,mj2`, `avi`, `wav`, `image2`), '' if unknown. */
  container: string
  durationSec: number | null
  bitRate: number | null
  sizeBytes: number | null
  video?: ProbeVideo
  audio?: ProbeAudio
  creationTime?: ProbeCreationTime
  gps?: GpsFix
  tags: {
    format: Record<string, string>
    streams: Record<string, string>[]
  }
}

export interface ParseProbeOptions {
  /** IANA zone of the camera clock, e.g. 'Asia/Shanghai'. */
  cameraTimeZone: string
  /** The camera writes local wall time into creation_time (common on body cams). */
  creationTimeIsLocal: boolean
}

/** Thrown by parseProbe for an invalid configured time zone. */
export class ProbeOptionsError extends Error {
  readonly code = 'MEDIA_BAD_TIMEZONE' as const
  constructor(message: string) {
    super(message)
    this.name = 'ProbeOptionsError'
  }
}

// ---------------------------------------------------------------------------
// small helpers for untyped JSON

type Obj = Record<string, unknown>

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(v: unknown): string | null {
  if (typeof v === 'string') return v
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return null
}

/** A finite number from a number or a numeric string ('N/A' and friends give null). */
function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (typeof v === 'string' && /^\s*-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?\s*$/i.test(v)) {
    const n = Number(v)
    return Number.isFinite(n) ? n : null
  }
  return null
}

function nonNegative(v: unknown): number | null {
  const n = num(v)
  return n !== null && n >= 0 ? n : null
}

function positiveInt(v: unknown): number | null {
  const n = num(v)
  return n !== null && n > 0 && Number.isInteger(n) ? n : null
}

function tagsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isObj(v)) return out
  for (const [k, val] of Object.entries(v)) {
    const s = str(val)
    if (s !== null) out[k] = s
  }
  return out
}

function rate(v: unknown): number | null {
  const s = str(v)
  if (s === null) return null
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(s.trim())
  if (!m) return null
  const n = Number(m[1])
  const d = m[2] === undefined ? 1 : Number(m[2])
  if (!(n > 0) || !(d > 0)) return null
  return Math.round((n / d) * 1000) / 1000
}

function rotationOf(stream: Obj, tags: Record<string, string>): number {
  // ffprobe's display-matrix rotation (side data), falling back to the legacy
  // `rotate` tag, which uses the opposite sign. Normalised to 0..359 in the
  // display-matrix convention; what callers rely on is only whether it is
  // 90/270 (the frame is shown with width and height swapped).
  let deg: number | null = null
  const sideData = stream['side_data_list']
  if (Array.isArray(sideData)) {
    for (const sd of sideData) {
      if (isObj(sd) && sd['rotation'] !== undefined) {
        deg = num(sd['rotation'])
        if (deg !== null) break
      }
    }
  }
  if (deg === null && tags['rotate'] !== undefined) {
    const legacy = num(tags['rotate'])
    if (legacy !== null) deg = -legacy
  }
  if (deg === null) return 0
  return ((Math.round(deg) % 360) + 360) % 360
}

// Codecs ffmpeg uses for still images.
const IMAGE_CODECS = new Set(['mjpeg', 'jpegls', 'png', 'bmp', 'gif', 'tiff', 'webp', 'jpeg2000', 'jpegxl', 'ppm', 'pgm', 'pam', 'hevc_image'])

function isImageContainer(formatName: string): boolean {
  return formatName.split(',').some((f) => f === 'image2' || f === 'image2pipe' || f.endsWith('_pipe'))
}

// ---------------------------------------------------------------------------
// creation time

const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i

/** Years before this are placeholders from cameras with an unset clock (1904/1970 epochs). */
const MIN_PLAUSIBLE_YEAR = 1980

function checkZone(zone: string): void {
  if (typeof zone !== 'string' || !IANAZone.isValidZone(zone)) {
    throw new ProbeOptionsError(`cameraTimeZone ${JSON.stringify(zone)} is not a valid IANA time zone`)
  }
}

/**
 * Interpret a creation time string. Exported for tests and for sidecar
 * timestamps; returns undefined for anything unparseable or implausible.
 */
export function interpretCreationTime(raw: string, opts: ParseProbeOptions, source = 'creation_time'): ProbeCreationTime | undefined {
  checkZone(opts.cameraTimeZone)
  const m = TS_RE.exec(raw.trim())
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, frac, zoneRaw] = m
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000)
  const parts = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s),
    millisecond: ms,
  }
  if (parts.year < MIN_PLAUSIBLE_YEAR) return undefined

  let explicitOffsetMin: number | null = null
  if (zoneRaw !== undefined && !/^(Z|UTC)$/i.test(zoneRaw)) {
    const om = /^([+-])(\d{2}):?(\d{2})?$/.exec(zoneRaw)
    if (om) {
      const sign = om[1] === '-' ? -1 : 1
      explicitOffsetMin = sign * (Number(om[2]) * 60 + Number(om[3] ?? '0'))
    }
  }

  let instant: DateTime
  let interpretedAs: CreationTimeInterpretation
  if (explicitOffsetMin !== null && explicitOffsetMin !== 0) {
    // A real offset is information the camera chose to write: trust it.
    instant = DateTime.fromObject(parts, { zone: FixedOffsetZone.instance(explicitOffsetMin) })
    interpretedAs = 'explicit-offset'
  } else if (opts.creationTimeIsLocal) {
    // DST gaps/overlaps: luxon moves a non-existent wall time forward and
    // picks the earlier of two ambiguous instants.
    instant = DateTime.fromObject(parts, { zone: opts.cameraTimeZone })
    interpretedAs = 'camera-local'
  } else {
    instant = DateTime.fromObject(parts, { zone: 'utc' })
    interpretedAs = 'utc'
  }
  if (!instant.isValid) return undefined

  const local = interpretedAs === 'explicit-offset' ? instant : instant.setZone(opts.cameraTimeZone)
  const utc = instant.toUTC().toISO()
  const localIso = local.toISO()
  if (utc === null || localIso === null) return undefined
  return {
    utc,
    offset: local.toFormat('ZZ'),
    local: localIso,
    interpretedAs,
    raw,
    source,
  }
}

// Tags that may hold the recording time, in order of preference.
const CREATION_TAGS = ['creation_time', 'com.apple.quicktime.creationdate', 'date', 'DATE', 'creation_date']

function findCreationTime(formatTags: Record<string, string>, streamTags: Record<string, string>[], opts: ParseProbeOptions): ProbeCreationTime | undefined {
  for (const key of CREATION_TAGS) {
    const v = formatTags[key]
    if (v !== undefined) {
      const ct = interpretCreationTime(v, opts, `format:${key}`)
      if (ct) return ct
    }
  }
  for (const key of CREATION_TAGS) {
    for (let i = 0; i < streamTags.length; i++) {
      const v = streamTags[i]?.[key]
      if (v !== undefined) {
        const ct = interpretCreationTime(v, opts, `stream${i}:${key}`)
        if (ct) return ct
      }
    }
  }
  return undefined
}

// ---------------------------------------------------------------------------
// ISO 6709 location

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

function findGps(formatTags: Record<string, string>, streamTags: Record<string, string>[]): GpsFix | undefined {
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

// ---------------------------------------------------------------------------
// parseProbe

function unknownResult(): ProbeResult {
  return {
    kind: 'unknown',
    container: '',
    durationSec: null,
    bitRate: null,
    sizeBytes: null,
    tags: { format: {}, streams: [] },
  }
}

/**
 * Normalize `ffprobe -of json -show_format -show_streams` output. Never throws
 * on odd JSON: anything unrecognisable yields kind 'unknown'. Throws
 * ProbeOptionsError only when `opts.cameraTimeZone` is not a valid IANA zone.
 */
export function parseProbe(json: unknown, opts: ParseProbeOptions): ProbeResult {
  checkZone(opts.cameraTimeZone)
  let doc: unknown = json
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc) as unknown
    } catch {
      return unknownResult()
    }
  }
  if (!isObj(doc)) return unknownResult()

  const format = isObj(doc['format']) ? doc['format'] : {}
  const rawStreams = Array.isArray(doc['streams']) ? doc['streams'].filter(isObj) : []
  const formatTags = tagsOf(format['tags'])
  const streamTags = rawStreams.map((s) => tagsOf(s['tags']))
  const container = str(format['format_name']) ?? ''

  let videoStream: Obj | undefined
  let videoTags: Record<string, string> = {}
  let audioStream: Obj | undefined
  rawStreams.forEach((s, i) => {
    const type = s['codec_type']
    const disposition = isObj(s['disposition']) ? s['disposition'] : {}
    if (type === 'video' && videoStream === undefined && num(disposition['attached_pic']) !== 1) {
      videoStream = s
      videoTags = streamTags[i] ?? {}
    } else if (type === 'audio' && audioStream === undefined) {
      audioStream = s
    }
  })

  const result: ProbeResult = {
    kind: 'unknown',
    container,
    durationSec: nonNegative(format['duration']),
    bitRate: nonNegative(format['bit_rate']),
    sizeBytes: nonNegative(format['size']),
    tags: { format: formatTags, streams: streamTags },
  }

  if (videoStream !== undefined) {
    result.video = {
      codec: str(videoStream['codec_name']) ?? 'unknown',
      width: positiveInt(videoStream['width']),
      height: positiveInt(videoStream['height']),
      fps: rate(videoStream['avg_frame_rate']) ?? rate(videoStream['r_frame_rate']),
      pixFmt: str(videoStream['pix_fmt']),
      rotation: rotationOf(videoStream, videoTags),
    }
  }
  if (audioStream !== undefined) {
    result.audio = {
      codec: str(audioStream['codec_name']) ?? 'unknown',
      sampleRate: positiveInt(audioStream['sample_rate']),
      channels: positiveInt(audioStream['channels']),
    }
  }

  if (videoStream !== undefined) {
    const codec = result.video?.codec ?? ''
    const frames = num(videoStream['nb_frames'])
    const still = audioStream === undefined && IMAGE_CODECS.has(codec) && (isImageContainer(container) || frames === 1)
    result.kind = still ? 'photo' : 'video'
  } else if (audioStream !== undefined) {
    result.kind = 'audio'
  }
  if (result.kind === 'photo') {
    // image2 reports one frame at 25 fps as a 0.04 s "duration"; a photo has none.
    result.durationSec = null
    if (result.video) result.video.fps = null
  }

  const ct = findCreationTime(formatTags, streamTags, opts)
  if (ct) result.creationTime = ct
  const gps = findGps(formatTags, streamTags)
  if (gps) result.gps = gps
  return result
}

// ---------------------------------------------------------------------------
// SRT GPS sidecars

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

// ---------------------------------------------------------------------------
// -progress pipe:1

export interface ProgressEvent {
  /** Output position in seconds, null while ffmpeg reports N/A. */
  outTimeSec: number | null
  /** Encoding speed as a multiple of real time (`1.5x` -> 1.5), null if N/A. */
  speed: number | null
  /** True on the final block (`progress=end`). */
  done: boolean
}

export interface ProgressState {
  /** Text after the last newline, waiting for the rest of its line. */
  partial: string
  /** Key/values of the block being read. */
  block: Record<string, string>
}

export function initialProgressState(): ProgressState {
  return { partial: '', block: {} }
}

function outTimeOf(block: Record<string, string>): number | null {
  // ffmpeg's out_time_ms is, despite its name, in microseconds (same as out_time_us).
  for (const key of ['out_time_us', 'out_time_ms']) {
    const v = block[key]
    if (v !== undefined) {
      const n = num(v)
      if (n !== null && n >= 0) return n / 1e6
    }
  }
  const t = block['out_time']
  if (t !== undefined) {
    const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(t.trim())
    if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])
  }
  return null
}

/**
 * Incremental parser for `ffmpeg -progress pipe:1`. Feed it chunks as they
 * arrive (split anywhere); it returns the new state and one event per
 * completed block (a block ends with a `progress=continue|end` line).
 */
export function parseProgress(state: ProgressState, chunk: string): { state: ProgressState; events: ProgressEvent[] } {
  const text = state.partial + chunk
  const lines = text.split('\n')
  const partial = lines.pop() ?? ''
  let block = { ...state.block }
  const events: ProgressEvent[] = []
  for (const rawLine of lines) {
    const line = rawLine.replace(/\r$/, '')
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const key = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    if (key === 'progress') {
      const speedM = /^(\d+(?:\.\d+)?(?:e[+-]?\d+)?)x$/i.exec(block['speed'] ?? '')
      events.push({
        outTimeSec: outTimeOf(block),
        speed: speedM ? Number(speedM[1]) : null,
        done: value === 'end',
      })
      block = {}
    } else {
      block[key] = value
    }
  }
  return { state: { partial, block }, events }
}

// ---------------------------------------------------------------------------
// ffmpeg -version / -encoders (for doctor)

/** `ffmpeg version 5.1.9-0+deb12u1 Copyright ...` -> `5.1.9-0+deb12u1`. */
export function parseFfmpegVersion(text: string): string | null {
  const m = /^\s*ff(?:mpeg|probe) version (\S+)/m.exec(text)
  return m?.[1] ?? null
}

/** Encoder names from `ffmpeg -encoders` (lines like ` V....D libx264   ...`). */
export function parseEncoderList(text: string): Set<string> {
  const out = new Set<string>()
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([VAS][F.][S.][X.][B.][D.])\s+(\S+)/.exec(line)
    if (m?.[2] !== undefined && m[2] !== '=') out.add(m[2])
  }
  return out
}
