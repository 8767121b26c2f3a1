/**
 * Whose recording it is, decided at ingest: the camera's own word first
 * (the file name, the unlock tool), else the device's carrier at the
 * recorded time (an assignment, a pool checkout). The source is stored
 * with the recording; when the camera names one officer and the roster
 * another, the camera's stands and a finding waits for a clerk: the
 * station never picks between them silently. The unit is the officer's at
 * the recorded time, so statistics by unit stay exact after a move.
 */
import { carrierAt, insertAttribution, type OfficerSource } from '../catalog/assignments.js'
import type { Db } from '../catalog/db.js'
import { deviceBySerial, getDevice, unitAt } from '../catalog/registry.js'
import { raiseFinding } from './findings.js'

/** One new recording, as ingest describes it (src/ingest/types.ts AttributionInput). */
export interface RecordingToAttribute {
  deviceId: string | null
  officerId: string | null
  officerFrom: 'file-name' | 'camera-identity' | null
  usb: { vendorId: string; productId: string; serial: string | null } | null
  recordedAt: string
  kind: string
  counter: number | null
  sessionId: number | null
}

export interface Attributed {
  officerId: string | null
  attribution: { officerSource: OfficerSource; deviceNumber: string | null; unitCode: string | null; fileCounter: number | null }
  record(tx: Db, recordingId: number, at: string): void
}

export function attributeRecording(db: Db, actor: string, r: RecordingToAttribute): Attributed {
  const serial = r.usb?.serial?.trim()
  const device = (r.deviceId !== null ? getDevice(db, r.deviceId) : undefined) ?? (r.usb && serial ? deviceBySerial(db, { ...r.usb, serial }) : undefined)
  const deviceNumber = device?.deviceNumber ?? r.deviceId
  const carrier = device ? carrierAt(db, device.deviceNumber, r.recordedAt) : undefined
  let officerId: string | null
  let officerSource: OfficerSource
  if (r.officerId !== null) {
    officerId = r.officerId
    officerSource = r.officerFrom ?? 'camera-identity'
  } else if (carrier) {
    officerId = carrier.policeNumber
    officerSource = carrier.kind
  } else {
    officerId = null
    officerSource = 'none'
  }
  const conflict = carrier && r.officerId !== null && carrier.policeNumber !== r.officerId ? carrier : undefined
  const attribution = { officerSource, deviceNumber, unitCode: officerId ? unitAt(db, officerId, r.recordedAt) : null, fileCounter: r.counter }
  return {
    officerId,
    attribution,
    record: (tx, recordingId, at) => {
      insertAttribution(tx, { recordingId, ...attribution })
      // A sidecar follows its clip: one finding per recording a clerk looks at.
      if (!conflict || r.kind === 'sidecar') return
      const said = officerSource === 'file-name' ? 'its file name' : 'the camera'
      raiseFinding(tx, actor, {
        kind: 'officer-conflict',
        code: 'officer-mismatch',
        deviceNumber,
        recordingId,
        sessionId: r.sessionId,
        message: `recording ${recordingId}: ${said} names officer ${r.officerId}, but device ${deviceNumber} was ${conflict.kind === 'checkout' ? 'checked out to' : 'assigned to'} officer ${conflict.policeNumber} at ${r.recordedAt}; recorded as ${r.officerId} (the camera's word) until a clerk decides`,
        detail: {
          cameraOfficer: r.officerId,
          cameraSource: officerSource,
          rosterOfficer: conflict.policeNumber,
          rosterSource: conflict.kind,
          assignmentId: conflict.id,
          recordedAt: r.recordedAt,
        },
        foundAt: at,
      })
    },
  }
}
