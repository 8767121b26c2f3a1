/**
 * Probe results and sidecar links (tables media_info and media_links,
 * migration 002). Each row is backed by a `probed` ledger event that
 * verify compares it with (src/media/check.ts).
 */
import type { Kind } from '../common/kinds.js'
import type { Db } from './db.js'

/** The facts a `probed` event carries (besides recordingId, links, gpsTrackSha256), one per media_info column. */
export type MediaFacts = {
  mediaKind: 'video' | 'audio' | 'photo' | 'unknown' | 'sidecar'
  container: string | null
  durationSec: number | null
  bitRate: number | null
  videoCodec: string | null
  width: number | null
  height: number | null
  fps: number | null
  pixFmt: string | null
  rotation: number | null
  audioCodec: string | null
  sampleRate: number | null
  channels: number | null
  /** Creation time normalised to UTC, the wall-clock offset, the same instant as local time, how the raw value was read. */
  createdUtc: string | null
  createdOffset: string | null
  createdLocal: string | null
  createdInterpretation: 'utc' | 'camera-local' | 'explicit-offset' | null
  createdRaw: string | null
  createdSource: string | null
  /** The rule that decided: the recording's docking profile, its time zone and its creationTimeIsLocal flag. */
  profileId: string | null
  timeZone: string
  creationTimeIsLocal: boolean
  gpsLat: number | null
  gpsLon: number | null
  gpsAlt: number | null
  gpsSource: string | null
  /** Sidecars: how many fixes the track has. */
  gpsPoints: number | null
  /** SHA-256 of the stored raw tags JSON (format and stream tags). */
  tagsSha256: string
  /** ffprobe version that read it (null for sidecars parsed in-process). */
  toolVersion: string | null
}

export const MEDIA_COLUMNS: Record<keyof MediaFacts, string> = {
  mediaKind: 'media_kind',
  container: 'container',
  durationSec: 'duration_sec',
  bitRate: 'bit_rate',
  videoCodec: 'video_codec',
  width: 'width',
  height: 'height',
  fps: 'fps',
  pixFmt: 'pix_fmt',
  rotation: 'rotation',
  audioCodec: 'audio_codec',
  sampleRate: 'sample_rate',
  channels: 'channels',
  createdUtc: 'created_utc',
  createdOffset: 'created_offset',
  createdLocal: 'created_local',
  createdInterpretation: 'created_interpretation',
  createdRaw: 'created_raw',
  createdSource: 'created_source',
  profileId: 'profile_id',
  timeZone: 'time_zone',
  creationTimeIsLocal: 'creation_time_is_local',
  gpsLat: 'gps_lat',
  gpsLon: 'gps_lon',
  gpsAlt: 'gps_alt',
  gpsSource: 'gps_source',
  gpsPoints: 'gps_points',
  tagsSha256: 'tags_sha256',
  toolVersion: 'tool_version',
}
export const MEDIA_FIELDS = Object.keys(MEDIA_COLUMNS) as (keyof MediaFacts)[]

export interface MediaInfoRow extends MediaFacts {
  recordingId: number
  /** Raw tags JSON text: {"format": {...}, "streams": [{...}, ...]}. */
  tags: string
  /** Sidecar GPS track JSON text: [[tSec, lat, lon], ...], or null. */
  gpsTrack: string | null
  probedAt: string
  eventSeq: number
}

const INFO_SELECT = `SELECT recording_id AS recordingId, ${MEDIA_FIELDS.map((f) => `${MEDIA_COLUMNS[f]} AS "${f}"`).join(', ')},
  tags, gps_track AS gpsTrack, probed_at AS probedAt, event_seq AS eventSeq FROM media_info`

function infoFromRow(r: Record<string, unknown>): MediaInfoRow {
  return { ...(r as unknown as MediaInfoRow), creationTimeIsLocal: r.creationTimeIsLocal === 1 }
}

