import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import type { ClockDrift } from './progress.js'

/**
 * What a docked camera is doing:
 * - detected: plugged in (USB) or unlocked, waiting for its volume;
 * - unlocking: the profile's vendor unlock command is running;
 * - queued: waiting for an ingest slot (docking.concurrency);
 * - copying: files are being read, hashed and staged (again after a
 *   listing found files new or changed since the last one);
 * - verifying: every byte is read; the last read-backs, fsync and commit,
 *   the volume listed once more, then the check that every file is in the
 *   vault;
 * - wiping: the profile wipes the camera after a complete ingest;
 * - safe-to-undock: every media file on the volume, as its last listing
 *   found it, is verified in the vault;
 * - error: see lastError (the session ended incomplete, or could not run:
 *   NOT_A_CAMERA, NO_MEDIA, a full disk); undock and dock again to retry.
 */
export const CAMERA_STATES = ['detected', 'unlocking', 'queued', 'copying', 'verifying', 'wiping', 'safe-to-undock', 'error'] as const
export type CameraState = (typeof CAMERA_STATES)[number]

export interface CameraStatus {
  /** Station-local id of this docking (cam-1, cam-2, ...). */
  id: string
  state: CameraState
  stateSince: string
  dockedAt: string
  volume: string | null
  volumeKind: 'mount' | 'folder' | null
  usb: { vendorId: string; productId: string; serial: string | null; port: string } | null
  profileId: string | null
  profileBy: 'usb' | 'markers' | 'default' | null
  deviceId: string | null
  officerId: string | null
  officerName: string | null
  unitCode: string | null
  unitName: string | null
  sessionId: number | null
  files: { done: number; total: number }
  bytes: { done: number; total: number }
  rateBytesPerSec: number | null
  etaSec: number | null
  clockDrift: ClockDrift | null
  lastError: string | null
  wiped: boolean
  /**
   * Seconds a read (or open, or stat) on the camera has not returned, once
   * that is 10 s or more: a hung USB device. No process can interrupt such a
   * read; unplugging the camera is the way out. Null otherwise.
   */
  stalledReadSec: number | null
}

/** A docking that ended: the camera was undocked (or the station stopped). */
export interface RecentDocking {
  id: string
  volume: string | null
  deviceId: string | null
  officerId: string | null
  officerName: string | null
  profileId: string | null
  sessionId: number | null
  /** The state it was in when it left: safe-to-undock means it left complete. */
  lastState: CameraState
  /** complete: everything verified (and wiped if the profile says so); incomplete: it left early. */
  outcome: 'complete' | 'incomplete'
  dockedAt: string
  endedAt: string
  /** done: files whose copy was tried; stored: of those, the ones now in the vault (an incomplete docking's saved part). */
  files: { done: number; total: number; stored: number }
  bytes: { done: number; total: number }
  lastError: string | null
}

/** What changed, for subscribers of StationDaemon.onChange: a state (push it now) or progress (may be coalesced). */
export type StatusChange = 'state' | 'progress'

/** The subscribers of a daemon's status changes; a failing subscriber is logged and never disturbs docking. */
export class StatusChanges {
  private readonly listeners = new Set<(change: StatusChange) => void>()
  constructor(private readonly log: Logger) {}

