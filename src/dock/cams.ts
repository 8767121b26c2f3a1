/**
 * One docked camera as the station daemon tracks it (from USB attach or
 * volume appearance to undock), and how it shows in the station status.
 */
import type { DockIdentity } from '../camera/identity.js'
import { EMPTY_IDENTITY } from '../camera/identity.js'
import type { PickedBy } from '../camera/match.js'
import type { IngestProgress } from '../ingest/session.js'
import type { DockingProfile } from '../camera/profile.js'
import type { UsbOfVolume, Volume } from './mounts.js'
import { type ClockDrift, etaSeconds, RateMeter } from './progress.js'
import type { CameraState, CameraStatus, RecentDocking } from './status.js'
import type { UsbDeviceInfo } from './usb.js'

/** A call on the camera that has not returned for this long is reported as a stalled read (a hung USB device). */
export const STALL_MS = 10_000

export interface Cam {
  id: string
  state: CameraState
  stateSince: number
  dockedAt: number
  volume: Volume | null
  usb: UsbDeviceInfo | UsbOfVolume | null
  profile: DockingProfile | null
  profileBy: PickedBy | null
  identity: DockIdentity
  /** Device/officer read from the file names when the camera does not say. */
  namedDevice: string | null
  namedOfficer: string | null
  sessionId: number | null
  progress: { filesDone: number; filesTotal: number; filesStored: number; bytesDone: number; bytesTotal: number }
  /** The running session's live progress (its waitingSince says when the current call on the camera started). */
  live: IngestProgress | null
  rate: RateMeter
  drift: ClockDrift | null
  lastError: string | null
  wiped: boolean
  /** Undocked (volume vanished, USB detached) or the station is stopping. */
  gone: boolean
  abort: AbortController | null
  unlockAbort: AbortController | null
  volumeTimer: NodeJS.Timeout | null
  run: Promise<void> | null
}

export function newCam(id: string, now: number, o: { usb?: Cam['usb']; profile?: DockingProfile; profileBy?: PickedBy }): Cam {
  return {
    id,
    state: 'detected',
    stateSince: now,
    dockedAt: now,
    volume: null,
    usb: o.usb ?? null,
    profile: o.profile ?? null,
    profileBy: o.profileBy ?? null,
    identity: { ...EMPTY_IDENTITY },
    namedDevice: null,
    namedOfficer: null,
    sessionId: null,
    progress: { filesDone: 0, filesTotal: 0, filesStored: 0, bytesDone: 0, bytesTotal: 0 },
    live: null,
    rate: new RateMeter(),
    drift: null,
    lastError: null,
    wiped: false,
    gone: false,
    abort: null,
    unlockAbort: null,
    volumeTimer: null,
    run: null,
  }
}

/** Seconds the current call on the camera has been waiting, when that is longer than STALL_MS; else null. */
export function stalledSeconds(c: Pick<Cam, 'live'>, now: number): number | null {
  const since = c.live?.waitingSince ?? null
  return since !== null && now - since >= STALL_MS ? Math.floor((now - since) / 1000) : null
}

export function camStatus(c: Cam, now: number): CameraStatus {
  const rate = c.state === 'copying' || c.state === 'verifying' ? c.rate.rate() : null
  const usb = c.usb ? { vendorId: c.usb.vendorId, productId: c.usb.productId, serial: c.usb.serial, port: c.usb.port } : null
  // Progress never shows done above total, whatever the counters went through.
  const bytesTotal = Math.max(c.progress.bytesTotal, c.progress.bytesDone)
  const filesTotal = Math.max(c.progress.filesTotal, c.progress.filesDone)
  return {
    id: c.id,
    state: c.state,
    stateSince: new Date(c.stateSince).toISOString(),
    dockedAt: new Date(c.dockedAt).toISOString(),
    volume: c.volume?.path ?? null,
    volumeKind: c.volume?.kind ?? null,
    usb,
    profileId: c.profile?.id ?? null,
    profileBy: c.profileBy,
    deviceId: c.identity.deviceId ?? c.namedDevice,
    officerId: c.identity.officerId ?? c.namedOfficer,
    officerName: c.identity.officerName,
    unitCode: c.identity.unitCode,
    unitName: c.identity.unitName,
    sessionId: c.sessionId,
    files: { done: c.progress.filesDone, total: filesTotal },
    bytes: { done: c.progress.bytesDone, total: bytesTotal },
    rateBytesPerSec: rate === null ? null : Math.round(rate),
    etaSec: c.state === 'copying' || c.state === 'verifying' ? etaSeconds(c.progress.bytesDone, bytesTotal, rate) : null,
    clockDrift: c.drift,
    lastError: c.lastError,
    wiped: c.wiped,
    stalledReadSec: stalledSeconds(c, now),
  }
}

/**
 * What the names of a listing say about the camera. A listing that names
 * nobody (the mount point left empty by an unplug, a camera emptied
 * mid-docking) leaves what earlier listings said: the camera did not change.
 */
export function learnNames(c: Pick<Cam, 'namedDevice' | 'namedOfficer'>, named: { deviceId: string | null; officerId: string | null }): void {
  c.namedDevice = named.deviceId ?? c.namedDevice
  c.namedOfficer = named.officerId ?? c.namedOfficer
}

/** How a camera that left is remembered under `recent`. */
export function recentOf(c: Cam, now: number): RecentDocking {
  return {
    id: c.id,
    volume: c.volume?.path ?? null,
    deviceId: c.identity.deviceId ?? c.namedDevice,
    officerId: c.identity.officerId ?? c.namedOfficer,
    officerName: c.identity.officerName,
    profileId: c.profile?.id ?? null,
    sessionId: c.sessionId,
    lastState: c.state,
    outcome: c.state === 'safe-to-undock' ? 'complete' : 'incomplete',
    dockedAt: new Date(c.dockedAt).toISOString(),
    endedAt: new Date(now).toISOString(),
    files: {
      done: c.progress.filesDone,
      total: Math.max(c.progress.filesTotal, c.progress.filesDone),
      stored: c.progress.filesStored,
    },
    bytes: { done: c.progress.bytesDone, total: Math.max(c.progress.bytesTotal, c.progress.bytesDone) },
    lastError: c.lastError,
  }
}
