import { readdir } from 'node:fs/promises'
import type { Db } from '../catalog/db.js'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { threadPoolSize } from '../common/threads.js'
import type { DockingSettings } from './settings.js'
import type { IngestReport, IngestSessionOptions } from '../ingest/session.js'
import type { Vault } from '../vault/store.js'
import { actors } from '../ledger/events.js'
import { DiskShare } from './fairshare.js'
import { looksLikeCamera, pickProfile, profileForUsb, type PickedBy } from '../camera/match.js'
import { volumeForUnlocked } from './claim.js'
import { MountWatcher, type Volume } from './mounts.js'
import { getProfile, type DockingProfile } from '../camera/profile.js'
import { type Cam, camStatus, newCam, recentOf } from './cams.js'
import { runCameraSession } from './copying.js'
import { recordIdentity } from './record.js'
import { type CameraState, type RecentDocking, type StationStatus, type StatusChange, StatusChanges } from './status.js'
import { DEFAULT_UNLOCK_TIMEOUT_MS, runUnlock } from './unlock.js'
import { UsbWatcher, type UsbBackend, type UsbDeviceInfo } from './usb.js'

export type { DockingSettings } from './settings.js'

export interface StationDaemonDeps {
  station: { id: string; name: string }
  docking: DockingSettings
  /** One ingest session (src/ingest/session.ts, wired by the station with its context). */
  ingest(session: IngestSessionOptions): Promise<IngestReport>
  db: Db
  vault: Vault
  profiles: Map<string, DockingProfile>
  logger: Logger
  /** realUsbBackend() in the daemon; FakeUsbBackend in tests. */
  usb: UsbBackend
  /** Adapter paths (tests point them at prepared trees). */
  paths?: { mountinfo?: string; sys?: string; devDisk?: string }
  /** Environment of unlock commands (default: this process's). */
  env?: NodeJS.ProcessEnv
  now?: () => number
}

const RECENT_MAX = 50

/**
 * The station daemon: cameras dock (USB hotplug, mount table, folders under
 * the mount roots), each gets one ingest session, at most
 * `docking.concurrency` at a time, sharing the disk fairly (DiskShare). A
 * camera that leaves mid-copy has its session aborted through its
 * AbortSignal: committed files stay, the file in flight is rolled back,
 * the session ends incomplete and resumes on re-dock. "Safe to undock" only
 * after a complete session (then, only if the profile says so, the camera
 * is wiped and a camera-wiped event recorded). stop() takes no new work,
 * aborts the sessions (the current file finishes or rolls back) and waits.
 */
export class StationDaemon {
  private readonly cams = new Map<string, Cam>()
  private readonly queue: Cam[] = []
  private readonly active = new Set<Cam>()
  private readonly deferred: Volume[] = []
  private readonly recent: RecentDocking[] = []
  private readonly share: DiskShare
  private readonly usbWatcher: UsbWatcher
  private readonly mounts: MountWatcher
  private readonly log: Logger
  private readonly now: () => number
  private readonly actor: string
  private readonly startedAt: number
  private stopping = false
  private seq = 0
  /** Subscribers to status changes (the /v1/station/events stream). */
  private readonly changes: StatusChanges

  constructor(private readonly d: StationDaemonDeps) {
    this.log = d.logger.child({ component: 'dock' })
    this.changes = new StatusChanges(this.log)
    this.now = d.now ?? Date.now
    this.startedAt = this.now()
    this.actor = actors.station(d.station.id)
    getProfile(d.profiles, d.docking.defaultProfile)
    this.share = new DiskShare(d.docking.diskStreams)
    this.usbWatcher = new UsbWatcher(d.usb, this.log)
    this.mounts = new MountWatcher({
      roots: d.docking.mountRoots,
      pollMs: d.docking.pollMs,
      settleMs: d.docking.settleMs,
      logger: this.log,
      isCameraFolder: async (p) => looksLikeCamera(d.profiles.values(), await readdir(p).catch(() => [])),
      mountinfoPath: d.paths?.mountinfo,
      sysRoot: d.paths?.sys,
      devDiskRoot: d.paths?.devDisk,
    })
    this.mounts.on('added', (v) => this.onVolumeAdded(v))
    this.mounts.on('removed', (v) => this.onVolumeRemoved(v))
    this.usbWatcher.on('attach', (u) => this.onUsbAttach(u))
    this.usbWatcher.on('detach', (u) => this.onUsbDetach(u))
  }

