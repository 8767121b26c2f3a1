// Handover on time and the monthly statistics (统计考核): the delay is counted
// from the recording's END (start + probed duration, else the start) to its
// commit, in absolute time (a DST change or a camera in another zone cannot
// move it); late ones are counted per officer and unit; the XLSX the CLI
// writes reads back (with exceljs) equal to the JSON statistics.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DateTime } from 'luxon'
import t from 'tap'
import { getHandover } from '../src/catalog/handovers.js'
import { retentionPolicy, type RetentionSettings } from '../src/retention/config.js'
import { setFlag } from '../src/retention/flags.js'
import { setCategory } from '../src/retention/actions.js'
import { handoverDelay, refreshHandovers } from '../src/stats/handover.js'
import { monthBounds, monthlyReport, readMonthlyXlsx } from '../src/stats/monthly.js'
import { ROOT, cli, station, tempDir } from './helpers.js'

const DAY = 86400
const rows: { name: string; recordedAt: string; durationSec: number | null; ingestedAt: string; delay: number; late: boolean; from: string }[] = [
  {
    name: 'ends 23:40 Beijing time, committed 24 h later exactly: on time',
    recordedAt: '2026-11-20T23:30:00+08:00',
    durationSec: 600,
    ingestedAt: '2026-11-21T15:40:00Z',
    delay: DAY,
    late: false,
    from: 'probe',
  },
  {
    name: 'one second more: late',
    recordedAt: '2026-11-20T23:30:00+08:00',
    durationSec: 600,
    ingestedAt: '2026-11-21T15:40:01Z',
    delay: DAY + 1,
    late: true,
    from: 'probe',
  },
  {
    name: 'counted from the end, not the start: a 3-hour clip docked 26 h after it began is on time',
    recordedAt: '2026-11-20T08:00:00+08:00',
    durationSec: 3 * 3600,
    ingestedAt: '2026-11-21T10:00:00+08:00',
    delay: 23 * 3600,
    late: false,
    from: 'probe',
  },
  {
    name: 'not probed: counted from the start (never on time by guesswork)',
    recordedAt: '2026-11-20T08:00:00+08:00',
    durationSec: null,
    ingestedAt: '2026-11-21T10:00:00+08:00',
    delay: 26 * 3600,
    late: true,
    from: 'start',
  },
  {
    name: 'Berlin, across the end of summer time: 23.5 h on the wall clock, 24.5 h in fact: late',
    recordedAt: '2026-10-24T23:00:00+02:00',
    durationSec: 3600,
    ingestedAt: '2026-10-25T23:30:00+01:00',
    delay: 24.5 * 3600,
    late: true,
    from: 'probe',
  },
  {
    name: 'New York, into summer time: 24.5 h on the wall clock, 23.5 h in fact: on time',
    recordedAt: '2026-03-07T22:00:00-05:00',
    durationSec: 0,
    ingestedAt: '2026-03-08T22:30:00-04:00',
    delay: 23.5 * 3600,
    late: false,
    from: 'probe',
  },
  {
    name: 'the same instants written in other offsets give the same delay',
    recordedAt: '2026-11-20T15:30:00Z',
    durationSec: 600,
    ingestedAt: '2026-11-21T23:40:01+08:00',
    delay: DAY + 1,
    late: true,
    from: 'probe',
  },
  {
    name: 'a camera clock running fast (ends after the commit): 0, on time',
    recordedAt: '2026-11-20T10:00:00+08:00',
    durationSec: 7200,
    ingestedAt: '2026-11-20T11:00:00+08:00',
    delay: 0,
    late: false,
    from: 'probe',
  },
]

t.test('the handover delay, as a table', async (t) => {
  for (const r of rows) {
    const h = handoverDelay(r, DAY)
    t.same([h.delaySeconds, h.late, h.endedFrom], [r.delay, r.late, r.from], r.name)
  }
  t.equal(handoverDelay(rows[1]!, 2 * DAY).late, false, 'a 48 h limit (config retention.handoverLimitHours)')
})