export function insertMediaInfo(db: Db, row: MediaInfoRow): void {
  const cols = ['recording_id', ...MEDIA_FIELDS.map((f) => MEDIA_COLUMNS[f]), 'tags', 'gps_track', 'probed_at', 'event_seq']
  const values = [
    row.recordingId,
    ...MEDIA_FIELDS.map((f) => (f === 'creationTimeIsLocal' ? (row[f] ? 1 : 0) : row[f])),
    row.tags,
    row.gpsTrack,
    row.probedAt,
    row.eventSeq,
  ]
  db.prepare(`INSERT INTO media_info (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...values)
}

export function getMediaInfoRow(db: Db, recordingId: number): MediaInfoRow | undefined {
  const r = db.prepare(`${INFO_SELECT} WHERE recording_id = ?`).get(recordingId) as Record<string, unknown> | undefined
  return r ? infoFromRow(r) : undefined
}

export function allMediaInfo(db: Db): IterableIterator<MediaInfoRow> {
  const it = db.prepare(`${INFO_SELECT} ORDER BY recording_id`).iterate() as IterableIterator<Record<string, unknown>>
  return (function* () {
    for (const r of it) yield infoFromRow(r)
  })()
}

export interface GpsInfo {
  lat: number
  lon: number
  alt: number | null
  /** e.g. `format:location`, or `sidecar:recording:3` when it comes from a linked sidecar. */
  source: string
}

/** A recording's probe result as clerks see it: GPS from its own tags, else from a linked sidecar. */
export interface MediaInfoView extends MediaInfoRow {
  gps: GpsInfo | null
  /** Sidecar recordings linked to this clip (or, for a sidecar, its clip). */
  sidecarIds: number[]
  sidecarOf: number | null
}

export function getMediaInfo(db: Db, recordingId: number): MediaInfoView | undefined {
  const row = getMediaInfoRow(db, recordingId)
  if (!row) return undefined
  const sidecarIds = sidecarsOf(db, recordingId)
  const of = db.prepare('SELECT recording_id AS id FROM media_links WHERE sidecar_id = ?').get(recordingId) as { id: number } | undefined
  let gps: GpsInfo | null = null
  if (row.gpsLat !== null && row.gpsLon !== null) {
    gps = { lat: row.gpsLat, lon: row.gpsLon, alt: row.gpsAlt, source: row.gpsSource ?? 'unknown' }
  } else {
    for (const sid of sidecarIds) {
      const s = getMediaInfoRow(db, sid)
      if (s && s.gpsLat !== null && s.gpsLon !== null) {
        gps = { lat: s.gpsLat, lon: s.gpsLon, alt: s.gpsAlt, source: `sidecar:recording:${sid}` }
        break
      }
    }
  }
  return { ...row, gps, sidecarIds, sidecarOf: of?.id ?? null }
}

export interface LinkCandidate {
  id: number
  kind: Kind
  sourcePath: string
}

/**
 * Stored recordings of this device whose camera path starts with `base.`
 * (DIR/NAME followed by an extension), newest first, except `excludeId`:
 * the candidates that pair a sidecar with its clip (the caller keeps those
 * whose base name is exactly `base`).
 */
export function storedRecordingsOfBase(db: Db, deviceId: string | null, base: string, excludeId: number): LinkCandidate[] {
  // Every path that starts with `base.` sorts between `base.` and `base/`
  // ('/' follows '.' in ASCII): a range, no LIKE patterns to escape.
  return db
    .prepare(`SELECT id, kind, source_path AS sourcePath FROM recordings
    WHERE coalesce(device_id, '') = coalesce(?, '') AND status = 'stored' AND id <> ?
      AND source_path >= ? AND source_path < ?
    ORDER BY id DESC`)
    .all(deviceId, excludeId, base + '.', base + '/') as LinkCandidate[]
}

/** The sidecar recordings linked to this clip. */
/**
 * The GPS track a recording's positions come from: its own when it is a
 * recorder's .SRT sidecar, else the first of its linked sidecars that has
 * one. `track` is the JSON text the probe stored ([[tSec, lat, lon], ...]),
 * whose SHA-256 its `probed` event names (gpsTrackSha256).
 */
export function gpsTrackOf(db: Db, recordingId: number): { sidecarId: number; track: string } | undefined {
  for (const id of [recordingId, ...sidecarsOf(db, recordingId)]) {
    const track = db.prepare('SELECT gps_track FROM media_info WHERE recording_id = ? AND gps_track IS NOT NULL').pluck().get(id) as string | undefined
    if (track !== undefined) return { sidecarId: id, track }
  }
  return undefined
}

export function sidecarsOf(db: Db, recordingId: number): number[] {
  return db.prepare('SELECT sidecar_id FROM media_links WHERE recording_id = ? ORDER BY sidecar_id').pluck().all(recordingId) as number[]
}

export function linkedSidecar(db: Db, sidecarId: number): number | undefined {
  return (db.prepare('SELECT recording_id AS id FROM media_links WHERE sidecar_id = ?').get(sidecarId) as { id: number } | undefined)?.id
}

export function insertLink(db: Db, sidecarId: number, recordingId: number, eventSeq: number): void {
  db.prepare('INSERT INTO media_links (sidecar_id, recording_id, event_seq) VALUES (?, ?, ?)').run(sidecarId, recordingId, eventSeq)
}

export interface MediaLink {
  sidecarId: number
  recordingId: number
  eventSeq: number
}

export function allLinks(db: Db): MediaLink[] {
  return db
    .prepare('SELECT sidecar_id AS sidecarId, recording_id AS recordingId, event_seq AS eventSeq FROM media_links ORDER BY sidecar_id')
    .all() as MediaLink[]
}
