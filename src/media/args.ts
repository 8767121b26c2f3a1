/**
 * Pure builders for ffmpeg / ffprobe argument lists (no I/O, no process
 * spawning: see ./ffmpeg.ts for the one adapter that runs them).
 *
 * Every builder returns a {@link CommandSpec}: the tool to run and its argv as
 * data, so tests can compare exact arrays and nothing ever goes through a
 * shell. Decisions encoded here:
 *
 * - Inputs and outputs are passed with the `file:` protocol prefix so that a
 *   path can never be read as another protocol (`concat:`, `http:`,
 *   `subfile,,...:`), and paths are additionally rejected when empty, starting
 *   with `-`, or containing NUL / newline characters.
 * - Outputs always carry an explicit `-f` because callers write to temporary
 *   paths (`<id>.mp4.tmp`) whose extension says nothing; the caller renames the
 *   finished file into place only after the run succeeded.
 * - Proxies carry no camera metadata: `-map_metadata -1 -map_chapters -1`
 *   drops global, stream and chapter tags (serial numbers, officer ids, GPS).
 *   The only tag written back is `creation_time`, and only when the caller
 *   passes the *normalized* UTC instant from probe.ts, so a player shows the
 *   correct time even for cameras that store local wall time in the field.
 * - Video proxies: H.264 (libx264) yuv420p, scaled down only (never up) to at
 *   most `maxHeight`, even dimensions, aspect kept; a key frame every 2 s so
 *   browsers can seek quickly; AAC audio if the original has audio, otherwise
 *   no audio track at all (no synthetic silence: an evidence proxy should not
 *   suggest an audio recording that never existed); `+faststart`.
 * - Remuxed proxies (remuxProxyArgs) copy the streams as they are; the same
 *   tags are dropped and `+faststart` is set.
 * - Thumbnails are a single baseline JPEG written with the raw `mjpeg` muxer
 *   (not `image2`, whose file names are printf patterns: a `%` in a path would
 *   be misread), scaled down only to `width`; a video's is its key frame at or
 *   before the seek position, the one frame decoded.
 * - A remuxed video proxy and its thumbnail can be one run with two inputs
 *   of the same file and two outputs (remuxWithThumbnailArgs).
 */

import { encoderArgs, type EncoderArgs } from './encoders.js'

export type MediaTool = 'ffmpeg' | 'ffprobe'

export interface CommandSpec {
  cmd: MediaTool
  args: string[]
  /**
   * The file this command writes, if any. The adapter deletes it when the run
   * fails, times out or is aborted, and checks it is non-empty on success. It
   * is always a temporary path: the caller renames it into place.
   */
  output?: string
  /** Further files the same run writes (a remux's thumbnail): removed and checked like `output`. */
  extraOutputs?: string[]
}

export type MediaArgsErrorField = 'input' | 'output' | 'crf' | 'preset' | 'maxHeight' | 'audioBitrate' | 'threads' | 'atSeconds' | 'width' | 'creationTime'

/** Thrown by the builders for arguments that must never reach ffmpeg. */
export class MediaArgsError extends Error {
  readonly code = 'MEDIA_BAD_ARGS' as const
  readonly field: MediaArgsErrorField
  constructor(field: MediaArgsErrorField, message: string) {
    super(message)
    this.name = 'MediaArgsError'
    this.field = field
  }
}

export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'] as const
export type X264Preset = (typeof X264_PRESETS)[number]

export interface VideoProxyOptions {
  /** Maximum output height in pixels; smaller inputs keep their size. Default 720. */
  maxHeight?: number
  /** libx264 preset. Default 'veryfast'. */
  preset?: string
  /** libx264 CRF, 0..51. Default 28. */
  crf?: number
  /** AAC bitrate such as '128k'. Default '128k'. */
  audioBitrate?: string
  /** Whether the original has an audio stream (from parseProbe). */
  hasAudio: boolean
  /** Encoder thread count; omitted means ffmpeg decides. */
  threads?: number
  /** Normalized UTC creation time (ISO, ending in Z) to stamp on the proxy. */
  creationTime?: string
  /** A hardware encoder's argv pieces (./encoders.ts); default libx264 with `preset` and `crf`. */
  encoder?: EncoderArgs
}

export interface AudioProxyOptions {
  /** AAC bitrate such as '128k'. Default '128k'. */
  audioBitrate?: string
  threads?: number
  /** Normalized UTC creation time (ISO, ending in Z) to stamp on the proxy. */
  creationTime?: string
}