t.test('late handovers per officer and unit; the monthly statistics as JSON and as the XLSX the CLI writes', async (t) => {
  const s = station(t)
  const zone = 'Asia/Shanghai'
  const now = DateTime.now().setZone(zone)
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  // Three days old (late), and two hours old (on time), by officer 012345 on device A1B2C3D.
  const late = now.minus({ days: 3, minutes: 1 })
  const fresh = now.minus({ hours: 2 })
  writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_${late.toFormat('yyyyMMddHHmmss')}_0001.MP4`), Buffer.alloc(30_000, 1))
  writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_${fresh.toFormat('yyyyMMddHHmmss')}_0002.MP4`), Buffer.alloc(30_000, 2))
  const [a, b] = (await s.ingest(cam)).ingested.sort((x, y) => x.id - y.id)
  t.same(refreshHandovers(s.db, DAY), { computed: 2 })
  t.same(refreshHandovers(s.db, DAY), { computed: 0 }, 'stored: nothing to recompute')
  t.equal(getHandover(s.db, a!.id)?.late, true, 'three days: late')
  t.equal(getHandover(s.db, b!.id)?.late, false, 'two hours: on time')
  t.same(refreshHandovers(s.db, 4 * DAY), { computed: 2 }, 'a new limit recomputes')
  t.equal(getHandover(s.db, a!.id)?.late, false, 'within 4 days')

  const policy = retentionPolicy({
    station: { timezone: zone },
    retention: (JSON.parse(readFileSync(join(ROOT, 'config/default.json'), 'utf8')) as { retention: RetentionSettings }).retention,
  })
  setCategory({ db: s.db, policy, actor: 'user:clerk.li', now: new Date() }, a!.id, 'patrol', 'routine patrol')
  setFlag({ db: s.db, policy, actor: 'user:clerk.li', person: '900001', now: new Date() }, a!.id, 'complaint', '投诉 2026-33')

  const month = late.toFormat('yyyy-MM')
  const r = monthlyReport(s.db, { month, by: 'officer', timezone: zone, limitSeconds: DAY })
  const mine = r.rows.find((x) => x.key === '012345')!
  const both = fresh.toFormat('yyyy-MM') === month
  // The flag counts in the month it was set (now), the recordings in the month they were recorded: in a month's
  // first three days the late recording is last month's and its flag this month's.
  const flagHere = now.toFormat('yyyy-MM') === month ? 1 : 0
  t.match(mine, { recordings: both ? 2 : 1, handedOver: both ? 2 : 1, late: 1, classified: 1, flags: flagHere }, 'officer 012345')
  if (!flagHere) {
    const thisMonth = monthlyReport(s.db, { month: now.toFormat('yyyy-MM'), by: 'officer', timezone: zone, limitSeconds: DAY })
    t.match(
      thisMonth.rows.find((x) => x.key === '012345'),
      { flags: 1 },
      'the flag in the month it was set',
    )
  }
  t.equal(mine.onTimeRate, both ? 0.5 : 0)
  t.equal(mine.classifiedRate, both ? 0.5 : 1)
  t.match(r.handovers.byOfficer, [{ officerId: '012345', late: 1 }], 'late handovers per officer')
  t.match(r.handovers.byUnit, [{ unitCode: '-', late: 1 }], 'and per unit (none in the roster here)')
  t.same(
    r.handovers.late.map((l) => l.recordingId),
    [a!.id],
    'the late one listed',
  )
  t.equal(
    Object.values(r.handovers.histogram).reduce((x, y) => x + y, 0),
    r.handovers.totals.recordings,
    'the histogram counts every recording',
  )
  t.equal(r.handovers.histogram.le7d, 1, 'three days and a moment late: in the 72 h - 7 d bucket')
  t.same(monthBounds('2026-11', zone), { from: '2026-10-31T16:00:00.000Z', to: '2026-11-30T16:00:00.000Z' }, 'a month in the station zone')

  // The CLI's XLSX, re-read with exceljs, equals the JSON statistics.
  const dir = join(ROOT, 'artifacts', 'handover-stats')
  mkdirSync(dir, { recursive: true })
  const out = join(dir, `stats-${month}-unit.xlsx`)
  const env = { BODYVAULT_DATA_DIR: s.dataDir }
  const x = cli(['stats', '--month', month, '--by', 'unit', '--format', 'xlsx', '--out', out], env)
  t.equal(x.code, 0, x.stderr)
  const json = cli(['stats', '--month', month, '--by', 'unit', '--json'], env)
  t.equal(json.code, 0, json.stderr)
  const fromJson = (JSON.parse(json.stdout) as { rows: unknown[] }).rows
  t.same(await readMonthlyXlsx(readFileSync(out)), fromJson, `the XLSX equals the JSON (${out})`)
  t.match(fromJson, [{ key: '-', late: 1, flags: flagHere }])
})
