import { readFileSync, writeFileSync } from 'node:fs'
import { listAssignments } from '../../catalog/assignments.js'
import { getDevice, getOfficer, getUnit, listDevices, listOfficers, listUnits, unitHistory } from '../../catalog/registry.js'
import { UsageError } from '../../common/errors.js'
import { assignDevice, returnDevice } from '../../registry/assign.js'
import { type RegistryCtx, retireDevice, retireOfficer, retireUnit, saveDeviceEntry, saveOfficerEntry, saveUnitEntry } from '../../registry/manage.js'
import { type Entity, exportRoster, formatOf, importRoster, RosterError } from '../../registry/roster.js'
import { local, parseInstant } from '../args.js'
import { operatorActor } from '../identity.js'
import { EXIT, io, parse, showUsage, type Command } from '../common.js'
import { station } from '../open-station.js'
import { usageOf } from '../table.js'
import { table } from '../format.js'

/**
 * `bodyvault unit|officer|device ...`: the roster (list, show, add, update,
 * retire, import and export as CSV or XLSX) and who carries which device
 * (assign for a period, check out for a shift, return). Every change is
 * a ledger event naming --by (else the login name).
 */

const common = { by: { type: 'string' }, out: { type: 'string' }, format: { type: 'string' } } as const
const SPEC = {
  unit: {
    entity: 'units' as Entity,
    key: 'code',
    options: { ...common, name: { type: 'string' }, level: { type: 'string' }, parent: { type: 'string' } },
    fields: { name: 'name', level: 'level', parent: 'parent' },
  },
  officer: {
    entity: 'officers' as Entity,
    key: 'police_number',
    options: {
      ...common,
      name: { type: 'string' },
      unit: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'unit-from': { type: 'string' },
      at: { type: 'string' },
    },
    fields: { name: 'name', unit: 'unit', from: 'active_from', to: 'active_to', 'unit-from': 'unit_from' },
  },
  device: {
    entity: 'devices' as Entity,
    key: 'device_number',
    options: {
      ...common,
      serial: { type: 'string' },
      usb: { type: 'string' },
      model: { type: 'string' },
      profile: { type: 'string' },
      unit: { type: 'string' },
      status: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      at: { type: 'string' },
    },
    fields: { serial: 'serial', usb: 'usb_id', model: 'model', profile: 'profile', unit: 'unit', status: 'status' },
  },
} as const

type Name = keyof typeof SPEC

