/**
 * Pure conversion of probe results and sidecar text into the facts the
 * catalog (media_info) and the `probed` ledger event record.
 */
import { createHash } from 'node:crypto'
import type { MediaFacts } from '../catalog/media-info.js'
import { firstSrtTimestamp } from './policy.js'
import { interpretCreationTime } from './creation-time.js'
import { parseSrtGps } from './gps.js'
import type { ProbeResult } from './probe.js'

/** Which rule read the creation time: the recording's docking profile (recorded with the facts). */
export interface TimeRule {
  profileId: string | null
  timeZone: string
  creationTimeIsLocal: boolean
}

export interface FactsWithBlobs {
  facts: MediaFacts
  /** Raw tags JSON text as stored in media_info.tags (its SHA-256 is facts.tagsSha256). */
  tags: string
  /** GPS track JSON text ([[tSec, lat, lon], ...]) or null. */
  gpsTrack: string | null
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

function emptyFacts(rule: TimeRule, tags: string): MediaFacts {
  return {
    mediaKind: 'unknown',
    container: null,
    durationSec: null,
    bitRate: null,
    videoCodec: null,
    width: null,
    height: null,
    fps: null,
    pixFmt: null,
    rotation: null,
    audioCodec: null,
    sampleRate: null,
    channels: null,
    createdUtc: null,
    createdOffset: null,
    createdLocal: null,
    createdInterpretation: null,
    createdRaw: null,
    createdSource: null,
    profileId: rule.profileId,
    timeZone: rule.timeZone,
    creationTimeIsLocal: rule.creationTimeIsLocal,
    gpsLat: null,
    gpsLon: null,
    gpsAlt: null,
    gpsSource: null,
    gpsPoints: null,
    tagsSha256: sha256Text(tags),
    toolVersion: null,
  }
}

/** Facts from a parsed ffprobe result (parseProbe already applied the time rule). */
export function factsFromProbe(p: ProbeResult, rule: TimeRule, toolVersion: string | null): FactsWithBlobs {
  const tags = JSON.stringify(p.tags)
  const f = emptyFacts(rule, tags)
  f.mediaKind = p.kind
  f.container = p.container || null
  f.durationSec = p.durationSec
  f.bitRate = p.bitRate
  if (p.video) {
    f.videoCodec = p.video.codec
    f.width = p.video.width
    f.height = p.video.height
    f.fps = p.video.fps
    f.pixFmt = p.video.pixFmt
    f.rotation = p.video.rotation
  }
  if (p.audio) {
    f.audioCodec = p.audio.codec
    f.sampleRate = p.audio.sampleRate
    f.channels = p.audio.channels
  }
  if (p.creationTime) {
    f.createdUtc = p.creationTime.utc
    f.createdOffset = p.creationTime.offset
    f.createdLocal = p.creationTime.local
    f.createdInterpretation = p.creationTime.interpretedAs
    f.createdRaw = p.creationTime.raw
    f.createdSource = p.creationTime.source
  }
  if (p.gps) {
    f.gpsLat = p.gps.lat
    f.gpsLon = p.gps.lon
    f.gpsAlt = p.gps.alt ?? null
    f.gpsSource = p.gps.source
  }
  f.toolVersion = toolVersion
  return { facts: f, tags, gpsTrack: null }
}

/**
 * Facts from a sidecar file's text. SRT GPS subtitles give a track (first
 * fix as the position) and a start time; the wall times in a recorder SRT
 * carry no zone and are always read as camera-local time in the profile's
 * zone (the creationTimeIsLocal flag is about MP4 creation_time only).
 * Other sidecar types (.nmea, .gpx, .json) are kept and linked unparsed.
 */
export function factsFromSidecar(text: string, ext: string, rule: TimeRule): FactsWithBlobs {
  const tags = JSON.stringify({ format: {}, streams: [] })
  const f = emptyFacts(rule, tags)
  f.mediaKind = 'sidecar'
  f.container = ext.replace(/^\./, '').toLowerCase() || null
  if (f.container !== 'srt') return { facts: f, tags, gpsTrack: null }
  const points = parseSrtGps(text)
  const first = points[0]
  if (first) {
    f.gpsLat = first.lat
    f.gpsLon = first.lon
    f.gpsSource = `srt:cue@${first.tSec}s`
  }
  f.gpsPoints = points.length
  const last = points[points.length - 1]
  if (last) f.durationSec = last.tSec + 1
  const ts = firstSrtTimestamp(text)
  if (ts !== undefined) {
    const ct = interpretCreationTime(ts, { cameraTimeZone: rule.timeZone, creationTimeIsLocal: true }, 'srt:first-cue')
    if (ct) {
      f.createdUtc = ct.utc
      f.createdOffset = ct.offset
      f.createdLocal = ct.local
      f.createdInterpretation = ct.interpretedAs
      f.createdRaw = ct.raw
      f.createdSource = ct.source
    }
  }
  const gpsTrack = points.length ? JSON.stringify(points.map((p) => [p.tSec, p.lat, p.lon])) : null
  return { facts: f, tags, gpsTrack }
}
