/**
 * Who carries which device: an assignment for a period (一人一机: one
 * officer, one camera) or a checkout from the pool for a shift, returned
 * at its end. A device has at most one carrier at any instant; each
 * change is its row and its ledger event in one transaction.
 */
import { type Assignment, type AssignmentKind, getAssignment, insertAssignment, overlapping } from '../catalog/assignments.js'
import { getDevice, getOfficer } from '../catalog/registry.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { closePeriod, type RegistryCtx } from './manage.js'

export function assignDevice(
  ctx: RegistryCtx,
  a: { deviceNumber: string; policeNumber: string; kind: AssignmentKind; from?: string | undefined; to?: string | null | undefined },
): Assignment {
  const { db } = ctx
  return db
    .transaction(() => {
      const device = getDevice(db, a.deviceNumber)
      if (!device) throw new BodyvaultError('REGISTRY_NOT_FOUND', `device ${a.deviceNumber} is not on the roster (bodyvault device add)`)
      if (device.status !== 'in-service') throw new BodyvaultError('REGISTRY_INVALID', `device ${a.deviceNumber} is ${device.status}, not in service`)
      const officer = getOfficer(db, a.policeNumber)
      if (!officer) throw new BodyvaultError('REGISTRY_NOT_FOUND', `officer ${a.policeNumber} is not on the roster (bodyvault officer add)`)
      const validFrom = a.from ?? ctx.now.toISOString()
      const validTo = a.to ?? null
      if (validTo !== null && validTo <= validFrom) throw new BodyvaultError('DATE_ORDER', `the period ends (${validTo}) before it starts (${validFrom})`)
      if (officer.activeTo !== null && officer.activeTo <= validFrom)
        throw new BodyvaultError('REGISTRY_INVALID', `officer ${a.policeNumber} left the roster on ${officer.activeTo}`)
      const clash = overlapping(db, a.deviceNumber, validFrom, validTo)
      if (clash.length)
        throw new BodyvaultError(
          'ASSIGNMENT_OVERLAP',
          `device ${a.deviceNumber} is already ${clash.map((c) => `${c.kind === 'checkout' ? 'checked out to' : 'assigned to'} ${c.policeNumber} from ${c.validFrom}${c.validTo ? ` to ${c.validTo}` : ' (open)'} (#${c.id})`).join('; ')}: end that first`,
        )
      const row = {
        deviceNumber: a.deviceNumber,
        policeNumber: a.policeNumber,
        kind: a.kind,
        validFrom,
        validTo,
        createdAt: ctx.now.toISOString(),
        createdBy: ctx.actor,
      }
      const id = insertAssignment(db, row)
      appendEvent(db, {
        type: 'device-assigned',
        actor: ctx.actor,
        subject: subjects.assignment(id),
        payload: { assignmentId: id, kind: a.kind, deviceNumber: a.deviceNumber, policeNumber: a.policeNumber, validFrom, validTo },
        at: ctx.now,
      })
      return { id, ...row }
    })
    .immediate()
}

/** Ends the device's open assignment or checkout (a returned checkout, an assignment that ends) at `at`, default now. */
export function returnDevice(ctx: RegistryCtx, deviceNumber: string, at?: string): Assignment {
  const { db } = ctx
  return db
    .transaction(() => {
      const to = at ?? ctx.now.toISOString()
      const open = overlapping(db, deviceNumber, to, null).filter((x) => x.validTo === null && x.validFrom < to)
      if (open.length === 0) throw new BodyvaultError('REGISTRY_NOT_FOUND', `device ${deviceNumber} is neither assigned nor checked out at ${to}`)
      const a = open[open.length - 1]!
      closePeriod(ctx, a.id, to)
      return getAssignment(db, a.id)!
    })
    .immediate()
}