export interface ThumbnailOptions {
  /**
   * Seek position for videos (callers pass ~10% of the duration). Omit for
   * photos: the single frame is just scaled.
   */
  atSeconds?: number
  /** Maximum output width in pixels; smaller inputs keep their size. Default 320. */
  width?: number
}

export const VIDEO_PROXY_DEFAULTS = {
  maxHeight: 720,
  preset: 'veryfast',
  crf: 28,
  audioBitrate: '128k',
} as const

export const THUMBNAIL_DEFAULT_WIDTH = 320

/** Options shared by every ffmpeg invocation: quiet, no stdin, overwrite the temp output. */
const FFMPEG_COMMON = ['-hide_banner', '-nostdin', '-v', 'error', '-nostats'] as const
/** Machine-readable progress on stdout, parsed by parseProgress in probe.ts. */
const PROGRESS = ['-progress', 'pipe:1'] as const

function checkPath(field: 'input' | 'output', p: unknown): string {
  if (typeof p !== 'string' || p.length === 0) {
    throw new MediaArgsError(field, `${field} path must be a non-empty string`)
  }
  if (p.startsWith('-')) {
    throw new MediaArgsError(field, `${field} path must not start with '-': ${JSON.stringify(p)}`)
  }
  if (/[\0\r\n]/.test(p)) {
    throw new MediaArgsError(field, `${field} path must not contain NUL or line breaks`)
  }
  return p
}

function checkInOut(input: string, output: string): void {
  checkPath('input', input)
  checkPath('output', output)
  if (input === output) {
    throw new MediaArgsError('output', 'output path must differ from the input path')
  }
}

function fileUrl(p: string): string {
  return `file:${p}`
}

function checkInt(field: MediaArgsErrorField, v: number, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new MediaArgsError(field, `${field} must be an integer in ${min}..${max}, got ${String(v)}`)
  }
  return v
}

function checkPreset(preset: string): X264Preset {
  if (!(X264_PRESETS as readonly string[]).includes(preset)) {
    throw new MediaArgsError('preset', `unknown x264 preset ${JSON.stringify(preset)}; expected one of ${X264_PRESETS.join(', ')}`)
  }
  return preset as X264Preset
}

function checkBitrate(b: string): string {
  if (typeof b !== 'string' || !/^[1-9][0-9]{0,3}k$/.test(b)) {
    throw new MediaArgsError('audioBitrate', `audioBitrate must look like '128k', got ${JSON.stringify(b)}`)
  }
  return b
}

const UTC_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/

function metadataArgs(creationTime: string | undefined): string[] {
  const out = ['-map_metadata', '-1', '-map_chapters', '-1']
  if (creationTime !== undefined) {
    if (typeof creationTime !== 'string' || !UTC_ISO.test(creationTime)) {
      throw new MediaArgsError('creationTime', `creationTime must be a UTC ISO timestamp ending in Z, got ${JSON.stringify(creationTime)}`)
    }
    out.push('-metadata', `creation_time=${creationTime}`)
  }
  return out
}

function threadArgs(threads: number | undefined): string[] {
  if (threads === undefined) return []
  return ['-threads', String(checkInt('threads', threads, 1, 64))]
}

/** ffprobe: JSON with format, streams and chapters. Stdout is the JSON document. */
export function probeArgs(input: string): CommandSpec {
  checkPath('input', input)
  return {
    cmd: 'ffprobe',
    args: ['-hide_banner', '-v', 'error', '-of', 'json', '-show_format', '-show_streams', '-show_chapters', fileUrl(input)],
  }
}

/**
 * The scale filter for a proxy: height min(maxHeight, ih) rounded down to
 * even, width derived from the aspect ratio and rounded to even (-2).
 */
export function proxyScaleFilter(maxHeight: number): string {
  return `scale=-2:'min(${maxHeight},trunc(ih/2)*2)',format=yuv420p`
}

