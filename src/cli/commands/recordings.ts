import { DateTime } from 'luxon'
import { searchRecordings } from '../../catalog/search.js'
import { UsageError } from '../../common/errors.js'
import { bytes, table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('recordings')

function parseWhen(v: string | undefined, key: string, zone: string): string | undefined {
  if (v === undefined) return undefined
  const dt = DateTime.fromISO(v, { zone, setZone: false })
  if (!dt.isValid) throw new UsageError(`--${key}: "${v}" is not an ISO 8601 date or time (e.g. 2026-11-20 or 2026-11-20T08:00:00+08:00)`)
  return dt.toUTC().toISO()!
}

async function cmdRecordings(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    { officer: { type: 'string' }, device: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string' } },
    usage,
  )
  if (values.help) return showUsage(usage)
  const limit = values.limit === undefined ? 1000 : Number(values.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) throw new UsageError('--limit must be a whole number from 1 to 1000000')
  const st = station(values)
  try {
    const zone = st.cfg.station.timezone
    const rows = searchRecordings(st.db, {
      officerId: values.officer,
      deviceId: values.device,
      from: parseWhen(values.from, 'from', zone),
      to: parseWhen(values.to, 'to', zone),
      limit,
      sort: 'recordedAt',
    }).items
    if (values.json) {
      io.stdout(JSON.stringify(rows, null, 2) + '\n')
      return EXIT.ok
    }
    const lines = [['ID', 'RECORDED (camera time)', 'DEVICE', 'OFFICER', 'KIND', 'SIZE', 'SHA-256', 'SOURCE']]
    for (const r of rows) {
      const local = DateTime.fromISO(r.recordedAt, { zone: 'utc' }).setZone(`UTC${r.recordedOffset}`).toFormat('yyyy-MM-dd HH:mm:ss ZZ')
      lines.push([
        String(r.id),
        local + (r.important ? ' !' : ''),
        r.deviceId ?? '-',
        r.officerId ?? '-',
        r.kind,
        bytes(r.size),
        r.sha256.slice(0, 16),
        r.sourcePath,
      ])
    }
    io.stdout(table(lines) + `\n${rows.length} recording(s)${rows.length === limit ? ` (limit ${limit} reached: narrow the filters or raise --limit)` : ''}\n`)
    return EXIT.ok
  } finally {
    st.close()
  }
}

export const recordingsCommand: Command = { name: 'recordings', usage, run: cmdRecordings }