  on(fn: (change: StatusChange) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  emit(change: StatusChange): void {
    for (const fn of this.listeners) {
      try {
        fn(change)
      } catch (err) {
        this.log.error({ event: 'dock.subscriber_failed', err: errorMessage(err) }, 'a status subscriber failed')
      }
    }
  }
}

export interface StationStatus {
  station: { id: string; name: string }
  startedAt: string
  now: string
  stopping: boolean
  usb: { available: boolean; reason: string | null }
  mountRoots: string[]
  scheduler: { concurrency: number; active: number; queued: number; diskStreams: number; diskActive: number; diskWaiting: number }
  cameras: CameraStatus[]
  recent: RecentDocking[]
}

const str = { type: 'string' } as const
const strOrNull = { type: ['string', 'null'] } as const
const intOrNull = { type: ['integer', 'null'] } as const
const count = {
  type: 'object',
  additionalProperties: false,
  required: ['done', 'total'],
  properties: { done: { type: 'integer' }, total: { type: 'integer' } },
} as const

const cameraSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'state',
    'stateSince',
    'dockedAt',
    'volume',
    'volumeKind',
    'usb',
    'profileId',
    'profileBy',
    'deviceId',
    'officerId',
    'officerName',
    'unitCode',
    'unitName',
    'sessionId',
    'files',
    'bytes',
    'rateBytesPerSec',
    'etaSec',
    'clockDrift',
    'lastError',
    'wiped',
    'stalledReadSec',
  ],
  properties: {
    id: str,
    state: { type: 'string', enum: [...CAMERA_STATES] },
    stateSince: str,
    dockedAt: str,
    volume: strOrNull,
    volumeKind: { type: ['string', 'null'], enum: ['mount', 'folder', null] },
    usb: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['vendorId', 'productId', 'serial', 'port'],
      properties: { vendorId: str, productId: str, serial: strOrNull, port: str },
    },
    profileId: strOrNull,
    profileBy: { type: ['string', 'null'], enum: ['usb', 'markers', 'default', null] },
    deviceId: strOrNull,
    officerId: strOrNull,
    officerName: strOrNull,
    unitCode: strOrNull,
    unitName: strOrNull,
    sessionId: intOrNull,
    files: count,
    bytes: count,
    rateBytesPerSec: { type: ['number', 'null'] },
    etaSec: intOrNull,
    clockDrift: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['aheadSec', 'flagged', 'newest'],
      properties: { aheadSec: { type: 'integer' }, flagged: { type: 'boolean' }, newest: strOrNull },
    },
    lastError: strOrNull,
    wiped: { type: 'boolean' },
    stalledReadSec: intOrNull,
  },
} as const

const recentSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'volume',
    'deviceId',
    'officerId',
    'officerName',
    'profileId',
    'sessionId',
    'lastState',
    'outcome',
    'dockedAt',
    'endedAt',
    'files',
    'bytes',
    'lastError',
  ],
  properties: {
    id: str,
    volume: strOrNull,
    deviceId: strOrNull,
    officerId: strOrNull,
    officerName: strOrNull,
    profileId: strOrNull,
    sessionId: intOrNull,
    lastState: { type: 'string', enum: [...CAMERA_STATES] },
    outcome: { type: 'string', enum: ['complete', 'incomplete'] },
    dockedAt: str,
    endedAt: str,
    files: {
      type: 'object',
      additionalProperties: false,
      required: ['done', 'total', 'stored'],
      properties: { done: { type: 'integer' }, total: { type: 'integer' }, stored: { type: 'integer' } },
    },
    bytes: count,
    lastError: strOrNull,
  },
} as const

/** JSON schema of GET /v1/station (fastify serialises with it). */
export const stationStatusSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['station', 'startedAt', 'now', 'stopping', 'usb', 'mountRoots', 'scheduler', 'cameras', 'recent'],
  properties: {
    station: { type: 'object', additionalProperties: false, required: ['id', 'name'], properties: { id: str, name: str } },
    startedAt: str,
    now: str,
    stopping: { type: 'boolean' },
    usb: { type: 'object', additionalProperties: false, required: ['available', 'reason'], properties: { available: { type: 'boolean' }, reason: strOrNull } },
    mountRoots: { type: 'array', items: str },
    scheduler: {
      type: 'object',
      additionalProperties: false,
      required: ['concurrency', 'active', 'queued', 'diskStreams', 'diskActive', 'diskWaiting'],
      properties: {
        concurrency: { type: 'integer' },
        active: { type: 'integer' },
        queued: { type: 'integer' },
        diskStreams: { type: 'integer' },
        diskActive: { type: 'integer' },
        diskWaiting: { type: 'integer' },
      },
    },
    cameras: { type: 'array', items: cameraSchema },
    recent: { type: 'array', items: recentSchema },
  },
} as const
