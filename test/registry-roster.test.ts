// Rosters: units, officers and devices imported from generated CSV and XLSX
// files. What would make the promise false: a bad row that still lets the
// good ones in (half an import), a police number that loses its leading
// zeros on the way through Excel, an error that does not say which row, an
// unchanged re-import that writes events, an export that does not read back.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import ExcelJS from 'exceljs'
import t from 'tap'
import { listDevices, listOfficers, listUnits, unitAt } from '../src/catalog/registry.js'
import type { BodyvaultError } from '../src/common/errors.js'
import { assignDevice, returnDevice } from '../src/registry/assign.js'
import { type RegistryCtx, saveOfficerEntry } from '../src/registry/manage.js'
import { importRoster, RosterError } from '../src/registry/roster.js'
import { cli, station, tempDir } from './helpers.js'

const UNITS = 'code,name,level,parent\nT1,巡逻一队,team,S1\nB1,市公安局,bureau,\nS1,城北派出所,station,B1\nT2,巡逻二队,team,S1\n'
const OFFICERS = '\uFEFF警号,姓名,单位,启用日期\n012345,张三,T1,2026-01-01\n000777,李四,T2,2026-01-01\n'

const events = (db: RegistryCtx['db'], type?: string): number =>
  (type ? db.prepare('SELECT count(*) FROM events WHERE type = ?').pluck().get(type) : db.prepare('SELECT count(*) FROM events').pluck().get()) as number

function ctxOf(db: RegistryCtx['db'], now = new Date()): RegistryCtx {
  return { db, actor: 'user:admin', via: 'test', zone: 'Asia/Shanghai', now }
}

