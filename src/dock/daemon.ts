import { readdir, realpath, stat } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import type { Db } from '../catalog/db.js'
import { verifiedCopy } from '../catalog/remote-copies.js'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { recordingFacts } from '../camera/names.js'
import type { DockingSettings } from './settings.js'
import type { IngestProgress, IngestReport, IngestSessionOptions } from '../ingest/session.js'
import { listCamera } from '../ingest/walk.js'
import type { Vault } from '../vault/store.js'
import { DiskShare } from './fairshare.js'
import { EMPTY_IDENTITY, type DockIdentity } from '../camera/identity.js'
import { looksLikeCamera, pickProfile, profileForUsb, type PickedBy } from '../camera/match.js'
import { MountWatcher, type UsbOfVolume, type Volume } from './mounts.js'
import { getProfile, wipesAfterIngest, type DockingProfile } from '../camera/profile.js'
import { clockDrift, etaSeconds, RateMeter, type ClockDrift } from './progress.js'
import { recordIdentity, recordWipe } from './record.js'
import type { CameraState, CameraStatus, RecentDocking, StationStatus, StatusChange } from './status.js'
import { DEFAULT_UNLOCK_TIMEOUT_MS, runUnlock } from './unlock.js'
import { UsbWatcher, type UsbBackend, type UsbDeviceInfo } from './usb.js'
import { wipeCamera } from './wipe.js'

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

/** One docked camera, from USB attach or volume appearance to undock. */
interface Cam {
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
  progress: { filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number }
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
  private readonly listeners = new Set<(change: StatusChange) => void>()