function command(name: Name): Command {
  const spec = SPEC[name]
  const usage = usageOf(name)
  const run = async (args: string[]): Promise<number> => {
    const { values, positionals } = parse(args, spec.options, usage)
    const v = values as Record<string, string | boolean | undefined>
    if (values.help) return showUsage(usage)
    const [sub, id, other] = positionals
    const need = (n: number): void => {
      if (positionals.length < n) throw new UsageError(`${name} ${sub ?? ''}: missing arguments\n\nUsage: bodyvault ${usage}`)
    }
    const st = station(values)
    try {
      const zone = st.cfg.station.timezone
      const changes = (): RegistryCtx => ({
        db: st.db,
        actor: operatorActor(st, v.by as string | undefined),
        via: 'cli',
        zone,
        now: new Date(),
        profileIds: new Set(st.profiles.keys()),
      })
      const out = (obj: unknown, text: string): number => {
        io.stdout(values.json ? JSON.stringify(obj, null, 2) + '\n' : text + '\n')
        return EXIT.ok
      }
      const given = (): Record<string, string | undefined> => {
        const f: Record<string, string | undefined> = { [spec.key]: id }
        for (const [opt, field] of Object.entries(spec.fields)) f[field] = v[opt] as string | undefined
        return f
      }
      const when = (opt: string): string | undefined => (typeof v[opt] === 'string' ? parseInstant(v[opt] as string, `--${opt}`, zone) : undefined)
      switch (sub) {
        case 'list':
          return list(name, st.db, zone, v.unit as string | undefined, out)
        case 'show': {
          need(2)
          return show(name, st.db, id!, zone, out)
        }
        case 'add':
        case 'update': {
          need(2)
          const r =
            name === 'unit'
              ? saveUnitEntry(changes(), given(), sub)
              : name === 'officer'
                ? saveOfficerEntry(changes(), given(), sub)
                : saveDeviceEntry(changes(), given(), sub)
          return out(r, `${name} ${id}: ${r.result}`)
        }
        case 'retire': {
          need(2)
          const r = name === 'unit' ? retireUnit(changes(), id!) : name === 'officer' ? retireOfficer(changes(), id!, when('at')) : retireDevice(changes(), id!)
          return out(r, `${name} ${id}: retired`)
        }
        case 'import': {
          need(2)
          try {
            const r = await importRoster(changes(), spec.entity, readFileSync(id!), formatOf(id!))
            return out(r, `${spec.entity} from ${id}: ${r.rows} row(s): ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged`)
          } catch (err) {
            if (err instanceof RosterError && values.json) {
              io.stdout(JSON.stringify({ error: { code: err.code, rows: err.rows } }, null, 2) + '\n')
              return err.exitCode
            }
            throw err
          }
        }
        case 'export': {
          const format = (v.format as string | undefined) ?? (typeof v.out === 'string' ? formatOf(v.out) : 'csv')
          if (format !== 'csv' && format !== 'xlsx') throw new UsageError('--format is csv or xlsx')
          const bytes = await exportRoster({ db: st.db, zone }, spec.entity, format)
          if (typeof v.out === 'string') writeFileSync(v.out, bytes, { flag: 'wx' })
          else if (format === 'xlsx') throw new UsageError('an XLSX export needs --out FILE')
          else io.stdout(bytes.toString('utf8'))
          return EXIT.ok
        }
        case 'assign':
        case 'checkout': {
          if (name !== 'device') break
          need(3)
          const a = assignDevice(changes(), {
            deviceNumber: id!,
            policeNumber: other!,
            kind: sub === 'assign' ? 'assignment' : 'checkout',
            from: when('from'),
            to: when('to') ?? null,
          })
          return out(
            a,
            `device ${id} ${sub === 'assign' ? 'assigned to' : 'checked out to'} ${other} from ${local(a.validFrom, zone)}${a.validTo ? ` to ${local(a.validTo, zone)}` : ''} (#${a.id})`,
          )
        }
        case 'return': {
          if (name !== 'device') break
          need(2)
          const a = returnDevice(changes(), id!, when('at'))
          return out(a, `device ${id} returned by ${a.policeNumber} at ${local(a.validTo, zone)} (#${a.id})`)
        }
      }
      throw new UsageError(`${name}: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    } finally {
      st.close()
    }
  }
  return { name, usage, run }
}

function list(name: Name, db: RegistryCtx['db'], zone: string, unit: string | undefined, out: (o: unknown, t: string) => number): number {
  if (name === 'unit') {
    const rows = listUnits(db)
    return out(
      rows,
      `${table([['CODE', 'NAME', 'LEVEL', 'PARENT', 'RETIRED'], ...rows.map((u) => [u.code, u.name, u.level, u.parentCode ?? '-', u.retiredAt ? local(u.retiredAt, zone) : '-'])])}\n${rows.length} unit(s)`,
    )
  }
  if (name === 'officer') {
    const rows = listOfficers(db, { unitCode: unit })
    return out(
      rows,
      `${table([['POLICE NO', 'NAME', 'UNIT', 'FROM', 'TO'], ...rows.map((o) => [o.policeNumber, o.name, o.unitCode, local(o.activeFrom, zone), o.activeTo ? local(o.activeTo, zone) : '-'])])}\n${rows.length} officer(s)`,
    )
  }
  const rows = listDevices(db, { unitCode: unit })
  return out(
    rows,
    `${table([['DEVICE', 'SERIAL', 'USB', 'MODEL', 'PROFILE', 'UNIT', 'STATUS'], ...rows.map((d) => [d.deviceNumber, d.serial ?? '-', d.usbVendor ? `${d.usbVendor}:${d.usbProduct}` : '-', d.model ?? '-', d.profileId ?? '-', d.unitCode ?? '-', d.status])])}\n${rows.length} device(s)`,
  )
}

function show(name: Name, db: RegistryCtx['db'], id: string, zone: string, out: (o: unknown, t: string) => number): number {
  const period = (a: { kind: string; policeNumber: string; deviceNumber: string; validFrom: string; validTo: string | null; id: number }) =>
    `  #${a.id} ${a.kind} ${a.deviceNumber} -> ${a.policeNumber}: ${local(a.validFrom, zone)} .. ${a.validTo ? local(a.validTo, zone) : 'now'}`
  if (name === 'unit') {
    const u = getUnit(db, id)
    if (!u) throw new UsageError(`unit ${id} does not exist`)
    const children = listUnits(db).filter((c) => c.parentCode === id)
    return out(
      { ...u, children },
      `unit ${u.code} ${u.name} (${u.level}${u.parentCode ? ` under ${u.parentCode}` : ''})${u.retiredAt ? ', retired' : ''}\nunits under it: ${children.map((c) => c.code).join(', ') || '(none)'}`,
    )
  }
  if (name === 'officer') {
    const o = getOfficer(db, id)
    if (!o) throw new UsageError(`officer ${id} does not exist`)
    const units = unitHistory(db, id)
    const periods = listAssignments(db, { policeNumber: id })
    return out(
      { ...o, units, assignments: periods },
      `officer ${o.policeNumber} ${o.name}, unit ${o.unitCode}, on the roster ${local(o.activeFrom, zone)} .. ${o.activeTo ? local(o.activeTo, zone) : 'now'}\nunits: ${units.map((u) => `${u.unitCode} from ${local(u.validFrom, zone)}`).join('; ')}\ndevices:\n${periods.map(period).join('\n') || '  (none)'}`,
    )
  }
  const d = getDevice(db, id)
  if (!d) throw new UsageError(`device ${id} does not exist`)
  const periods = listAssignments(db, { deviceNumber: id })
  return out(
    { ...d, assignments: periods },
    `device ${d.deviceNumber} (${d.status}) serial ${d.serial ?? '-'}, unit ${d.unitCode ?? '-'}\ncarried:\n${periods.map(period).join('\n') || '  (never)'}`,
  )
}

export const unitCommand = command('unit')
export const officerCommand = command('officer')
export const deviceCommand = command('device')
