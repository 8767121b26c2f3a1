// Random review (随机抽查): the draw is reproducible from its recorded seed
// (and independent of the order recordings are listed in), another seed
// draws another sample, each outcome is a ledger event, and the outcomes
// count in the monthly statistics.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { getSample } from '../src/catalog/reviews.js'
import { drawSample, pickSample, recordOutcome, type ReviewCtx } from '../src/review/sample.js'
import { monthBounds, monthlyReport } from '../src/stats/monthly.js'
import { station, tempDir } from './helpers.js'

const candidates = Array.from({ length: 40 }, (_, i) => ({ id: i + 1, officerId: i % 2 ? '012345' : '054321' }))

t.test('the draw: reproducible from the seed, order-independent, N per officer', async (t) => {
  const a = pickSample(candidates, 3, 'seed-2026-11')
  t.same(pickSample([...candidates].reverse(), 3, 'seed-2026-11'), a, 'same seed, same sample, whatever the input order')
  t.same(
    a.map((x) => x.officerId),
    ['012345', '012345', '012345', '054321', '054321', '054321'],
    '3 per officer',
  )
  t.notSame(pickSample(candidates, 3, 'another-seed'), a, 'another seed, another sample')
  t.equal(pickSample(candidates.slice(0, 2), 5, 's').length, 2, 'an officer with fewer recordings: all of them')
})

t.test('a sample drawn at a station, its outcomes on the ledger and in the statistics', async (t) => {
  const s = station(t)
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (let i = 1; i <= 6; i++)
    writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_202611${String(10 + i).padStart(2, '0')}090000_000${i}.MP4`), Buffer.alloc(20_000, i))
  await s.ingest(cam)
  const ctx: ReviewCtx = { db: s.db, actor: 'user:supervisor.wang', person: '900002', stationId: 'test-station', now: new Date('2026-11-28T10:00:00+08:00') }
  const { from, to } = monthBounds('2026-11', 'Asia/Shanghai')
  const first = drawSample(ctx, { month: '2026-11', from, to, perOfficer: 2 })
  t.equal(first.items.length, 2)
  t.match(getSample(s.db, first.sample.id)?.seed, /^[0-9a-f]{32}$/, 'a random seed, recorded')
  const again = drawSample(ctx, { month: '2026-11', from, to, perOfficer: 2, seed: first.sample.seed })
  t.same(
    again.items.map((i) => i.recordingId),
    first.items.map((i) => i.recordingId),
    'drawn again from the recorded seed: the same recordings',
  )
  const [x, y] = first.items
  t.throws(() => recordOutcome(ctx, first.sample.id, x!.recordingId, 'fine', undefined), { code: 'USAGE' })
  t.throws(() => recordOutcome(ctx, first.sample.id, x!.recordingId, 'other', ' '), { code: 'REASON_REQUIRED' }, 'other needs a note')
  t.throws(() => recordOutcome(ctx, first.sample.id, 9999, 'ok', undefined), { code: 'USAGE' }, 'not in the sample')
  recordOutcome(ctx, first.sample.id, x!.recordingId, 'ok', undefined)
  recordOutcome(ctx, first.sample.id, y!.recordingId, 'incomplete', '开始录制晚于现场执法')
  const events = s.db.prepare("SELECT type, payload FROM events WHERE type LIKE 'review-%' ORDER BY seq").all() as { type: string; payload: string }[]
  t.same(
    events.map((e) => e.type),
    ['review-sampled', 'review-sampled', 'review-outcome', 'review-outcome'],
  )
  t.match(JSON.parse(events[0]!.payload), { seed: first.sample.seed, perOfficer: 2, person: '900002' }, 'the seed is on the ledger')
  const stats = monthlyReport(s.db, { month: '2026-11', by: 'officer', timezone: 'Asia/Shanghai', limitSeconds: 86400 })
  t.match(
    stats.rows.find((r) => r.key === '012345'),
    { reviewed: 2, reviewOk: 1, reviewIncomplete: 1 },
    'outcomes in the statistics of the month decided (28 November, station time)',
  )
  const dec = monthlyReport(s.db, { month: '2026-12', by: 'officer', timezone: 'Asia/Shanghai', limitSeconds: 86400 })
  t.same(
    dec.rows.map((r) => r.reviewed),
    [],
    'and not in the next month',
  )
})