  constructor(private readonly d: StationDaemonDeps) {
    this.log = d.logger.child({ component: 'dock' })
    this.now = d.now ?? Date.now
    this.startedAt = this.now()
    this.actor = `station:${d.station.id}`
    getProfile(d.profiles, d.docking.defaultProfile)
    this.share = new DiskShare(d.docking.diskStreams)
    this.usbWatcher = new UsbWatcher(d.usb, this.log)
    this.mounts = new MountWatcher({
      roots: d.docking.mountRoots,
      pollMs: d.docking.pollMs,
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
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private changed(change: StatusChange): void {
    for (const fn of this.listeners) {
      try {
        fn(change)
      } catch (err) {
        this.log.error({ event: 'dock.subscriber_failed', err: errorMessage(err) }, 'a status subscriber failed')
      }
    }
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
      cameras: [...this.cams.values()].map((c) => this.camStatus(c)),
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
    const now = this.now()
    const cam: Cam = {
      id: `cam-${++this.seq}`,
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
      progress: { filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 },
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

  /** The volume an unlocked camera exposed: where the tool said, or on its USB port, or the only one its profile's markers pick. */
  private async volumeForUnlocked(cam: Cam, candidates: Volume[]): Promise<Volume | undefined> {
    const said = cam.identity.mountPoint ? await realpath(cam.identity.mountPoint).catch(() => resolve(cam.identity.mountPoint!)) : null
    if (said) {
      const v = candidates.find((c) => c.path === said)
      if (v) return v
    }
    const port = cam.usb?.port
    const byPort = candidates.find((c) => port && c.usb?.port === port)
    if (byPort) return byPort
    if (said) return undefined
    const matching: Volume[] = []
    for (const v of candidates) {
      const picked = pickProfile(
        this.d.profiles,
        { usb: v.usb ?? undefined, rootEntries: await readdir(v.path).catch(() => []) },
        this.d.docking.defaultProfile,
      )
      if (picked.profile.id === cam.profile?.id) matching.push(v)
    }
    return matching.length === 1 ? matching[0] : undefined
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
      if ((await this.volumeForUnlocked(c, [v])) === v && this.dockVolume(c, v)) return
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
    this.recent.unshift({
      id: cam.id,
      volume: cam.volume?.path ?? null,
      deviceId: cam.identity.deviceId ?? cam.namedDevice,
      officerId: cam.identity.officerId ?? cam.namedOfficer,
      officerName: cam.identity.officerName,
      profileId: cam.profile?.id ?? null,
      sessionId: cam.sessionId,
      lastState: cam.state,
      outcome: cam.state === 'safe-to-undock' ? 'complete' : 'incomplete',
      dockedAt: new Date(cam.dockedAt).toISOString(),
      endedAt: new Date(this.now()).toISOString(),
      files: { done: cam.progress.filesDone, total: cam.progress.filesTotal },
      bytes: { done: cam.progress.bytesDone, total: cam.progress.bytesTotal },
      lastError: cam.lastError,
    })
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

  private async runSession(cam: Cam): Promise<void> {
    const vol = cam.volume!
    const profile = cam.profile!
    cam.abort = new AbortController()
    cam.lastError = null
    cam.rate = new RateMeter()
    this.setState(cam, 'copying')
    let report: IngestReport
    try {
      await this.survey(cam, vol, profile)
      report = await this.d.ingest({
        root: vol.path,
        profile,
        identity: { deviceId: cam.identity.deviceId, officerId: cam.identity.officerId },
        logger: this.log.child({ camera: cam.id }),
        signal: cam.abort.signal,
        diskGate: this.share.gate(cam.id),
        onProgress: (p) => this.onProgress(cam, p),
      })
    } catch (err) {
      cam.abort = null
      if (!cam.gone) {
        cam.lastError = `${errorMessage(err)}: undock and dock the camera again to retry`
        this.setState(cam, 'error')
      }
      return
    }
    cam.abort = null
    cam.sessionId = report.sessionId
    cam.progress.filesTotal = report.filesTotal
    if (report.state !== 'complete') {
      // Failures because the volume just vanished are an undock, not an error: look before saying which.
      if (!cam.gone && !this.stopping) await this.mounts.scan()
      if (!cam.gone && !this.stopping) {
        const first = report.failed[0]
        cam.lastError = `${report.failed.length} file(s) not ingested${first ? ` (first: ${first.sourcePath}: ${first.error})` : ''}; undock and dock the camera again to retry`
        this.setState(cam, 'error', { failed: report.failed.length })
      } else {
        this.log.warn(
          { event: 'camera.session_incomplete', camera: cam.id, sessionId: report.sessionId, failed: report.failed.length, reason: cam.lastError },
          'ingest session ended incomplete: committed files stay, the rest resumes on re-dock',
        )
      }
      return
    }
    // Complete: every media file on the camera is verified in the vault. Check the objects are there once more before saying so:
    // a local object, or one evicted from the local cache that a verified remote copy holds (a re-docked file after offload, or
    // on a catalog rebuilt from the bucket).
    this.setState(cam, 'verifying')
    const files = [...report.ingested, ...report.present]
    const missing: string[] = []
    for (const f of files) {
      const st = await stat(this.d.vault.objectPath(f.sha256)).catch(() => undefined)
      if (st ? st.size !== f.size : verifiedCopy(this.d.db, f.sha256)?.size !== f.size) missing.push(f.sourcePath)
    }
    if (missing.length) {
      cam.lastError = `${missing.length} file(s) are not in the vault after a complete session (first: ${missing[0]}): run bodyvault verify, then dock again`
      this.setState(cam, 'error')
      return
    }
    if (wipesAfterIngest(profile) && !cam.gone && !this.stopping) {
      this.setState(cam, 'wiping')
      const w = await wipeCamera(report.root, files, this.d.vault)
      recordWipe(this.d.db, {
        sessionId: report.sessionId,
        deviceId: cam.identity.deviceId ?? cam.namedDevice,
        profileId: profile.id,
        root: report.root,
        files: w.removed.map((f) => ({ sourcePath: f.sourcePath, sha256: f.sha256, size: f.size })),
        failed: w.failed,
        actor: this.actor,
      })
      this.log.info(
        { event: 'camera.wiped', camera: cam.id, sessionId: report.sessionId, removed: w.removed.length, failed: w.failed.length },
        'camera wiped after a complete ingest',
      )
      cam.wiped = w.failed.length === 0
      if (w.failed.length) {
        // Everything is in the vault, so undocking is safe; the camera still holds what could not be removed.
        cam.lastError = `${w.failed.length} file(s) could not be wiped from the camera (first: ${w.failed[0]!.sourcePath}: ${w.failed[0]!.error}); every file is in the vault`
      }
    }
    this.setState(cam, 'safe-to-undock', { sessionId: report.sessionId, ingested: report.ingested.length, present: report.present.length })
  }

  /** Lists the camera once before the session: totals for the status, the device the names carry, and the clock drift. */
  private async survey(cam: Cam, vol: Volume, profile: DockingProfile): Promise<void> {
    const listing = await listCamera(vol.path, profile)
    const times: number[] = []
    const devices = new Map<string, number>()
    const officers = new Map<string, number>()
    for (const f of listing.files) {
      const facts = recordingFacts(basename(f.sourcePath), f.mtimeMs, profile, { deviceId: cam.identity.deviceId, officerId: cam.identity.officerId })
      times.push(Date.parse(facts.recordedAt))
      if (facts.deviceId) devices.set(facts.deviceId, (devices.get(facts.deviceId) ?? 0) + 1)
      if (facts.officerId) officers.set(facts.officerId, (officers.get(facts.officerId) ?? 0) + 1)
    }
    const most = (m: Map<string, number>): string | null => [...m.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null
    cam.namedDevice = most(devices)
    cam.namedOfficer = most(officers)
    cam.progress = { filesDone: 0, filesTotal: listing.files.length, bytesDone: 0, bytesTotal: listing.files.reduce((a, f) => a + f.size, 0) }
    cam.drift = clockDrift(times, this.now(), this.d.docking.clockDriftToleranceSec * 1000)
    if (cam.drift.flagged) {
      this.log.warn(
        { event: 'camera.clock_drift', camera: cam.id, aheadSec: cam.drift.aheadSec, newest: cam.drift.newest },
        'camera clock runs ahead of the station clock: file times may be wrong; set the camera clock',
      )
    }
    this.changed('progress')
  }

  private onProgress(cam: Cam, p: IngestProgress): void {
    cam.progress = { filesDone: p.filesDone, filesTotal: p.filesTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }
    cam.rate.add(this.now(), p.bytesDone)
    if (cam.sessionId === null) {
      const row = this.d.db
        .prepare("SELECT id FROM ingest_sessions WHERE state = 'running' AND pid = ? AND source_root = ? ORDER BY id DESC LIMIT 1")
        .get(process.pid, cam.volume ? resolveSafe(cam.volume.path) : '') as { id: number } | undefined
      if (row) cam.sessionId = row.id
    }
    if (cam.state === 'copying' && p.bytesDone >= p.bytesTotal && p.filesDone >= p.filesTotal) this.setState(cam, 'verifying')
    else this.changed('progress')
  }

  private camStatus(c: Cam): CameraStatus {
    const rate = c.state === 'copying' || c.state === 'verifying' ? c.rate.rate() : null
    const usb = c.usb ? { vendorId: c.usb.vendorId, productId: c.usb.productId, serial: c.usb.serial, port: c.usb.port } : null
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
      files: { done: c.progress.filesDone, total: c.progress.filesTotal },
      bytes: { done: c.progress.bytesDone, total: c.progress.bytesTotal },
      rateBytesPerSec: rate === null ? null : Math.round(rate),
      etaSec: c.state === 'copying' || c.state === 'verifying' ? etaSeconds(c.progress.bytesDone, c.progress.bytesTotal, rate) : null,
      clockDrift: c.drift,
      lastError: c.lastError,
      wiped: c.wiped,
    }
  }
}

/** ingest_sessions.source_root holds the realpath; mount points under the roots are already real. */
function resolveSafe(p: string): string {
  return resolve(p)
}
