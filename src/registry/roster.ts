/**
 * Rosters as files: units, officers and devices imported from and exported
 * to CSV (UTF-8, a BOM is read and written so Excel opens it right) and
 * XLSX (exceljs). An import is ONE transaction: every bad row is reported
 * with its row number and what is wrong, and then nothing is imported.
 * Police numbers stay text (leading zeros kept); a number cell of an XLSX
 * file is read back as six digits.
 */
import { createHash } from 'node:crypto'
import type ExcelJS from 'exceljs'
import { listDevices, listOfficers, listUnits, UNIT_LEVELS } from '../catalog/registry.js'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { type RegistryCtx, saveDeviceEntry, saveOfficerEntry, saveUnitEntry } from './manage.js'
import { DEVICE_FIELDS, deviceFields, type Fields, HEADER_ALIASES, OFFICER_FIELDS, officerFields, UNIT_FIELDS, unitFields } from './rules.js'

export const ENTITIES = ['units', 'officers', 'devices'] as const
export type Entity = (typeof ENTITIES)[number]
export type RosterFormat = 'csv' | 'xlsx'

const COLUMNS: Record<Entity, readonly string[]> = { units: UNIT_FIELDS, officers: [...OFFICER_FIELDS, 'unit_from'], devices: DEVICE_FIELDS }

export interface ImportResult {
  entity: Entity
  format: RosterFormat
  sha256: string
  rows: number
  added: number
  updated: number
  unchanged: number
}

/** One bad row: its number in the file (the header is row 1) and what is wrong. */
export interface RowError {
  row: number
  error: string
}

/** The format a file name says (.csv, .xlsx). */
export function formatOf(name: string): RosterFormat {
  if (/\.csv$/i.test(name)) return 'csv'
  if (/\.xlsx$/i.test(name)) return 'xlsx'
  throw new BodyvaultError('ROSTER_INVALID', `${name}: a roster is a .csv or an .xlsx file`)
}

/** The rows of a roster file, keyed by column name, with their row numbers. */
export async function readRoster(bytes: Buffer, format: RosterFormat): Promise<{ row: number; fields: Fields }[]> {
  const table = format === 'csv' ? await readCsv(bytes) : await readXlsx(bytes)
  const [header, ...rows] = table
  if (!header) throw new BodyvaultError('ROSTER_INVALID', 'the roster is empty: the first row names the columns')
  const names = header.map((h) => {
    const k = h.trim().replace(/^\uFEFF/, '')
    return HEADER_ALIASES[k] ?? k.toLowerCase().replace(/[\s-]+/g, '_')
  })
  return rows
    .map((cells, i) => ({ row: i + 2, fields: Object.fromEntries(names.map((n, j) => [n, cells[j] ?? ''])) as Fields }))
    .filter((r) => Object.values(r.fields).some((v) => v !== undefined && v.trim() !== ''))
}

// The spreadsheet libraries load when a roster is read or written: no other command pays for them.
async function readCsv(bytes: Buffer): Promise<string[][]> {
  const { parse: parseCsv } = await import('csv-parse/sync')
  try {
    return parseCsv(bytes, { bom: true, relax_column_count: true, skip_empty_lines: false }) as string[][]
  } catch (err) {
    throw new BodyvaultError('ROSTER_INVALID', `the CSV cannot be read: ${errorMessage(err)}`)
  }
}

/** exceljs, loaded when a roster is XLSX (it is large: every other command starts without it). */
async function excel(): Promise<typeof ExcelJS> {
  return (await import('exceljs')).default
}

async function readXlsx(bytes: Buffer): Promise<string[][]> {
  const wb = new (await excel()).Workbook()
  try {
    // exceljs types want its own Buffer flavour; a Node Buffer is what it reads.
    await wb.xlsx.load(bytes as unknown as Parameters<typeof wb.xlsx.load>[0])
  } catch (err) {
    throw new BodyvaultError('ROSTER_INVALID', `the XLSX file cannot be read: ${errorMessage(err)}`)
  }
  const ws = wb.worksheets[0]
  if (!ws) throw new BodyvaultError('ROSTER_INVALID', 'the XLSX file has no worksheet')
  const out: string[][] = []
  const width = ws.columnCount
  for (let r = 1; r <= ws.rowCount; r++) {
    const row = ws.getRow(r)
    const cells: string[] = []
    for (let c = 1; c <= width; c++) cells.push(cellText(row.getCell(c).value, out[0]?.[c - 1]))
    out.push(cells)
  }
  return out
}

