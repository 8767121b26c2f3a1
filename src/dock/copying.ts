/**
 * A docked camera's session, from `copying` to `safe-to-undock` or
 * `error`: the ingest session (which lists the volume again before it
 * says complete), the check that every file is in the vault, the wipe when
 * the profile asks for one. "Safe to undock" is said only after all of it.
 */
import { stat } from 'node:fs/promises'
import { recordingFacts } from '../camera/names.js'
import { wipesAfterIngest } from '../camera/profile.js'
import { idsFromNames } from '../camera/volume-id.js'
import type { Db } from '../catalog/db.js'
import { verifiedCopy } from '../catalog/remote-copies.js'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import type { IngestProgress, IngestReport, IngestSessionOptions } from '../ingest/session.js'
import type { Listing } from '../ingest/walk.js'
import type { Vault } from '../vault/store.js'
import { type Cam, learnNames } from './cams.js'
import type { DiskShare } from './fairshare.js'
import { clockDrift, RateMeter } from './progress.js'
import { recordWipe } from './record.js'
import type { DockingSettings } from './settings.js'
import type { CameraState, StatusChange } from './status.js'
import { wipeCamera } from './wipe.js'
import type { DockingProfile } from '../camera/profile.js'

/** What a camera's session needs from the daemon. */
export interface CopyingDeps {
  ingest(session: IngestSessionOptions): Promise<IngestReport>
  db: Db
  vault: Vault
  profiles: Map<string, DockingProfile>
  docking: DockingSettings
  share: DiskShare
  log: Logger
  actor: string
  now(): number
  stopping(): boolean
  setState(cam: Cam, state: CameraState, extra?: Record<string, unknown>): void
  /** Tells the status subscribers (the dock screen's stream) that bytes or files moved. */
  changed(change: StatusChange): void
  /** Re-reads the mount table (a failure because the volume just vanished is an undock, not an error). */
  rescan(): Promise<void>
}