/** H.264/AAC MP4 proxy (faststart) written to a temporary `output`. */
export function videoProxyArgs(input: string, output: string, opts: VideoProxyOptions): CommandSpec {
  checkInOut(input, output)
  const maxHeight = checkInt('maxHeight', opts.maxHeight ?? VIDEO_PROXY_DEFAULTS.maxHeight, 16, 4320)
  const preset = checkPreset(opts.preset ?? VIDEO_PROXY_DEFAULTS.preset)
  const crf = checkInt('crf', opts.crf ?? VIDEO_PROXY_DEFAULTS.crf, 0, 51)
  const audioBitrate = checkBitrate(opts.audioBitrate ?? VIDEO_PROXY_DEFAULTS.audioBitrate)
  const audio = opts.hasAudio ? ['-c:a', 'aac', '-b:a', audioBitrate] : ['-an']
  const enc = opts.encoder ?? encoderArgs('software', { device: null, preset, crf })
  return {
    cmd: 'ffmpeg',
    output,
    args: [
      ...FFMPEG_COMMON,
      ...PROGRESS,
      '-y',
      ...enc.beforeInput,
      '-i',
      fileUrl(input),
      '-map',
      '0:v:0',
      // Optional map ('?'): a probe that saw audio which then cannot be
      // decoded as a stream must not fail the whole proxy.
      ...(opts.hasAudio ? ['-map', '0:a:0?'] : []),
      '-sn',
      '-dn',
      '-vf',
      proxyScaleFilter(maxHeight) + enc.filterTail,
      ...enc.codec,
      '-force_key_frames',
      'expr:gte(t,n_forced*2)',
      ...audio,
      ...threadArgs(opts.threads),
      ...metadataArgs(opts.creationTime),
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      fileUrl(output),
    ],
  }
}

/** AAC-in-M4A proxy (faststart) for audio-only recordings. */
export function audioProxyArgs(input: string, output: string, opts: AudioProxyOptions = {}): CommandSpec {
  checkInOut(input, output)
  const audioBitrate = checkBitrate(opts.audioBitrate ?? VIDEO_PROXY_DEFAULTS.audioBitrate)
  return {
    cmd: 'ffmpeg',
    output,
    args: [
      ...FFMPEG_COMMON,
      ...PROGRESS,
      '-y',
      '-i',
      fileUrl(input),
      '-map',
      '0:a:0',
      '-vn',
      '-sn',
      '-dn',
      '-c:a',
      'aac',
      '-b:a',
      audioBitrate,
      ...threadArgs(opts.threads),
      ...metadataArgs(opts.creationTime),
      '-movflags',
      '+faststart',
      '-f',
      'ipod',
      fileUrl(output),
    ],
  }
}

export interface RemuxProxyOptions {
  /** 'proxy': the first video stream (and the first audio stream, if any) into MP4; 'audio-proxy': the audio stream into M4A. */
  kind: 'proxy' | 'audio-proxy'
  hasAudio: boolean
  /** Normalized UTC creation time (ISO, ending in Z) to stamp on the proxy. */
  creationTime?: string
}

/**
 * Stream copy into a fresh MP4/M4A with `+faststart` (see proxy-policy.ts
 * for when): no decoding, no encoding; camera tags dropped as for a
 * transcode. Data and subtitle tracks (GPS, camera text) are not copied.
 */
export function remuxProxyArgs(input: string, output: string, opts: RemuxProxyOptions): CommandSpec {
  checkInOut(input, output)
  return { cmd: 'ffmpeg', output, args: [...FFMPEG_COMMON, ...PROGRESS, '-y', '-i', fileUrl(input), ...remuxOutput(output, opts)] }
}

/** The output half of a remux: its maps (input 0), the stream copy, the tags, `+faststart`, the file. */
function remuxOutput(output: string, opts: RemuxProxyOptions): string[] {
  const video = opts.kind === 'proxy'
  const maps = video ? ['-map', '0:v:0', ...(opts.hasAudio ? ['-map', '0:a:0?'] : [])] : ['-map', '0:a:0', '-vn']
  return [...maps, '-sn', '-dn', '-c', 'copy', ...metadataArgs(opts.creationTime), '-movflags', '+faststart', '-f', video ? 'mp4' : 'ipod', fileUrl(output)]
}

/**
 * A remuxed video proxy and its thumbnail in ONE ffmpeg run (one process
 * start instead of two): the file is opened twice, input 0 for the stream
 * copy and input 1 seeked for the thumbnail (its options exactly as
 * thumbnailArgs puts them), and input 1 is read for at most
 * THUMBNAIL_READ_SECONDS after the seek position, so the run does not
 * demux the rest of the file for a thumbnail that is already written (the
 * key frame it decodes lies at or before the position), and decoded in one
 * thread (THUMBNAIL_DECODER_THREADS). Both outputs are
 * byte-identical to the separate runs' (test/media-ffmpeg.test.ts). A key
 * frame only found later than that fails the thumbnail output: the caller
 * falls back to the separate jobs.
 */
