// The supervisors' workspace's pure parts (web/src/supervisors): the
// dashboard's figures into chart series, the links behind the bars, what an
// export lets its requester do, the ids a clerk types, a reason made one line.
import t from 'tap'
import { anchorStep, daySeries, dayAxis, delayBars, findingCounts, officerSeries, workState } from '../web/src/supervisors/dashboard-data.js'
import { WORK_ITEMS as SERVED } from '../src/catalog/work-items.js'
import { withQuery } from '../web/src/lib/api-paths.js'
import { custodyReportLink, itemsLink, searchLink, trailLink, WORK_ITEMS } from '../web/src/supervisors/links.js'
import { type ExportRequest, exportAction, hasRole, oneLine, parseIds, summarise } from '../web/src/supervisors/present.js'

const span = { recordedFrom: '2026-06-01T01:00:00.000Z', recordedTo: '2026-06-01T02:00:00.000Z' }

t.test('days: gaps filled, across a month end, none for no rows', async (t) => {
  t.same(dayAxis([{ day: '2026-07-02' }, { day: '2026-06-29' }]), ['2026-06-29', '2026-06-30', '2026-07-01', '2026-07-02'])
  t.same(dayAxis([]), [])
  t.same(
    daySeries(
      [
        { day: '2026-06-01', n: 3 },
        { day: '2026-06-03', n: 1 },
      ],
      (r) => r.n,
    ),
    { days: ['2026-06-01', '2026-06-02', '2026-06-03'], values: [3, 0, 1] },
  )
})

t.test('hours: one series per officer over the same days, zero where nothing was recorded', async (t) => {
  const s = officerSeries([
    { officerId: '010102', day: '2026-06-03', recordings: 2, hours: 1.5, ...span },
    { officerId: '010101', day: '2026-06-01', recordings: 1, hours: 0.25, ...span },
    { officerId: '010101', day: '2026-06-03', recordings: 1, hours: 2, ...span },
  ])
  t.same(s, {
    days: ['2026-06-01', '2026-06-02', '2026-06-03'],
    officers: [
      { officerId: '010101', hours: [0.25, 0, 2] },
      { officerId: '010102', hours: [0, 0, 1.5] },
    ],
  })
})

t.test('findings per code, work by state, anchoring steps', async (t) => {
  const f = (code: string) => ({ id: 1, code, deviceId: null, recordingId: null, message: '', foundAt: '' })
  t.same(findingCounts([f('counter-gap'), f('counter-repeat'), f('counter-gap')]), [
    { code: 'counter-gap', n: 2 },
    { code: 'counter-repeat', n: 1 },
  ])
  t.same(
    workState({ queues: [{ queue: 'media', state: 'failed', n: 2 }], fixity: { objects: 9, remote: 0, neverChecked: 9, due: 0, overdue: 1, failed: 0 } }),
    [
      { label: 'media:failed', n: 2 },
      { label: 'fixity:neverChecked', n: 9 },
      { label: 'fixity:due', n: 0 },
      { label: 'fixity:overdue', n: 1 },
      { label: 'fixity:failed', n: 0 },
    ],
  )
  for (const [level, step] of [
    ['catalog only', 0],
    ['log file', 1],
    ['bucket', 2],
    ['witnessed by 2', 3],
    ['unknown', 0],
  ] as const)
    t.equal(anchorStep(level), step, level)
})

t.test('links: the search with the API filter names, `to` one millisecond after the last recording', async (t) => {
  t.equal(
    searchLink({ officer: '010101', from: '2026-06-01T01:00:00Z', through: '2026-06-01T02:00:00.000Z' }),
    '/clerks?officer=010101&from=2026-06-01T01%3A00%3A00.000Z&to=2026-06-01T02%3A00%3A00.001Z&sort=recordedAt',
  )
  t.equal(searchLink({ officer: '(unknown)', category: 'uncategorised' }), '/clerks?category=uncategorised&sort=recordedAt', 'no officer filter for "unknown"')
  t.equal(trailLink({ subject: 'recording:12' }), '/audit/trail?subject=recording%3A12')
  t.equal(trailLink({ user: 'li.clerk' }), '/audit/trail?user=li.clerk')
})

