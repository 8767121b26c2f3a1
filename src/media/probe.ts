/**
 * A pure parser for what ffprobe prints (`-of json -show_format
 * -show_streams`): the streams, the container, the creation time
 * (./creation-time.ts) and the location (./gps.ts). No I/O; nothing here
 * throws on odd input (except for an invalid configured time zone, which is
 * a configuration error, not a media one).
 */
import { checkZone, findCreationTime, type ParseProbeOptions, type ProbeCreationTime } from './creation-time.js'
import { findGps, type GpsFix } from './gps.js'

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
export function num(v: unknown): number | null {
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
