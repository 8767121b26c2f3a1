/**
 * The roster as the ledger says it is: units, officers with their unit
 * over time, devices, who carried which device when, and whose each
 * recording is (its attribution). Every change of these is an event
 * (src/registry/manage.ts, assign.ts, attribute.ts via `ingested`), so a
 * catalog rebuilt from the bucket gets them back from the chain alone.
 */
import { type Assignment, type Attribution, insertAttribution, restoreAssignment } from '../catalog/assignments.js'
import type { Db } from '../catalog/db.js'
import { moveOfficerUnit, type RosterDevice, type RosterOfficer, saveDevice, saveOfficer, saveUnit, type Unit } from '../catalog/registry.js'
import type { EventPayload } from '../ledger/events.js'

type Ev = { type: string; at: string; actor: string; payload: Record<string, unknown> }

export class RosterFold {
  readonly units = new Map<string, Unit>()
  readonly officers = new Map<string, RosterOfficer>()
  /** Unit changes in chain order: [police number, unit, from]. */
  readonly unitMoves: [string, string, string][] = []
  readonly devices = new Map<string, RosterDevice>()
  readonly assignments = new Map<number, Assignment>()
  readonly attributions = new Map<number, Attribution>()

  apply(ev: Ev): void {
    switch (ev.type) {
      case 'unit-saved': {
        const { entry } = ev.payload as EventPayload<'unit-saved'>
        this.units.set(entry.code, { ...entry, updatedAt: ev.at })
        break
      }
      case 'officer-saved': {
        const { entry, unitFrom } = ev.payload as EventPayload<'officer-saved'>
        this.officers.set(entry.policeNumber, { ...entry, updatedAt: ev.at })
        if (unitFrom !== null) this.unitMoves.push([entry.policeNumber, entry.unitCode, unitFrom])
        break
      }
      case 'device-saved': {
        const { entry } = ev.payload as EventPayload<'device-saved'>
        this.devices.set(entry.deviceNumber, { ...entry, updatedAt: ev.at })
        break
      }
      case 'device-assigned': {
        const p = ev.payload as EventPayload<'device-assigned'>
        this.assignments.set(p.assignmentId, {
          id: p.assignmentId,
          deviceNumber: p.deviceNumber,
          policeNumber: p.policeNumber,
          kind: p.kind,
          validFrom: p.validFrom,
          validTo: p.validTo,
          createdAt: ev.at,
          createdBy: ev.actor,
        })
        break
      }
      case 'device-returned': {
        const p = ev.payload as EventPayload<'device-returned'>
        const a = this.assignments.get(p.assignmentId)
        if (a) a.validTo = p.validTo
        break
      }
      case 'ingested': {
        // Recordings ingested before the registry carry no attribution: they get none back, as they had none.
        const p = ev.payload as EventPayload<'ingested'>
        if (p.officerSource === undefined) break
        this.attributions.set(p.recordingId, {
          recordingId: p.recordingId,
          deviceNumber: p.deviceNumber ?? null,
          officerSource: p.officerSource,
          unitCode: p.unitCode ?? null,
          fileCounter: p.fileCounter ?? null,
        })
        break
      }
    }
  }

  /** Writes the folded roster into an empty catalog, inside the caller's transaction (after the recordings: attributions point to them). */
  write(db: Db): { units: number; officers: number; devices: number; assignments: number; attributions: number } {
    // Parents before their units (a unit may have been moved under one made after it).
    const left = new Map(this.units)
    while (left.size) {
      const ready = [...left.values()].filter((u) => u.parentCode === null || !left.has(u.parentCode))
      if (!ready.length) throw new Error(`the ledger's units form a loop of parents: ${[...left.keys()].join(', ')}`)
      for (const u of ready) {
        saveUnit(db, u)
        left.delete(u.code)
      }
    }
    for (const o of this.officers.values()) saveOfficer(db, o)
    for (const [pn, unit, from] of this.unitMoves) moveOfficerUnit(db, pn, unit, from)
    for (const d of this.devices.values()) saveDevice(db, d)
    for (const a of this.assignments.values()) restoreAssignment(db, a)
    for (const a of this.attributions.values()) insertAttribution(db, a)
    return {
      units: this.units.size,
      officers: this.officers.size,
      devices: this.devices.size,
      assignments: this.assignments.size,
      attributions: this.attributions.size,
    }
  }
}
