import { writeFileSync } from 'node:fs'
import { UsageError } from '../../common/errors.js'
import { handoverLimitSeconds } from '../../retention/config.js'
import { currentMonth, monthlyCsv, monthlyReport, monthlyXlsx, type MonthlyReport } from '../../stats/monthly.js'
import { table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('stats')

const pct = (r: number | null): string => (r === null ? '-' : `${(r * 100).toFixed(1)}%`)

function text(r: MonthlyReport): string {
  const lines = [
    [
      r.by === 'officer' ? 'OFFICER' : 'UNIT',
      'RECS',
      'HOURS',
      'LATE',
      'ON TIME',
      'CLASSIFIED',
      'FLAGS',
      'VIEWS',
      'EXPORTS',
      'FINDINGS',
      'REVIEWED',
      'REVIEW OK',
    ],
  ]
  for (const x of r.rows)
    lines.push([
      x.key,
      String(x.recordings),
      x.hours.toFixed(2),
      String(x.late),
      pct(x.onTimeRate),
      pct(x.classifiedRate),
      String(x.flags),
      String(x.views),
      String(x.exports),
      String(x.findings),
      String(x.reviewed),
      String(x.reviewOk),
    ])
  const h = r.handovers
  const histogram = Object.entries(h.histogram)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  const late = h.late
    .slice(0, 20)
    .map((l) => `  late: recording ${l.recordingId} officer ${l.officerId ?? '-'} unit ${l.unitCode ?? '-'}: ${(l.delaySeconds / 3600).toFixed(1)} h`)
  return [
    `统计考核 ${r.month} (${r.timezone}), by ${r.by}`,
    table(lines),
    `handover (limit ${h.limitSeconds / 3600} h): ${h.totals.recordings} recordings, ${h.totals.late} late, on time ${pct(h.totals.onTimeRate)}; delay: ${histogram}`,
    ...late,
  ].join('\n')
}

async function cmdStats(args: string[]): Promise<number> {
  const { values } = parse(args, { month: { type: 'string' }, by: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } }, usage)
  if (values.help) return showUsage(usage)
  const by = values.by ?? 'officer'
  if (by !== 'officer' && by !== 'unit') throw new UsageError(`--by is officer or unit, not "${by}"`)
  const format = values.format ?? (values.json ? 'json' : 'table')
  if (!['table', 'json', 'csv', 'xlsx'].includes(format)) throw new UsageError(`--format is table, json, csv or xlsx, not "${format}"`)
  if (format === 'xlsx' && values.out === undefined) throw new UsageError('--format xlsx writes a file: give --out FILE.xlsx')
  const st = station(values)
  try {
    const zone = st.cfg.station.timezone
    const r = monthlyReport(st.db, { month: values.month ?? currentMonth(zone), by, timezone: zone, limitSeconds: handoverLimitSeconds(st.cfg.retention) })
    const body =
      format === 'json' ? JSON.stringify(r, null, 2) + '\n' : format === 'csv' ? monthlyCsv(r) : format === 'xlsx' ? await monthlyXlsx(r) : text(r) + '\n'
    if (values.out !== undefined) {
      writeFileSync(values.out, body)
      io.stdout(`wrote ${values.out}: ${r.rows.length} row(s), ${r.month} by ${r.by}\n`)
    } else io.stdout(typeof body === 'string' ? body : body.toString('utf8'))
    return EXIT.ok
  } finally {
    st.close()
  }
}

export const statsCommand: Command = { name: 'stats', usage, run: cmdStats }
