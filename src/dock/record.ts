import type { Db } from '../catalog/db.js'
import { recordCameraIdentity } from '../catalog/recordings.js'
import { subjects } from '../ledger/events.js'
import { appendEvent, type LedgerEvent } from '../ledger/ledger.js'
import type { DockIdentity } from '../camera/identity.js'

/**
 * Records who a docked camera and its officer are (from the vendor unlock
 * tool): the devices and officers rows and a `camera-identified` ledger
 * event, in one transaction, so the rows can be rebuilt from the ledger.
 * Nothing is written when the identity names neither device nor officer.
 */
export function recordIdentity(
  db: Db,
  o: { identity: DockIdentity; profileId: string; usb: { vendorId: string; productId: string; serial: string | null } | null; actor: string },
): LedgerEvent | undefined {
  const { identity: id } = o
  if (!id.deviceId && !id.officerId) return undefined
  const payload = {
    deviceId: id.deviceId,
    officerId: id.officerId,
    officerName: id.officerName,
    unitCode: id.unitCode,
    unitName: id.unitName,
    profileId: o.profileId,
    usbId: o.usb ? `${o.usb.vendorId}:${o.usb.productId}` : null,
    usbSerial: o.usb?.serial ?? null,
  }
  return db
    .transaction(() => {
      const ev = appendEvent(db, {
        type: 'camera-identified',
        actor: o.actor,
        subject: id.deviceId ? subjects.device(id.deviceId) : subjects.officer(id.officerId!),
        payload,
      })
      // The same rule a rebuild from the bucket replays (offload/rebuild.ts): one place says how an identity lands in the rows.
      recordCameraIdentity(db, { ...payload, at: ev.at })
      return ev
    })
    .immediate()
}

/** Records that a camera was wiped after a complete ingest: which files, verified in the vault under which hashes. */
export function recordWipe(
  db: Db,
  o: {
    sessionId: number
    deviceId: string | null
    profileId: string
    root: string
    files: { sourcePath: string; sha256: string; size: number }[]
    failed: { sourcePath: string; error: string }[]
    actor: string
  },
): LedgerEvent {
  return appendEvent(db, {
    type: 'camera-wiped',
    actor: o.actor,
    subject: subjects.session(o.sessionId),
    payload: {
      sessionId: o.sessionId,
      deviceId: o.deviceId,
      profileId: o.profileId,
      root: o.root,
      files: o.files,
      bytes: o.files.reduce((a, f) => a + f.size, 0),
      failed: o.failed,
    },
  })
}
