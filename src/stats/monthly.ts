import type ExcelJS from 'exceljs'
import { stringify } from 'csv-stringify/sync'
import { DateTime } from 'luxon'
import type { Db } from '../catalog/db.js'
import { handoverStats, type HandoverStats } from '../catalog/handovers.js'
import { monthlyStats, type MonthlyBy, type MonthlyRow } from '../catalog/monthly.js'
import { BodyvaultError } from '../common/errors.js'
import { refreshHandovers } from './handover.js'

/**
 * Monthly statistics (统计考核) per officer or unit, and the handover
 * figures, for a month counted in the station's time zone; the same table
 * as JSON (API), CSV and XLSX (exceljs). Column headers are bilingual: the
 * sheet goes to a supervisor's office as it is.
 */
/** A type, not an interface: the reply schema's types take it as a plain object. */
export type MonthlyReport = {
  month: string
  timezone: string
  by: MonthlyBy
  from: string
  to: string
  rows: MonthlyRow[]
  handovers: HandoverStats
}

/** The UTC bounds of a month (YYYY-MM) in a zone. */
export function monthBounds(month: string, zone: string): { from: string; to: string } {
  const start = DateTime.fromFormat(month, 'yyyy-MM', { zone })
  if (!/^\d{4}-\d{2}$/.test(month) || !start.isValid) throw new BodyvaultError('USAGE', `month "${month}" is not YYYY-MM (e.g. 2026-11)`)
  return { from: start.toUTC().toISO()!, to: start.plus({ months: 1 }).toUTC().toISO()! }
}

export function currentMonth(zone: string, now = new Date()): string {
  return DateTime.fromJSDate(now).setZone(zone).toFormat('yyyy-MM')
}

/** Brings the handovers up to date, then reads the month. */
export function monthlyReport(db: Db, o: { month: string; by: MonthlyBy; timezone: string; limitSeconds: number }): MonthlyReport {
  const { from, to } = monthBounds(o.month, o.timezone)
  refreshHandovers(db, o.limitSeconds)
  return {
    month: o.month,
    timezone: o.timezone,
    by: o.by,
    from,
    to,
    rows: monthlyStats(db, { from, to, by: o.by }),
    handovers: handoverStats(db, { from, to, limitSeconds: o.limitSeconds }),
  }
}

/** The columns, in order: field and bilingual header. */
export const MONTHLY_COLUMNS: readonly [keyof MonthlyRow, string][] = [
  ['key', '对象 key'],
  ['recordings', '记录数 recordings'],
  ['hours', '时长(小时) hours'],
  ['handedOver', '已移交 handed over'],
  ['late', '超时移交 late'],
  ['onTimeRate', '及时移交率 on-time rate'],
  ['classified', '已分类 classified'],
  ['classifiedRate', '分类率 classified rate'],
  ['flags', '永久保存标记 flags'],
  ['views', '调阅 views'],
  ['exports', '导出 exports'],
  ['findings', '核对问题 reconciliation findings'],
  ['reviewed', '抽查 reviewed'],
  ['reviewOk', '抽查合格 ok'],
  ['reviewLate', '抽查:未及时移交 late'],
  ['reviewWrongCategory', '抽查:分类错误 wrong category'],
  ['reviewIncomplete', '抽查:未全程记录 not recorded in full'],
  ['reviewOther', '抽查:其他 other'],
]

export function monthlyCsv(r: MonthlyReport): string {
  const header = MONTHLY_COLUMNS.map(([, h]) => h)
  header[0] = r.by === 'officer' ? '警号 officer' : '单位 unit'
  return stringify([header, ...r.rows.map((row) => MONTHLY_COLUMNS.map(([f]) => row[f] ?? ''))], { bom: true })
}

/** exceljs, loaded when a sheet is written or read (it is large: every other command starts without it). */
async function excel(): Promise<typeof ExcelJS> {
  return (await import('exceljs')).default
}

export async function monthlyXlsx(r: MonthlyReport): Promise<Buffer> {
  const wb = new (await excel()).Workbook()
  wb.creator = 'bodyvault'
  const ws = wb.addWorksheet(`${r.month} ${r.by}`)
  const header = MONTHLY_COLUMNS.map(([, h]) => h)
  header[0] = r.by === 'officer' ? '警号 officer' : '单位 unit'
  ws.addRow(header).font = { bold: true }
  for (const row of r.rows) ws.addRow(MONTHLY_COLUMNS.map(([f]) => row[f] ?? null))
  ws.columns.forEach((c, i) => {
    c.width = i === 0 ? 14 : 16
  })
  const h = wb.addWorksheet('handover 移交')
  h.addRow(['月份 month', r.month, '时区 zone', r.timezone, '时限(秒) limit s', r.handovers.limitSeconds])
  h.addRow(['延迟分布 delay', ...Object.keys(r.handovers.histogram)]).font = { bold: true }
  h.addRow(['count', ...Object.values(r.handovers.histogram)])
  h.addRow([])
  h.addRow(['recording', 'officer', 'unit', 'ended at', 'committed at', 'delay s']).font = { bold: true }
  for (const l of r.handovers.late) h.addRow([l.recordingId, l.officerId, l.unitCode, l.endedAt, l.committedAt, l.delaySeconds])
  return Buffer.from(await wb.xlsx.writeBuffer())
}

/** Reads the first sheet of a workbook written by monthlyXlsx back into rows (the test's round trip, and a check for admins). */
export async function readMonthlyXlsx(data: Buffer): Promise<MonthlyRow[]> {
  const wb = new (await excel()).Workbook()
  await wb.xlsx.load(data as unknown as ArrayBuffer) // exceljs types want an ArrayBuffer; it reads a Node Buffer
  const ws = wb.worksheets[0]!
  const out: MonthlyRow[] = []
  ws.eachRow((row, n) => {
    if (n === 1) return
    const values = row.values as unknown[] // 1-based: index 0 is empty
    out.push(Object.fromEntries(MONTHLY_COLUMNS.map(([f], i) => [f, values[i + 1] ?? null])) as MonthlyRow)
  })
  return out
}
