/**
 * How a proxy is made, as data (`media.proxy` in the configuration): a pure
 * rule from the probe's facts to a plan, no I/O. `remux` copies the streams
 * into a fresh MP4 with `+faststart` (the original is already what a browser
 * plays: only the `moov` atom moves to the front), hundreds of times faster
 * than realtime; `transcode` re-encodes to the configured 720p H.264/AAC
 * target. Either way the derivative is hashed, committed and recorded the
 * same, and its `derived` event carries the plan and the argument list.
 *
 * The remux limits are separate from the transcode target on purpose: a
 * 1080p camera original of 8-20 Mbit/s plays on a station's LAN as it is,
 * and re-encoding it to 720p costs 30-80x more CPU than copying it.
 */

import { encoderSettingsSchema, type EncoderSettings } from './encoders.js'

export type ProxyMethod = 'remux' | 'transcode'

/** What a browser plays as it is (checked against the probe's facts). */
export interface RemuxLimits {
  /** ffprobe container names that qualify (one of format_name's comma-separated names), e.g. mp4, mov. */
  containers: string[]
  videoCodecs: string[]
  /** Audio codecs that may be copied; a recording without audio always qualifies on this point. */
  audioCodecs: string[]
  /** Pixel formats that qualify (4:2:0 8-bit: 10-bit or 4:2:2 H.264 does not play in most browsers). */
  pixFmts: string[]
  /** The picture's short side at most this (1080: up to 1080p, portrait or landscape). */
  maxHeight: number
  /** Overall bit rate at most this many bits per second (0: no limit). */
  maxBitRate: number
}

export interface ProxySettings extends EncoderSettings {
  /** `auto`: remux what qualifies, transcode the rest; `transcode`: always re-encode. */
  policy: 'auto' | 'transcode'
  remux: RemuxLimits
}

export const PROXY_DEFAULTS: ProxySettings = {
  policy: 'auto',
  encoder: 'software',
  device: null,
  remux: {
    containers: ['mp4', 'mov'],
    videoCodecs: ['h264'],
    audioCodecs: ['aac'],
    pixFmts: ['yuv420p', 'yuvj420p'],
    maxHeight: 1080,
    maxBitRate: 20_000_000,
  },
}

/** JSON schema of `media.proxy` (referenced by src/config/schema.ts). */
export const proxySettingsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['policy', 'encoder', 'device', 'remux'],
  properties: {
    policy: { enum: ['auto', 'transcode'] },
    ...encoderSettingsSchema,
    remux: {
      type: 'object',
      additionalProperties: false,
      required: ['containers', 'videoCodecs', 'audioCodecs', 'pixFmts', 'maxHeight', 'maxBitRate'],
      properties: {
        containers: { type: 'array', items: { type: 'string', minLength: 1 } },
        videoCodecs: { type: 'array', items: { type: 'string', minLength: 1 } },
        audioCodecs: { type: 'array', items: { type: 'string', minLength: 1 } },
        pixFmts: { type: 'array', items: { type: 'string', minLength: 1 } },
        maxHeight: { type: 'integer', minimum: 144, maximum: 4320 },
        maxBitRate: { type: 'integer', minimum: 0 },
      },
    },
  },
} as const

/** The facts a plan reads (a media_info row has them all). */
export interface ProxyFacts {
  container: string | null
  videoCodec: string | null
  audioCodec: string | null
  pixFmt: string | null
  width: number | null
  height: number | null
  bitRate: number | null
}

/** A plan and why: the reasons a recording does not qualify for remux (empty for a remux). */
export interface ProxyPlan {
  method: ProxyMethod
  why: string[]
}

/**
 * The plan for a proxy of `kind` ('proxy': video, 'audio-proxy': audio
 * only). Unknown facts never qualify: when in doubt, transcode (it always
 * gives a playable file).
 */
export function proxyPlan(kind: 'proxy' | 'audio-proxy', f: ProxyFacts, s: ProxySettings): ProxyPlan {
  if (s.policy === 'transcode') return { method: 'transcode', why: ['policy transcode'] }
  const r = s.remux
  const why: string[] = []
  const names = (f.container ?? '').split(',').filter(Boolean)
  if (!names.some((n) => r.containers.includes(n))) why.push(`container ${f.container ?? 'unknown'}`)
  if (f.audioCodec !== null && !r.audioCodecs.includes(f.audioCodec)) why.push(`audio ${f.audioCodec}`)
  if (r.maxBitRate > 0 && (f.bitRate === null || f.bitRate > r.maxBitRate)) why.push(`bit rate ${f.bitRate ?? 'unknown'} > ${r.maxBitRate}`)
  if (kind === 'proxy') {
    if (f.videoCodec === null || !r.videoCodecs.includes(f.videoCodec)) why.push(`video ${f.videoCodec ?? 'none'}`)
    if (f.pixFmt === null || !r.pixFmts.includes(f.pixFmt)) why.push(`pixel format ${f.pixFmt ?? 'unknown'}`)
    if (f.width === null || f.height === null) why.push('size unknown')
    else if (Math.min(f.width, f.height) > r.maxHeight) why.push(`${f.width}x${f.height} > ${r.maxHeight}p`)
  } else if (f.audioCodec === null) why.push('no audio')
  return why.length ? { method: 'transcode', why } : { method: 'remux', why }
}