  /** Starts USB hotplug (where the host has a USB bus) and mount discovery; cameras already docked are picked up. */
  async start(): Promise<void> {
    this.log.info(
      {
        event: 'dock.start',
        mountRoots: this.d.docking.mountRoots,
        concurrency: this.d.docking.concurrency,
        diskStreams: this.d.docking.diskStreams,
        threadPool: threadPoolSize(),
      },
      'docking started',
    )
    if (this.d.docking.usb) await this.usbWatcher.start()
    else this.log.info({ event: 'usb.disabled' }, 'USB hotplug disabled (docking.usb): docking runs on mount discovery alone')
    await this.mounts.start()
  }

  /** Stops taking work, aborts running sessions (each finishes or rolls back its current file) and waits for them. */
  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.changed('state')
    this.log.info({ event: 'dock.stopping', active: this.active.size, queued: this.queue.length }, 'docking stopping')
    this.usbWatcher.stop()
    await this.mounts.stop()
    this.queue.length = 0
    for (const c of this.cams.values()) {
      c.unlockAbort?.abort(new Error('the station is stopping'))
      c.abort?.abort(new Error('not copied: the station is stopping; dock the camera again after it restarts'))
      if (c.volumeTimer) clearTimeout(c.volumeTimer)
    }
    await Promise.all([...this.cams.values()].map((c) => c.run))
    this.log.info({ event: 'dock.stopped' }, 'docking stopped')
  }

  /** Waits until no camera is queued, copying, verifying, wiping or unlocking (tests and the benchmark). */
  async idle(pollMs = 50): Promise<void> {
    for (;;) {
      const busy = [...this.cams.values()].some((c) => ['unlocking', 'queued', 'copying', 'verifying', 'wiping'].includes(c.state))
      if (!busy && this.deferred.length === 0) return
      await new Promise((r) => setTimeout(r, pollMs))
    }
  }

  /** Re-reads the mount table and the roots now (instead of at the next poll). */
  rescan(): Promise<void> {
    return this.mounts.scan()
  }

  /**
   * Calls `fn` after each change of what status() returns: 'state' for a
   * camera's state, a docking or an undocking, 'progress' for bytes and
   * files. Returns the unsubscribe. A failing subscriber never disturbs docking.
   */
  onChange(fn: (change: StatusChange) => void): () => void {
    return this.changes.on(fn)
  }

  private changed(change: StatusChange): void {
    this.changes.emit(change)
  }

  status(): StationStatus {
    const share = this.share.snapshot()
    return {
      station: { id: this.d.station.id, name: this.d.station.name },
      startedAt: new Date(this.startedAt).toISOString(),
      now: new Date(this.now()).toISOString(),
      stopping: this.stopping,
      usb: { available: this.usbWatcher.available, reason: this.d.docking.usb ? (this.usbWatcher.reason ?? null) : 'disabled by docking.usb' },
      mountRoots: this.d.docking.mountRoots,
      scheduler: {
        concurrency: this.d.docking.concurrency,
        active: this.active.size,
        queued: this.queue.length,
        diskStreams: share.streams,
        diskActive: share.active,
        diskWaiting: share.waiting,
      },
      cameras: [...this.cams.values()].map((c) => camStatus(c, this.now())),
      recent: [...this.recent],
    }
  }

  // ------------------------------------------------------------ events

  private onUsbAttach(u: UsbDeviceInfo): void {
    if (this.stopping) return
    const profile = profileForUsb(this.d.profiles.values(), u)
    if (!profile) {
      this.log.debug({ event: 'usb.not_a_camera', usb: u }, 'USB device matches no docking profile')
      return
    }
    if ([...this.cams.values()].some((c) => c.usb?.port === u.port && !c.gone)) return
    const cam = this.newCam({ usb: u, profile, profileBy: 'usb' })
    this.log.info({ event: 'camera.plugged', camera: cam.id, usb: u, profile: profile.id }, 'camera plugged in')
    if (profile.unlock) {
      void this.unlock(cam).catch((err: unknown) => this.fail(cam, err))
      return
    }
    const vol = this.mounts.volumes.find((v) => v.usb?.port === u.port && !this.volumeTaken(v))
    if (vol) this.dockVolume(cam, vol)
  }

  private onUsbDetach(u: UsbDeviceInfo): void {
    for (const c of this.cams.values()) {
      if (c.usb?.port === u.port && !c.gone) this.undock(c, 'the camera was unplugged (USB detach)')
    }
  }

  private onVolumeAdded(v: Volume): void {
    if (this.stopping) return
    this.log.info({ event: 'volume.added', volume: v.path, kind: v.kind, source: v.source, fstype: v.fstype, usb: v.usb, diskId: v.diskId }, 'volume appeared')
    if ([...this.cams.values()].some((c) => c.state === 'unlocking')) {
      // An unlock in progress may be about to claim it: decide when it reports who it is.
      this.deferred.push(v)
      return
    }
    this.claim(v)
  }

  private onVolumeRemoved(v: Volume): void {
    this.log.info({ event: 'volume.removed', volume: v.path, kind: v.kind }, 'volume vanished')
    const i = this.deferred.indexOf(v)
    if (i >= 0) this.deferred.splice(i, 1)
    for (const c of this.cams.values()) {
      if (c.volume === v && !c.gone) this.undock(c, 'the camera volume vanished (unplugged or unmounted)')
    }
  }

  // ------------------------------------------------------------ docking

  private newCam(o: { usb?: Cam['usb']; profile?: DockingProfile; profileBy?: PickedBy }): Cam {
    const cam = newCam(`cam-${++this.seq}`, this.now(), o)
    this.cams.set(cam.id, cam)
    this.log.info(
      { event: 'camera.state', camera: cam.id, from: null, to: cam.state, usb: cam.usb, profile: cam.profile?.id ?? null },
      `camera ${cam.id}: ${cam.state}`,
    )
    this.changed('state')
    return cam
  }

  private setState(cam: Cam, state: CameraState, extra: Record<string, unknown> = {}): void {
    if (cam.state === state) return
    const from = cam.state
    cam.state = state
    cam.stateSince = this.now()
    const level = state === 'error' ? 'warn' : 'info'
    this.log[level](
      {
        event: 'camera.state',
        camera: cam.id,
        from,
        to: state,
        volume: cam.volume?.path ?? null,
        profile: cam.profile?.id ?? null,
        deviceId: cam.identity.deviceId ?? cam.namedDevice,
        sessionId: cam.sessionId,
        ...(cam.lastError && state === 'error' ? { error: cam.lastError } : {}),
        ...extra,
      },
      `camera ${cam.id}: ${state}`,
    )
    this.changed('state')
  }

  private volumeTaken(v: Volume): boolean {
    for (const c of this.cams.values()) if (c.volume === v) return true
    return false
  }

  private async unlock(cam: Cam): Promise<void> {
    const profile = cam.profile!
    const usb = cam.usb as UsbDeviceInfo
    cam.unlockAbort = new AbortController()
    this.setState(cam, 'unlocking', { usb })
    const mountRoot = this.d.docking.mountRoots[0] ?? '/media'
    try {
      const r = await runUnlock(profile, usb, { mountRoot, signal: cam.unlockAbort.signal, env: this.d.env })
      cam.identity = r.identity
      this.log.info({ event: 'camera.unlocked', camera: cam.id, ms: r.ms, identity: r.identity }, 'camera unlocked')
      if (!cam.gone)
        recordIdentity(this.d.db, {
          identity: r.identity,
          profileId: profile.id,
          usb: { vendorId: usb.vendorId, productId: usb.productId, serial: usb.serial },
          actor: this.actor,
        })
    } catch (err) {
      cam.unlockAbort = null
      if (cam.gone) return
      cam.lastError = errorMessage(err)
      this.setState(cam, 'error')
      this.releaseDeferred()
      return
    }
    cam.unlockAbort = null
    if (cam.gone) {
      this.releaseDeferred()
      return
    }
    this.setState(cam, 'detected')
    const ms = profile.unlock?.timeoutMs ?? DEFAULT_UNLOCK_TIMEOUT_MS
    cam.volumeTimer = setTimeout(() => {
      cam.volumeTimer = null
      if (cam.volume || cam.gone) return
      cam.lastError = `the unlock command succeeded but no volume appeared within ${ms} ms under ${this.d.docking.mountRoots.join(', ')}: check docking.mountRoots and the vendor tool, then plug the camera in again`
      this.setState(cam, 'error')
    }, ms)
    cam.volumeTimer.unref()
    // Volumes that appeared while it unlocked are claimed now; one it made appear just before exiting, at this scan.
    this.releaseDeferred()
    await this.mounts.scan()
  }

  private releaseDeferred(): void {
    if ([...this.cams.values()].some((c) => c.state === 'unlocking')) return
    const vols = this.deferred.splice(0)
    for (const v of vols) this.claim(v)
  }

  private claim(v: Volume): void {
    void this.claimVolume(v).catch((err: unknown) =>
      this.log.error({ event: 'volume.claim_failed', volume: v.path, err: errorMessage(err) }, 'could not dock a volume'),
    )
  }

  private fail(cam: Cam, err: unknown): void {
    if (cam.gone) return
    cam.lastError = errorMessage(err)
    this.setState(cam, 'error')
  }

  /** A volume appeared: tie it to a waiting camera (unlocked, or plugged in on the same USB port), else a new docking. */
  private async claimVolume(v: Volume): Promise<void> {
    if (this.stopping || this.volumeTaken(v)) return
    const waiting = [...this.cams.values()].filter((c) => c.state === 'detected' && !c.volume && !c.gone)
    for (const c of waiting) {
      if ((await volumeForUnlocked(c, [v], this.d.profiles, this.d.docking.defaultProfile)) === v && this.dockVolume(c, v)) return
      if (this.volumeTaken(v)) return
    }
    let rootEntries: string[]
    try {
      rootEntries = await readdir(v.path)
    } catch (err) {
      this.log.warn({ event: 'volume.unreadable', volume: v.path, err: errorMessage(err) }, 'cannot read the volume')
      return
    }
    if (this.stopping || this.volumeTaken(v) || !this.mounts.volumes.includes(v)) return
    const picked = pickProfile(this.d.profiles, { usb: v.usb ?? undefined, rootEntries }, this.d.docking.defaultProfile)
    const cam = this.newCam({ usb: v.usb, profile: picked.profile, profileBy: picked.by })
    if (!this.dockVolume(cam, v)) this.cams.delete(cam.id)
  }

  /** Ties a volume to a camera and queues its session; false when either is already taken. */
  private dockVolume(cam: Cam, v: Volume): boolean {
    if (cam.volume || cam.gone || this.stopping || this.volumeTaken(v)) return false
    if (cam.volumeTimer) clearTimeout(cam.volumeTimer)
    cam.volumeTimer = null
    cam.volume = v
    if (!cam.profile) {
      cam.profile = this.d.profiles.get(this.d.docking.defaultProfile)!
      cam.profileBy = 'default'
    }
    this.log.info(
      {
        event: 'camera.docked',
        camera: cam.id,
        volume: v.path,
        kind: v.kind,
        profile: cam.profile.id,
        profileBy: cam.profileBy,
        usb: cam.usb,
        identity: cam.identity,
      },
      'camera docked',
    )
    this.queue.push(cam)
    this.setState(cam, 'queued')
    this.schedule()
    return true
  }

  private undock(cam: Cam, reason: string): void {
    if (cam.gone) return
    cam.gone = true
    if (cam.volumeTimer) clearTimeout(cam.volumeTimer)
    const qi = this.queue.indexOf(cam)
    if (qi >= 0) this.queue.splice(qi, 1)
    const safe = cam.state === 'safe-to-undock'
    if (safe) this.log.info({ event: 'camera.undocked', camera: cam.id, volume: cam.volume?.path ?? null, state: cam.state, safe }, 'camera undocked')
    else
      this.log.warn(
        { event: 'camera.undocked', camera: cam.id, volume: cam.volume?.path ?? null, state: cam.state, safe, reason },
        'camera undocked before it was safe: dock it again to finish',
      )
    if (cam.unlockAbort) cam.unlockAbort.abort(new Error(reason))
    if (cam.abort) {
      cam.lastError = `not copied: ${reason}; dock it again to resume`
      cam.abort.abort(new Error(cam.lastError))
      return // the session ends, then finish() files it
    }
    this.finish(cam)
  }

  /** Files an undocked camera under recent and forgets it. */
  private finish(cam: Cam): void {
    if (!this.cams.delete(cam.id)) return
    this.share.forget(cam.id)
    this.recent.unshift(recentOf(cam, this.now()))
    if (this.recent.length > RECENT_MAX) this.recent.length = RECENT_MAX
    this.changed('state')
    this.releaseDeferred()
  }

  // ------------------------------------------------------------ sessions

  private schedule(): void {
    while (!this.stopping && this.active.size < this.d.docking.concurrency && this.queue.length > 0) {
      const cam = this.queue.shift()!
      if (cam.gone) continue
      this.active.add(cam)
      cam.run = this.runSession(cam).finally(() => {
        this.active.delete(cam)
        this.share.forget(cam.id) // its account ends with its session
        cam.run = null
        if (cam.gone || this.stopping) this.finish(cam)
        this.schedule()
      })
    }
  }

  private runSession(cam: Cam): Promise<void> {
    return runCameraSession(cam, {
      ingest: (o) => this.d.ingest(o),
      db: this.d.db,
      vault: this.d.vault,
      profiles: this.d.profiles,
      docking: this.d.docking,
      share: this.share,
      log: this.log,
      actor: this.actor,
      now: this.now,
      stopping: () => this.stopping,
      setState: (c, state, extra) => this.setState(c, state, extra),
      changed: (change) => this.changed(change),
      rescan: () => this.mounts.scan(),
    })
  }
}