t.test('what a requester can do with an export', async (t) => {
  const e = (over: Partial<ExportRequest>): ExportRequest => ({
    id: 1,
    recordingIds: [1],
    reason: 'court',
    recipient: 'court',
    requestedPerson: '010001',
    requestedAt: '',
    state: 'approved',
    decidedPerson: '020002',
    decidedAt: '',
    decisionReason: null,
    downloads: 0,
    allowedDownloads: 1,
    ...over,
  })
  for (const [over, person, want] of [
    [{ state: 'requested' }, '010001', 'wait'],
    [{ state: 'rejected' }, '010001', 'rejected'],
    [{}, '010001', 'download'],
    [{ downloads: 1 }, '010001', 'used-up'],
    [{ downloads: 1, allowedDownloads: 2 }, '010001', 'download'],
    [{}, '020002', 'not-mine'],
    [{}, null, 'not-mine'],
  ] as const)
    t.equal(exportAction(e(over), person), want, `${JSON.stringify(over)} for ${person}: ${want}`)
})

t.test('ids typed by a clerk, a reason made one line, a payload in one line', async (t) => {
  t.same(parseIds('12, 15 16\n15，17、18'), [12, 15, 16, 17, 18])
  for (const bad of ['', '12, x', '0', '-3', '1.5', '01']) t.equal(parseIds(bad), null, JSON.stringify(bad))
  t.equal(oneLine('  移送\n检察院\t第 2 次  '), '移送 检察院 第 2 次')
  t.equal(summarise({ recordingId: 3, sha256: 'a'.repeat(64), reason: null, what: 'original' }), `recordingId: 3; sha256: ${'a'.repeat(12)}…; what: original`)
  t.ok(summarise({ text: 'x'.repeat(500) }).length <= 240)
})

t.test('the handover histogram as bars: the buckets past the limit are late, the line between the last on time and the first late', async (t) => {
  const h = (limitSeconds: number) => ({
    limitSeconds,
    totals: { recordings: 10, late: 4, onTime: 6, onTimeRate: 0.6 },
    histogram: { le1h: 1, le8h: 2, le24h: 3, le48h: 4 },
    byOfficer: [],
    byUnit: [],
    late: [],
  })
  const day = delayBars(h(86400))
  t.same(day.keys, ['le1h', 'le8h', 'le24h', 'le48h', 'le72h', 'le7d', 'more'])
  t.same(day.values, [1, 2, 3, 4, 0, 0, 0], 'a bucket the API left out is 0')
  t.same(day.late, [false, false, false, true, true, true, true], '24 h: late from the 24-48 h bucket on')
  t.equal(day.limitAfter, 3)
  t.equal(delayBars(h(8 * 3600)).limitAfter, 2, 'an 8 h limit: the line after the 1-8 h bucket')
  t.equal(delayBars(h(48 * 3600)).limitAfter, 4, 'a 48 h limit')
})

t.test('the links behind the work chart and the anchoring panel, the custody report, the roles', async (t) => {
  t.same(WORK_ITEMS, SERVED, 'the page lists what GET /v1/dashboard/items serves, no more, no less')
  t.equal(itemsLink('media:failed'), '/dashboard/items?what=media%3Afailed')
  t.equal(itemsLink('unanchored'), '/dashboard/items?what=unanchored')
  t.equal(itemsLink('fixity:overdue'), '/dashboard/items?what=fixity%3Aoverdue', 'the fixity bars lead to their objects too')
  for (const none of ['media:done', '', 'x']) t.equal(itemsLink(none), null, `${JSON.stringify(none)}: no list`)
  t.equal(custodyReportLink(7), '/v1/reports/export/7', 'Chinese by default')
  t.equal(custodyReportLink(7, 'en'), '/v1/reports/export/7?lang=en')
  t.ok(hasRole({ roles: ['clerk', 'auditor'] }, 'auditor'))
  t.notOk(hasRole({ roles: ['clerk'] }, 'supervisor', 'auditor'))
  t.notOk(hasRole(null, 'clerk'))
  t.equal(
    withQuery('/v1/ledger', { type: ['viewed', 'exported'], subject: '', after: 0 }),
    '/v1/ledger?type=viewed&type=exported&after=0',
    'a list repeats its name',
  )
  t.equal(withQuery('/v1/ledger', { type: [] }), '/v1/ledger')
})
