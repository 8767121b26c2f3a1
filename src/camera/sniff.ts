/**
 * What a file is by its leading bytes, for files whose extension says
 * nothing (a clip renamed `0002`, `执法 记录 0002.dat`): the container
 * signatures of the formats body cameras write (ISO BMFF/MP4/MOV/3GP and
 * HEIF by `ftyp` brand, RIFF AVI/WAVE, Matroska, MPEG-TS and -PS, Annex B
 * H.264/H.265, ASF, FLV, JPEG, PNG, GIF, TIFF, MP3/ID3, ADTS AAC, AMR, Ogg,
 * FLAC) and the text sidecars (SRT, NMEA, GPX). An AppleDouble file
 * (`._name`, macOS metadata) is reported as such: it is system debris, not
 * footage. Pure.
 */
import type { Kind } from '../common/kinds.js'

/** How many leading bytes sniffKind looks at (an MPEG-TS packet and the next sync byte fit). */
export const SNIFF_BYTES = 512

export type Sniffed = Kind | 'appledouble'

const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'avif', 'avis'])
const AUDIO_BRANDS = new Set(['M4A ', 'M4B ', 'F4A '])

const starts = (b: Buffer, sig: number[], at = 0): boolean => b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v)
const ascii = (b: Buffer, s: string, at = 0): boolean => b.length >= at + s.length && b.toString('latin1', at, at + s.length) === s

export function sniffKind(head: Buffer): Sniffed | undefined {
  if (head.length < 4) return undefined
  if (starts(head, [0x00, 0x05, 0x16, 0x07])) return 'appledouble'
  // ISO base media (MP4, MOV, 3GP, M4A, HEIF): [size]['ftyp'][brand]
  if (ascii(head, 'ftyp', 4)) {
    const brand = head.toString('latin1', 8, 12)
    if (HEIF_BRANDS.has(brand)) return 'photo'
    if (AUDIO_BRANDS.has(brand)) return 'audio'
    return 'video'
  }
  // QuickTime without ftyp: moov/mdat/wide/free first
  if (['moov', 'mdat', 'wide', 'free', 'skip'].some((a) => ascii(head, a, 4)) && head.readUInt32BE(0) >= 8) return 'video'
  if (ascii(head, 'RIFF') && ascii(head, 'AVI ', 8)) return 'video'
  if (ascii(head, 'RIFF') && ascii(head, 'WAVE', 8)) return 'audio'
  if (starts(head, [0x1a, 0x45, 0xdf, 0xa3])) return 'video' // Matroska / WebM
  if (head[0] === 0x47 && head.length > 188 && head[188] === 0x47) return 'video' // MPEG-TS
  if (starts(head, [0x00, 0x00, 0x01, 0xba]) || starts(head, [0x00, 0x00, 0x01, 0xb3])) return 'video' // MPEG-PS / ES
  if (annexB(head)) return 'video'
  if (starts(head, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])) return 'video' // ASF / WMV
  if (ascii(head, 'FLV') && head[3] === 0x01) return 'video'
  if (starts(head, [0xff, 0xd8, 0xff])) return 'photo'
  if (starts(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'photo'
  if (ascii(head, 'GIF87a') || ascii(head, 'GIF89a')) return 'photo'
  if (starts(head, [0x49, 0x49, 0x2a, 0x00]) || starts(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'photo' // TIFF, DNG
  if (ascii(head, 'ID3')) return 'audio'
  if (head[0] === 0xff && (head[1]! & 0xf6) === 0xf0) return 'audio' // ADTS AAC
  if (mp3Frame(head)) return 'audio'
  if (ascii(head, '#!AMR')) return 'audio'
  if (ascii(head, 'OggS') || ascii(head, 'fLaC')) return 'audio'
  return sidecarText(head)
}

/** H.264/H.265 elementary stream: a start code then an access unit delimiter, SPS or VPS. */
function annexB(b: Buffer): boolean {
  const at = starts(b, [0x00, 0x00, 0x00, 0x01]) ? 4 : starts(b, [0x00, 0x00, 0x01]) ? 3 : -1
  if (at < 0 || b.length <= at) return false
  const n = b[at]!
  const h264 = n & 0x1f
  if ((n & 0x80) === 0 && (h264 === 9 || h264 === 7)) return true
  const h265 = (n >> 1) & 0x3f
  return (n & 0x80) === 0 && (h265 === 32 || h265 === 33 || h265 === 35)
}

/** An MPEG audio Layer III frame header: sync, a real version, layer III, a valid bitrate and sample rate. */
function mp3Frame(b: Buffer): boolean {
  if (b[0] !== 0xff || (b[1]! & 0xe0) !== 0xe0) return false
  const version = (b[1]! >> 3) & 3
  const layer = (b[1]! >> 1) & 3
  const bitrate = b[2]! >> 4
  const rate = (b[2]! >> 2) & 3
  return version !== 1 && layer === 1 && bitrate !== 0 && bitrate !== 15 && rate !== 3
}

function sidecarText(b: Buffer): Kind | undefined {
  const text = b.toString('latin1').replace(/^\xef\xbb\xbf/, '')
  if (/^\d+\r?\n\d\d:\d\d:\d\d[,.]\d{3} --> \d\d:\d\d:\d\d[,.]\d{3}/.test(text)) return 'sidecar' // SRT
  if (/^\$G[PNLA][A-Z]{3},/.test(text)) return 'sidecar' // NMEA 0183
  if (/^\s*<\?xml[^>]*\?>\s*<gpx[\s>]/.test(text)) return 'sidecar' // GPX
  return undefined
}