async function xlsx(rows: (string | number | Date | null)[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook()
  const ws = wb.addWorksheet('roster')
  for (const r of rows) ws.addRow(r)
  return Buffer.from(await wb.xlsx.writeBuffer())
}

t.test('units and officers from CSV: children before parents in the file, Chinese headers, every change a ledger event', async (t) => {
  const s = station(t)
  const u = await importRoster(ctxOf(s.db), 'units', Buffer.from(UNITS), 'csv')
  t.match(u, { rows: 4, added: 4, updated: 0, unchanged: 0 })
  t.same(
    listUnits(s.db).map((x) => [x.code, x.level, x.parentCode]),
    [
      ['B1', 'bureau', null],
      ['S1', 'station', 'B1'],
      ['T1', 'team', 'S1'],
      ['T2', 'team', 'S1'],
    ],
  )
  const o = await importRoster(ctxOf(s.db), 'officers', Buffer.from(OFFICERS), 'csv')
  t.match(o, { rows: 2, added: 2 })
  t.same(
    listOfficers(s.db).map((x) => [x.policeNumber, x.name, x.unitCode, x.activeFrom]),
    [
      ['000777', '李四', 'T2', '2025-12-31T16:00:00.000Z'],
      ['012345', '张三', 'T1', '2025-12-31T16:00:00.000Z'],
    ],
    'leading zeros kept; dates are station-local midnight',
  )
  t.equal(events(s.db, 'unit-saved'), 4)
  t.equal(events(s.db, 'officer-saved'), 2)
  t.equal(events(s.db, 'roster-imported'), 2)
  const before = events(s.db)
  const again = await importRoster(ctxOf(s.db), 'officers', Buffer.from(OFFICERS), 'csv')
  t.match(again, { added: 0, updated: 0, unchanged: 2 })
  t.equal(events(s.db), before + 1, 'an unchanged re-import writes only its roster-imported event')
})

t.test('a roster with bad rows: every bad row named with its number and reason, nothing imported', async (t) => {
  const s = station(t)
  await importRoster(ctxOf(s.db), 'units', Buffer.from(UNITS), 'csv')
  const before = events(s.db)
  const bad = [
    'police_number,name,unit',
    '000101,王五,T1', // good
    '12345,赵六,T1', // leading zero lost
    '000102,,T1', // no name
    '000103,钱七,NOPE', // unknown unit
    '000101,重复,T2', // the same police number again
    'ABCDEF,孙八,T1', // not digits
    '000104,周九,T2', // good
  ].join('\n')
  const err = await importRoster(ctxOf(s.db), 'officers', Buffer.from(bad), 'csv').catch((e: unknown) => e)
  t.ok(err instanceof RosterError, 'refused')
  const rows = (err as RosterError).rows
  t.same(
    rows.map((r) => r.row),
    [3, 4, 5, 6, 7],
    'rows 3-7 are named (the header is row 1)',
  )
  t.match(rows[0]!.error, /"12345" is not a police number.*format the column as text/)
  t.match(rows[1]!.error, /name: missing/)
  t.match(rows[2]!.error, /unit NOPE does not exist/)
  t.match(rows[3]!.error, /000101 is also on row 2/)
  t.match(rows[4]!.error, /"ABCDEF" is not a police number/)
  t.equal((err as BodyvaultError).code, 'ROSTER_INVALID')
  t.equal(listOfficers(s.db).length, 0, 'the good rows 2 and 8 are not in either: nothing half-imported')
  t.equal(events(s.db), before, 'and no event was written')
  const units = await importRoster(ctxOf(s.db), 'units', Buffer.from('code,name,level,parent\nT9,x,team,\nB2,y,bureau,B1\nT8,z,squad,S1\n'), 'csv').catch(
    (e: unknown) => e,
  )
  t.same(
    (units as RosterError).rows.map((r) => r.row),
    [2, 3, 4],
  )
  t.match(
    (units as RosterError).rows.map((r) => r.error).join('\n'),
    /a team needs its parent unit[\s\S]*a bureau has no parent unit[\s\S]*"squad" is not one of/,
  )
  const cols = await importRoster(ctxOf(s.db), 'devices', Buffer.from('device_number,colour\nD1,red\n'), 'csv').catch((e: unknown) => e)
  t.match((cols as RosterError).rows, [{ row: 1, error: /unknown column\(s\) colour/ }])
})

t.test('XLSX: a number cell gets its leading zeros back, dates read as dates, bad rows refused as in CSV', async (t) => {
  const s = station(t)
  await importRoster(ctxOf(s.db), 'units', Buffer.from(UNITS), 'csv')
  const file = await xlsx([
    ['警号', '姓名', '单位', '启用日期', '停用日期'],
    [12345, '张三', 'T1', new Date(Date.UTC(2026, 0, 1)), null],
    ['000777', '李四', 'T2', '2026-02-01', '2026-12-31'],
  ])
  const r = await importRoster(ctxOf(s.db), 'officers', file, 'xlsx')
  t.match(r, { format: 'xlsx', rows: 2, added: 2 })
  const o = listOfficers(s.db)
  t.same(
    o.map((x) => [x.policeNumber, x.activeFrom, x.activeTo]),
    [
      ['000777', '2026-01-31T16:00:00.000Z', '2026-12-30T16:00:00.000Z'],
      ['012345', '2025-12-31T16:00:00.000Z', null],
    ],
  )
  const bad = await xlsx([
    ['device_number', 'serial', 'usb_id', 'unit', 'status'],
    ['CAM-01', 'SN1', 'abcd:0947', 'T1', 'in-service'],
    ['CAM-02', 'SN1', 'abcd:0947', 'T1', 'in-service'],
    ['CAM-03', 'SN3', 'abcd', 'T1', 'broken'],
  ])
  const err = (await importRoster(ctxOf(s.db), 'devices', bad, 'xlsx').catch((e: unknown) => e)) as RosterError
  t.same(
    err.rows.map((x) => x.row),
    [3, 4],
  )
  t.match(err.rows[0]!.error, /serial: SN1 is device CAM-01's already/)
  t.match(err.rows[1]!.error, /usb_id: "abcd" is not VENDOR:PRODUCT/)
  t.equal(listDevices(s.db).length, 0, 'CAM-01 is not in either')
  const notXlsx = await importRoster(ctxOf(s.db), 'devices', Buffer.from('not a zip'), 'xlsx').catch((e: unknown) => e)
  t.match(notXlsx, { code: 'ROSTER_INVALID', message: /XLSX file cannot be read/ })
})

t.test('export then import through the CLI, CSV and XLSX: the roster reads back unchanged', async (t) => {
  const dir = tempDir(t)
  // The vault exists (the registry's commands, like every command but start, ingest and reindex, never make one).
  station(t, join(dir, 'data')).st.close()
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
  writeFileSync(join(dir, 'units.csv'), UNITS)
  writeFileSync(join(dir, 'officers.csv'), OFFICERS)
  t.equal(cli(['unit', 'import', join(dir, 'units.csv'), '--by', 'admin'], env).code, 0)
  t.equal(cli(['officer', 'import', join(dir, 'officers.csv'), '--by', 'admin'], env).code, 0)
  let r = cli(['device', 'add', 'CAM-01', '--serial', 'SN1', '--usb', 'ABCD:0947', '--unit', 'T1', '--profile', 'generic-dcim', '--by', 'admin'], env)
  t.equal(r.code, 0, r.stderr)
  r = cli(['device', 'add', 'CAM-02', '--profile', 'no-such-profile', '--by', 'admin'], env)
  t.equal(r.code, 2)
  t.match(r.stderr, /profile: "no-such-profile" is not a docking profile/)
  for (const [entity, ext] of [
    ['officer', 'xlsx'],
    ['device', 'csv'],
  ] as const) {
    const file = join(dir, `${entity}.${ext}`)
    r = cli([entity, 'export', '--out', file], env)
    t.equal(r.code, 0, r.stderr)
    r = cli([entity, 'import', file, '--json'], env)
    t.equal(r.code, 0, r.stderr)
    const res = JSON.parse(r.stdout) as { added: number; updated: number; unchanged: number }
    t.same([res.added, res.updated], [0, 0], `${entity} ${ext}: read back unchanged (${res.unchanged} rows)`)
    t.ok(res.unchanged > 0)
  }
  const wb = new ExcelJS.Workbook()
  await wb.xlsx.readFile(join(dir, 'officer.xlsx'))
  t.equal(wb.worksheets[0]!.getRow(2).getCell(1).value, '000777', 'the XLSX keeps police numbers as text')
  t.match(readFileSync(join(dir, 'device.csv'), 'utf8'), /^\uFEFFdevice_number,serial,usb_id/)
  writeFileSync(join(dir, 'bad.csv'), 'police_number,name,unit\n1234567,x,T1\n')
  r = cli(['officer', 'import', join(dir, 'bad.csv')], env)
  t.equal(r.code, 2)
  t.match(r.stderr, /1 bad row\(s\), nothing was imported:\n {2}row 2: officer 1234567: police_number/)
  r = cli(['officer', 'list', '--json'], env)
  t.equal((JSON.parse(r.stdout) as unknown[]).length, 2)
})

t.test('assignment periods never overlap on one device; a unit move keeps the old unit for earlier times', async (t) => {
  const s = station(t)
  const c = ctxOf(s.db, new Date('2026-03-01T00:00:00Z'))
  await importRoster(c, 'units', Buffer.from(UNITS), 'csv')
  await importRoster(c, 'officers', Buffer.from(OFFICERS), 'csv')
  await importRoster(c, 'devices', Buffer.from('device_number,unit\nCAM-01,T1\n'), 'csv')
  const a = assignDevice(c, {
    deviceNumber: 'CAM-01',
    policeNumber: '012345',
    kind: 'assignment',
    from: '2026-01-01T00:00:00.000Z',
    to: '2026-02-01T00:00:00.000Z',
  })
  t.equal(a.kind, 'assignment')
  t.throws(
    () => assignDevice(c, { deviceNumber: 'CAM-01', policeNumber: '000777', kind: 'checkout', from: '2026-01-31T00:00:00.000Z' }),
    { code: 'ASSIGNMENT_OVERLAP' },
    'a checkout inside an assignment is refused',
  )
  const co = assignDevice(c, { deviceNumber: 'CAM-01', policeNumber: '000777', kind: 'checkout', from: '2026-02-01T00:00:00.000Z' })
  t.throws(() => assignDevice(c, { deviceNumber: 'CAM-01', policeNumber: '012345', kind: 'checkout' }), { code: 'ASSIGNMENT_OVERLAP' }, 'still out')
  const back = returnDevice(c, 'CAM-01', '2026-02-01T12:00:00.000Z')
  t.equal(back.id, co.id)
  t.equal(back.validTo, '2026-02-01T12:00:00.000Z')
  t.throws(() => returnDevice(c, 'CAM-01'), { code: 'REGISTRY_NOT_FOUND' }, 'nothing to return twice')
  t.equal(events(s.db, 'device-assigned'), 2)
  t.equal(events(s.db, 'device-returned'), 1)
  saveOfficerEntry(c, { police_number: '012345', unit: 'T2', unit_from: '2026-02-15' }, 'update')
  t.equal(unitAt(s.db, '012345', '2026-02-14T00:00:00.000Z'), 'T1')
  t.equal(unitAt(s.db, '012345', '2026-02-15T00:00:00.000Z'), 'T2')
  t.equal(unitAt(s.db, '012345', '2020-01-01T00:00:00.000Z'), 'T1', 'before joining the roster: the unit joined with')
})
