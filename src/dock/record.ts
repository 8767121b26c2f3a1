import type { Db } from '../catalog/db.js'
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
  return db
    .transaction(() => {
      const ev = appendEvent(db, {
        type: 'camera-identified',
        actor: o.actor,
        subject: id.deviceId ? `device:${id.deviceId}` : `officer:${id.officerId}`,
        payload: {
          deviceId: id.deviceId,
          officerId: id.officerId,
          officerName: id.officerName,
          unitCode: id.unitCode,
          unitName: id.unitName,
          profileId: o.profileId,
          usbId: o.usb ? `${o.usb.vendorId}:${o.usb.productId}` : null,
          usbSerial: o.usb?.serial ?? null,
        },
      })
      if (id.deviceId) {
        db.prepare(`INSERT INTO devices (id, first_seen, last_seen, profile_id, usb_id, usb_serial) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen, profile_id = excluded.profile_id,
          usb_id = coalesce(excluded.usb_id, usb_id), usb_serial = coalesce(excluded.usb_serial, usb_serial)`).run(
          id.deviceId,
          ev.at,
          ev.at,
          o.profileId,
          o.usb ? `${o.usb.vendorId}:${o.usb.productId}` : null,
          o.usb?.serial ?? null,
        )
      }
      if (id.officerId) {
        db.prepare(`INSERT INTO officers (id, first_seen, last_seen, name, unit_code, unit_name) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen, name = coalesce(excluded.name, name),
          unit_code = coalesce(excluded.unit_code, unit_code), unit_name = coalesce(excluded.unit_name, unit_name)`).run(
          id.officerId,
          ev.at,
          ev.at,
          id.officerName,
          id.unitCode,
          id.unitName,
        )
      }
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
    subject: `session:${o.sessionId}`,
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