export async function runCameraSession(cam: Cam, x: CopyingDeps): Promise<void> {
  const vol = cam.volume!
  const profile = cam.profile!
  cam.abort = new AbortController()
  cam.lastError = null
  cam.rate = new RateMeter()
  x.setState(cam, 'copying')
  let report: IngestReport
  try {
    report = await x.ingest({
      root: vol.path,
      profile,
      identity: { deviceId: cam.identity.deviceId, officerId: cam.identity.officerId },
      usb: cam.usb ? { vendorId: cam.usb.vendorId, productId: cam.usb.productId, serial: cam.usb.serial } : null,
      logger: x.log.child({ camera: cam.id }),
      signal: cam.abort.signal,
      diskGate: x.share.gate(cam.id),
      onProgress: (p) => onProgress(cam, p, x),
      onListing: (l) => onListing(cam, l, x),
    })
  } catch (err) {
    cam.abort = null
    if (!cam.gone) {
      cam.lastError = `${errorMessage(err)}: undock and dock the camera again to retry`
      x.setState(cam, 'error')
    }
    return
  } finally {
    cam.live = null
  }
  cam.abort = null
  cam.sessionId = report.sessionId
  if (report.state !== 'complete') {
    // Failures because the volume just vanished are an undock, not an error: look before saying which.
    if (!cam.gone && !x.stopping()) await x.rescan()
    if (!cam.gone && !x.stopping()) {
      const first = report.failed[0]
      cam.lastError = `${report.failed.length} file(s) not ingested${first ? ` (first: ${first.sourcePath}: ${first.error})` : ''}; undock and dock the camera again to retry`
      x.setState(cam, 'error', { failed: report.failed.length })
    } else {
      x.log.warn(
        { event: 'camera.session_incomplete', camera: cam.id, sessionId: report.sessionId, failed: report.failed.length, reason: cam.lastError },
        'ingest session ended incomplete: committed files stay, the rest resumes on re-dock',
      )
    }
    return
  }
  // Complete: every media file of the last listing is verified in the vault. Check the objects are there once more before saying so.
  x.setState(cam, 'verifying')
  const files = [...report.ingested, ...report.present]
  const missing: string[] = []
  for (const f of files) {
    const st = await stat(x.vault.objectPath(f.sha256)).catch(() => undefined)
    // A local object, or one evicted from the local cache that a verified remote copy holds (a re-docked file after
    // offload, or on a catalog rebuilt from the bucket).
    if (st ? st.size !== f.size : verifiedCopy(x.db, f.sha256)?.size !== f.size) missing.push(f.sourcePath)
  }
  if (missing.length) {
    cam.lastError = `${missing.length} file(s) are not in the vault after a complete session (first: ${missing[0]}): run bodyvault verify, then dock again`
    x.setState(cam, 'error')
    return
  }
  if (wipesAfterIngest(profile) && !cam.gone && !x.stopping()) {
    x.setState(cam, 'wiping')
    const w = await wipeCamera(report.root, files, x.vault)
    recordWipe(x.db, {
      sessionId: report.sessionId,
      deviceId: cam.identity.deviceId ?? cam.namedDevice,
      profileId: profile.id,
      root: report.root,
      files: w.removed.map((f) => ({ sourcePath: f.sourcePath, sha256: f.sha256, size: f.size })),
      failed: w.failed,
      actor: x.actor,
    })
    x.log.info(
      { event: 'camera.wiped', camera: cam.id, sessionId: report.sessionId, removed: w.removed.length, failed: w.failed.length },
      'camera wiped after a complete ingest',
    )
    cam.wiped = w.failed.length === 0
    if (w.failed.length) {
      // Everything is in the vault, so undocking is safe; the camera still holds what could not be removed.
      cam.lastError = `${w.failed.length} file(s) could not be wiped from the camera (first: ${w.failed[0]!.sourcePath}: ${w.failed[0]!.error}); every file is in the vault`
    }
  }
  x.setState(cam, 'safe-to-undock', {
    sessionId: report.sessionId,
    ingested: report.ingested.length,
    present: report.present.length,
    unrecognised: report.unrecognised.length,
    passes: report.passes,
    listedAt: report.listedAt,
  })
}

/** Each listing of the volume: the device and officer the names carry, and (once) the camera clock drift. */
function onListing(cam: Cam, l: Listing, x: CopyingDeps): void {
  const names = l.files.map((f) => f.sourcePath.slice(f.sourcePath.lastIndexOf('/') + 1))
  const named = idsFromNames(names, [cam.profile!, ...x.profiles.values()])
  learnNames(cam, named)
  if (cam.drift) return
  const identity = { deviceId: cam.identity.deviceId, officerId: cam.identity.officerId }
  const times = l.files.map((f, i) => Date.parse(recordingFacts(names[i]!, f.mtimeMs, cam.profile!, identity).recordedAt))
  cam.drift = clockDrift(times, x.now(), x.docking.clockDriftToleranceSec * 1000)
  if (cam.drift.flagged) {
    x.log.warn(
      { event: 'camera.clock_drift', camera: cam.id, aheadSec: cam.drift.aheadSec, newest: cam.drift.newest },
      'camera clock runs ahead of the station clock: file times may be wrong; set the camera clock',
    )
  }
}

function onProgress(cam: Cam, p: IngestProgress, x: CopyingDeps): void {
  cam.live = p
  cam.sessionId = p.sessionId
  cam.progress = { filesDone: p.filesDone, filesTotal: p.filesTotal, filesStored: p.filesStored, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }
  cam.rate.add(x.now(), p.bytesDone)
  const allRead = p.bytesDone >= p.bytesTotal && p.filesDone >= p.filesTotal
  if (cam.state === 'copying' && allRead) x.setState(cam, 'verifying')
  else if (cam.state === 'verifying' && !allRead) x.setState(cam, 'copying', { pass: p.pass })
  else x.changed('progress')
}
