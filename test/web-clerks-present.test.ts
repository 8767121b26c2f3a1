// The clerks' pages' pure parts (web/src/clerks/present.ts) as tables: a
// search survives the trip through the address bar (a shared link finds
// the same thing), times are shown as the camera's clock showed them, the
// custody trail folds only identical reads, and the sign-in's way back
// never leaves the station (web/src/lib/api-paths.ts safeNext).
import t from 'tap'
import { actorName, apiQuery, offsetMinutes, position, recordedText, searchFromUrl, searchToUrl, trailRows } from '../web/src/clerks/present.js'
import { trackDrawing } from '../web/src/clerks/track.js'
import { safeNext, withQuery } from '../web/src/lib/api-paths.js'

t.test('a search through the address and back', async (t) => {
  const cases: [string, string][] = [
    ['', '/clerks'],
    ['?officer=012345', '/clerks?officer=012345'],
    ['?q=%E5%87%BA%E8%AD%A6&important=true&view=list', '/clerks?q=%E5%87%BA%E8%AD%A6&important=true&view=list'],
    ['?zzz=1&officer=+012345+&important=yes', '/clerks?officer=012345'],
    ['?category=uncategorised&from=2026-11-20T08%3A00&cursor=abc', '/clerks?category=uncategorised&from=2026-11-20T08%3A00&cursor=abc'],
  ]
  for (const [given, want] of cases) t.equal(searchToUrl(searchFromUrl(given)), want, given || '(nothing)')
  t.equal(searchToUrl(searchFromUrl('?officer=1&cursor=x'), { cursor: '' }), '/clerks?officer=1', 'a new search starts at the first page')
  const q = apiQuery(searchFromUrl('?officer=012345&important=true&from=2026-11-20T08:00&to=nonsense'), 48)
  t.equal(q.officer, '012345')
  t.equal(q.important, 'true')
  t.equal(q.from, new Date('2026-11-20T08:00').toISOString(), "a local time as the browser's instant")
  t.equal(q.to, undefined, 'a time that is not one is left out, not sent')
  t.equal(q.limit, 48)
})

t.test("times as the camera's clock showed them", async (t) => {
  const cases: [string, string, string][] = [
    ['2026-11-20T00:00:00.000Z', '+08:00', '2026-11-20 08:00:00 (UTC+08:00)'],
    ['2026-11-20T23:30:00.000Z', '+08:00', '2026-11-21 07:30:00 (UTC+08:00)'],
    ['2026-11-20T03:00:00.000Z', '-05:00', '2026-11-19 22:00:00 (UTC-05:00)'],
    ['2026-11-20T03:00:00.000Z', 'Z', '2026-11-20 03:00:00 (UTC+00:00)'],
    ['2026-11-20T03:00:00.000Z', 'local?', '2026-11-20 03:00:00 UTC'],
    ['not a time', '+08:00', 'not a time'],
  ]
  for (const [iso, off, want] of cases) t.equal(recordedText(iso, off), want, `${iso} ${off}`)
  t.same(['+0530', '-00:30', 'x'].map(offsetMinutes), [330, -30, null])
  t.same([0, 999, 61_000, 3_723_000].map(position), ['0:00', '0:00', '1:01', '1:02:03'])
})

t.test('the trail folds runs of the same read by the same person, nothing else', async (t) => {
  const ev = (seq: number, type: string, actor: string, payload: Record<string, unknown> = {}) => ({
    seq,
    type,
    at: `2026-11-20T00:00:0${seq}Z`,
    actor,
    payload,
  })
  const rows = trailRows([
    ev(1, 'ingested', 'station:s1'),
    ev(2, 'viewed', 'user:li', { what: 'proxy', reason: null }),
    ev(3, 'viewed', 'user:li', { what: 'proxy', reason: null }),
    ev(4, 'viewed', 'user:wang', { what: 'proxy', reason: null }),
    ev(5, 'viewed', 'user:wang', { what: 'original', reason: '复核' }),
    ev(6, 'viewed', 'user:wang', { what: 'original', reason: '另一事由' }),
    ev(7, 'viewed', 'user:wang', { what: 'original', reason: '另一事由' }),
  ])
  t.same(
    rows.map((r) => [r.first.seq, r.count]),
    [
      [1, 1],
      [2, 2],
      [4, 1],
      [5, 1],
      [6, 2],
    ],
  )
  t.same(rows[1]!.seqs, [2, 3], 'a folded row keeps every event it stands for (each is checked)')
  t.same(actorName('user:li.na'), { kind: 'user', name: 'li.na' })
  t.same(actorName('station:s1'), { kind: 'station', name: 's1' })
  t.same(actorName('weird'), { kind: 'other', name: 'weird' })
})

t.test("after signing in, back to this station's pages only", async (t) => {
  const cases: [string | null, string][] = [
    ['/clerks?officer=1', '/clerks?officer=1'],
    ['/clerks/recordings/5', '/clerks/recordings/5'],
    [null, '/clerks'],
    ['', '/clerks'],
    ['//evil.example/x', '/clerks'],
    ['/\\evil.example', '/clerks'],
    ['https://evil.example/', '/clerks'],
    ['javascript:alert(1)', '/clerks'],
  ]
  for (const [next, want] of cases) t.equal(safeNext(next), want, String(next))
  t.equal(withQuery('/v1/recordings', { a: '', b: undefined, c: 0, d: 'x y' }), '/v1/recordings?c=0&d=x+y')
})

t.test('the GPS track drawing (web/src/clerks/track.ts): scaled to its box, north up, east right, the playback dot on the line', async (t) => {
  // A walk north-east at Shanghai's latitude, as the generated cameras' .SRT sidecars write it.
  const pts: [number, number, number][] = [
    [0, 31.23, 121.47],
    [1, 31.231, 121.471],
    [2, 31.232, 121.472],
  ]
  const d = trackDrawing(pts)
  t.equal(d.line.split(' ').length, 3, 'one polyline vertex per point')
  const [x0, y0] = d.start
  const [x1, y1] = d.end
  t.ok(x1 > x0 && y1 < y0, 'north-east goes right and up')
  t.ok(Math.max(d.w, d.h) <= 300 && Math.max(d.w, d.h) >= 299, `the longer side fills the box (${d.w}x${d.h})`)
  // Equal steps in degrees north and east: the drawn east-west side is cos(latitude) of the north-south one.
  t.ok(Math.abs((d.w - 24) / (d.h - 24) - Math.cos((31.231 * Math.PI) / 180)) < 0.01, 'east-west shortened by the cosine of the latitude')
  t.ok(Math.abs(d.heightM - 222.6) < 1, `north-south extent in metres (${d.heightM.toFixed(1)})`)
  t.same(d.at(-5), d.start, 'before the first point: the start')
  t.same(d.at(99), d.end, 'after the last: the end')
  t.same(d.at(1), trackDrawing(pts).line.split(' ')[1]!.split(',').map(Number), 'on a point: that point')
  const [mx, my] = d.at(0.5)
  t.ok(mx > x0 && mx < x1 && my < y0 && my > y1, 'between two points: between them')
  const one = trackDrawing([[0, 31.23, 121.47]])
  t.same(one.start, [one.w / 2, one.h / 2], 'a single point sits in the middle (no division by a zero extent)')
  t.equal(trackDrawing([]).line, '', 'no points: no line')
})