/** A cell as text: dates as YYYY-MM-DD (with the time when it has one), a police number cell padded back to six digits. */
function cellText(v: ExcelJS.CellValue, header: string | undefined): string {
  if (v === null || v === undefined) return ''
  if (v instanceof Date) {
    const iso = v.toISOString()
    return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 16)
  }
  if (typeof v === 'number') {
    const key = header ? (HEADER_ALIASES[header.trim()] ?? header.trim().toLowerCase()) : ''
    // Excel drops the leading zeros of a number: a police number is always six digits.
    if (key === 'police_number' && Number.isInteger(v) && v >= 0 && v < 1e6) return String(v).padStart(6, '0')
    return String(v)
  }
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((t) => t.text).join('')
    if ('text' in v) return String(v.text)
    if ('result' in v) return cellText((v.result ?? null) as ExcelJS.CellValue, header)
  }
  return String(v)
}

/**
 * Imports a roster: every row added or updated with its own event, then a
 * `roster-imported` event, all in one transaction; any bad row and nothing
 * is imported (ROSTER_INVALID lists each bad row).
 */
export async function importRoster(ctx: RegistryCtx, entity: Entity, bytes: Buffer, format: RosterFormat): Promise<ImportResult> {
  const rows = await readRoster(bytes, format)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const c: RegistryCtx = { ...ctx, via: `import:${sha256}` }
  const key = { units: 'code', officers: 'police_number', devices: 'device_number' }[entity]
  // Parents before children, whatever order the file lists units in.
  const order =
    entity === 'units' ? [...rows].sort((a, b) => UNIT_LEVELS.indexOf(a.fields.level as never) - UNIT_LEVELS.indexOf(b.fields.level as never)) : rows
  const unknown = Object.keys(rows[0]?.fields ?? {}).filter((k) => !COLUMNS[entity].includes(k))
  if (unknown.length)
    throw new RosterError([{ row: 1, error: `unknown column(s) ${unknown.join(', ')} (a ${entity} roster has ${COLUMNS[entity].join(', ')})` }])
  const errors: RowError[] = []
  const seen = new Map<string, number>()
  const counts = { added: 0, updated: 0, unchanged: 0 }
  const run = ctx.db.transaction(() => {
    for (const { row, fields } of order) {
      const id = fields[key]?.trim() ?? ''
      if (id && seen.has(id)) {
        errors.push({ row, error: `${key} ${id} is also on row ${seen.get(id)}` })
        continue
      }
      if (id) seen.set(id, row)
      try {
        const r =
          entity === 'units'
            ? saveUnitEntry(c, fields, 'upsert')
            : entity === 'officers'
              ? saveOfficerEntry(c, fields, 'upsert')
              : saveDeviceEntry(c, fields, 'upsert')
        counts[r.result === 'retired' ? 'updated' : r.result]++
      } catch (err) {
        if (!(err instanceof BodyvaultError)) throw err
        errors.push({ row, error: err.message })
      }
    }
    if (errors.length) throw new RosterError(errors.sort((a, b) => a.row - b.row))
    const result = { entity, format, sha256, rows: rows.length, ...counts }
    appendEvent(ctx.db, { type: 'roster-imported', actor: ctx.actor, subject: subjects.station(stationOf(ctx.actor)), payload: result, at: ctx.now })
    return result
  })
  return run.immediate()
}

/** The import's bad rows: nothing was imported. */
export class RosterError extends BodyvaultError {
  /** One line per bad row: the CLI prints them under its one-line error. */
  readonly details: string[]
  constructor(readonly rows: RowError[]) {
    super('ROSTER_INVALID', `${rows.length} bad row(s), nothing was imported:\n${rows.map((r) => `  row ${r.row}: ${r.error}`).join('\n')}`)
    this.details = rows.map((r) => `row ${r.row}: ${r.error}`)
  }
}

/** The station a roster import is filed under: the actor's station, else the actor itself. */
function stationOf(actor: string): string {
  return actor.startsWith('station:') ? actor.slice('station:'.length) : actor
}

/** The roster as a file, with the columns import reads. */
export async function exportRoster(ctx: Pick<RegistryCtx, 'db' | 'zone'>, entity: Entity, format: RosterFormat): Promise<Buffer> {
  const rows: Fields[] =
    entity === 'units'
      ? listUnits(ctx.db).map(unitFields)
      : entity === 'officers'
        ? listOfficers(ctx.db).map((o) => officerFields(o, ctx.zone))
        : listDevices(ctx.db).map(deviceFields)
  const cols = entity === 'officers' ? OFFICER_FIELDS : COLUMNS[entity]
  const table = [[...cols], ...rows.map((r) => cols.map((c) => r[c] ?? ''))]
  if (format === 'csv') return Buffer.from((await import('csv-stringify/sync')).stringify(table, { bom: true }), 'utf8')
  const wb = new (await excel()).Workbook()
  const ws = wb.addWorksheet(entity)
  // Every column is text: a police number keeps its leading zeros when the file is edited and imported again.
  ws.columns = cols.map((c) => ({ header: c, key: c, width: Math.max(12, c.length + 2), style: { numFmt: '@' } }))
  for (const r of table.slice(1)) ws.addRow(r)
  return Buffer.from(await wb.xlsx.writeBuffer())
}
