/**
 * When a recording was made, as its tags say: which tag to believe and how
 * to read a time written without a zone (body cameras write local wall time,
 * often followed by a meaningless Z). Pure; throws only for an invalid
 * configured time zone (a configuration error, not a media one).
 */
import { DateTime, FixedOffsetZone, IANAZone } from 'luxon'

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

const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i

/** Years before this are placeholders from cameras with an unset clock (1904/1970 epochs). */
const MIN_PLAUSIBLE_YEAR = 1980

export function checkZone(zone: string): void {
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

export function findCreationTime(
  formatTags: Record<string, string>,
  streamTags: Record<string, string>[],
  opts: ParseProbeOptions,
): ProbeCreationTime | undefined {
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