export function remuxWithThumbnailArgs(
  input: string,
  proxyOutput: string,
  thumbnailOutput: string,
  opts: { hasAudio: boolean; creationTime?: string } & ThumbnailOptions,
): CommandSpec {
  checkInOut(input, proxyOutput)
  checkInOut(input, thumbnailOutput)
  if (proxyOutput === thumbnailOutput) throw new MediaArgsError('output', 'the proxy and the thumbnail need two output paths')
  const width = checkInt('width', opts.width ?? THUMBNAIL_DEFAULT_WIDTH, 16, 4096)
  const seek = seekArgs(opts.atSeconds)
  return {
    cmd: 'ffmpeg',
    output: proxyOutput,
    extraOutputs: [thumbnailOutput],
    args: [
      ...FFMPEG_COMMON,
      ...PROGRESS,
      '-y',
      '-i',
      fileUrl(input),
      ...seek,
      ...THUMBNAIL_DECODER_THREADS,
      '-t',
      THUMBNAIL_READ_SECONDS,
      '-i',
      fileUrl(input),
      ...remuxOutput(proxyOutput, { kind: 'proxy', hasAudio: opts.hasAudio, ...(opts.creationTime !== undefined ? { creationTime: opts.creationTime } : {}) }),
      ...thumbnailOutputArgs(thumbnailOutput, width, 1, seek.length > 0),
    ],
  }
}

/**
 * The combined run's thumbnail decoder runs in one thread: it decodes one key
 * frame, which frame threading cannot spread over cores, but each extra
 * thread costs its own decoder context and zeroed frame buffers (about 35 ms
 * of CPU per run on a 1080p clip, docs/design.md "Benchmarks"). H.264
 * decoding is bit-exact whatever the thread count: the thumbnail stays
 * byte-identical to thumbnailArgs' (test/media-one-run.test.ts).
 */
const THUMBNAIL_DECODER_THREADS = ['-threads', '1'] as const

/** How much of the seeked input a combined run reads for its thumbnail (see remuxWithThumbnailArgs). */
export const THUMBNAIL_READ_SECONDS = '0.1'

/** Seconds formatted for `-ss`: fixed three decimals, never exponent notation. */
function formatSeconds(s: number): string {
  return s.toFixed(3)
}

/** One JPEG frame: at `atSeconds` for a video, the image itself for a photo. */
export function thumbnailArgs(input: string, output: string, opts: ThumbnailOptions = {}): CommandSpec {
  checkInOut(input, output)
  const width = checkInt('width', opts.width ?? THUMBNAIL_DEFAULT_WIDTH, 16, 4096)
  const seek = seekArgs(opts.atSeconds)
  return {
    cmd: 'ffmpeg',
    output,
    args: [...FFMPEG_COMMON, '-y', ...seek, '-i', fileUrl(input), ...thumbnailOutputArgs(output, width, 0, seek.length > 0)],
  }
}

/** The input options of a thumbnail's seek (none for a photo). */
function seekArgs(at: number | undefined): string[] {
  if (at === undefined) return []
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) {
    throw new MediaArgsError('atSeconds', `atSeconds must be a finite number >= 0, got ${String(at)}`)
  }
  // Seek before decoding, and decode one frame: the key frame at or
  // before the position (a thumbnail needs no frame accuracy; an accurate
  // seek decodes the whole GOP up to the position, up to seconds of 1080p).
  return ['-skip_frame', 'nokey', '-noaccurate_seek', '-ss', formatSeconds(at)]
}

/** The output half of a thumbnail: one frame of input `from`'s first video stream, scaled, as a baseline JPEG. */
function thumbnailOutputArgs(output: string, width: number, from: number, seeked: boolean): string[] {
  // The key frame lies before the seek position (a negative time stamp):
  // the default frame-rate handling would drop it as the only frame.
  const passthrough = seeked ? ['-fps_mode', 'passthrough'] : []
  return [
    '-map',
    `${from}:v:0`,
    '-an',
    '-sn',
    '-dn',
    '-frames:v',
    '1',
    ...passthrough,
    '-vf',
    `scale='min(${width},iw)':-2`,
    '-c:v',
    'mjpeg',
    '-q:v',
    '3',
    '-map_metadata',
    '-1',
    '-f',
    'mjpeg',
    fileUrl(output),
  ]
}

/** `ffmpeg -version`, for doctor. */
export function versionArgs(cmd: MediaTool = 'ffmpeg'): CommandSpec {
  return { cmd, args: ['-hide_banner', '-version'] }
}

/** `ffmpeg -encoders`, for doctor. */
export function encodersArgs(): CommandSpec {
  return { cmd: 'ffmpeg', args: ['-hide_banner', '-encoders'] }
}
