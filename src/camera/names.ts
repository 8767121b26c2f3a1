import { extname } from 'node:path'
import { DateTime } from 'luxon'
import type { DockingProfile } from './profile.js'

import type { Kind } from '../common/kinds.js'

export type { Kind } from '../common/kinds.js'

const KINDS: Record<string, Kind> = {
  '.mp4': 'video',
  '.mov': 'video',
  '.avi': 'video',
  '.mkv': 'video',
  '.ts': 'video',
  '.mts': 'video',
  '.3gp': 'video',
  '.h264': 'video',
  '.264': 'video',
  '.h265': 'video',
  '.265': 'video',
  '.asf': 'video',
  '.wav': 'audio',
  '.mp3': 'audio',
  '.aac': 'audio',
  '.m4a': 'audio',
  '.amr': 'audio',
  '.ogg': 'audio',
  '.opus': 'audio',
  '.jpg': 'photo',
  '.jpeg': 'photo',
  '.png': 'photo',
  '.heic': 'photo',
  '.bmp': 'photo',
}
const DEFAULT_SIDECARS = ['.srt', '.nmea', '.gpx', '.json']

/**
 * What a file is by its extension: audio, video, photo, or a sidecar (the
 * usual ones, plus those the profile lists); undefined when the extension
 * says nothing (the leading bytes may still: camera/sniff.ts).
 */
export function kindOf(name: string, profile: Pick<DockingProfile, 'sidecars'>): Kind | undefined {
  const ext = extname(name).toLowerCase()
  if (DEFAULT_SIDECARS.includes(ext) || (profile.sidecars ?? []).includes(ext)) return 'sidecar'
  return KINDS[ext]
}

/**
 * Folders and files the file system or a desktop OS keeps on a removable
 * volume (FAT/exFAT/NTFS, macOS, Android): never camera footage, so they
 * are passed over and listed with this reason. Case-insensitive.
 */
const SYSTEM_NAMES = new Set([
  'system volume information',
  '$recycle.bin',
  'recycler',
  'recycled',
  '.trashes',
  '.spotlight-v100',
  '.fseventsd',
  '.temporaryitems',
  '.documentrevisions-v100',
  'lost.dir',
  'lost+found',
  'thumbs.db',
  'desktop.ini',
  '.ds_store',
])
export function systemEntry(name: string): string | undefined {
  const n = name.toLowerCase()
  if (SYSTEM_NAMES.has(n) || /^found\.\d{3}$/.test(n) || /^\.trash-\d+$/.test(n)) return 'system folder or file of the volume'
  return undefined
}

export interface RecordingFacts {
  deviceId: string | null
  officerId: string | null
  /** UTC instant, ISO 8601 with milliseconds and Z. */
  recordedAt: string
  /** The camera clock's UTC offset at that instant, e.g. "+08:00". */
  recordedOffset: string
  recordedSource: 'filename' | 'file-mtime'
  important: boolean
}

export interface Identity {
  deviceId?: string | null
  officerId?: string | null
}

/**
 * Device, officer, time and the important mark of one file, from the
 * profile's file-name pattern; whatever the name does not give comes from
 * the docked camera's identity, and the time falls back to the file's mtime.
 * Names carry the camera's local wall time, read in the profile's zone.
 */
export function recordingFacts(
  baseName: string,
  mtimeMs: number,
  profile: Pick<DockingProfile, 'filename' | 'timezone'>,
  identity: Identity = {},
): RecordingFacts {
  const groups = profile.filename ? (new RegExp(profile.filename.pattern, 'u').exec(baseName)?.groups ?? {}) : {}
  const pick = (v: string | undefined): string | null => (v !== undefined && v !== '' ? v : null)
  let when: DateTime | undefined
  const date = groups.date
  const time = groups.time
  if (date && /^\d{8}$/.test(date)) {
    const t = time && /^\d{6}$/.test(time) ? time : '000000'
    const dt = DateTime.fromObject(
      { year: +date.slice(0, 4), month: +date.slice(4, 6), day: +date.slice(6, 8), hour: +t.slice(0, 2), minute: +t.slice(2, 4), second: +t.slice(4, 6) },
      { zone: profile.timezone },
    )
    // Luxon rejects impossible dates (month 13, 31 Feb, hour 24) as invalid.
    if (dt.isValid) when = dt
  }
  const source: RecordingFacts['recordedSource'] = when ? 'filename' : 'file-mtime'
  when ??= DateTime.fromMillis(Math.trunc(mtimeMs), { zone: profile.timezone })
  return {
    deviceId: pick(groups.deviceId) ?? identity.deviceId ?? null,
    officerId: pick(groups.officerId) ?? identity.officerId ?? null,
    recordedAt: when.toUTC().toISO({ suppressMilliseconds: false }) ?? new Date(mtimeMs).toISOString(),
    recordedOffset: when.toFormat('ZZ'),
    recordedSource: source,
    important: pick(groups.important) !== null,
  }
}
