// Random review (随机抽查) over real HTTP: a supervisor draws a sample and
// records outcomes; the draw is reproducible from its seed (over HTTP, and
// by anyone re-running the pure draw over the same recordings); no one but
// a supervisor records an outcome; auditors read; outcomes reach the
// monthly statistics.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildApi } from '../src/api/app.js'
import type { Role } from '../src/api/roles.js'
import { createToken } from '../src/api/tokens.js'
import { reviewCandidates } from '../src/catalog/reviews.js'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { retentionPolicy } from '../src/retention/config.js'
import { pickSample } from '../src/review/sample.js'
import { currentMonth, monthBounds } from '../src/stats/monthly.js'
import { defaultConfig, personToken, station, tempDir } from './helpers.js'
import { httpCall } from './http-support.js'

const s = station(t)
const cam = join(tempDir(t), 'cam')
mkdirSync(join(cam, 'DCIM'), { recursive: true })
// Two officers, five recordings each in November 2026, one in December (outside the month).
for (let i = 1; i <= 10; i++) {
  const officer = i % 2 ? '012345' : '054321'
  writeFileSync(
    join(cam, 'DCIM', `A1B2C3D_${officer}_202611${String(10 + i).padStart(2, '0')}090000_${String(i).padStart(4, '0')}.MP4`),
    Buffer.alloc(20_000 + i, i),
  )
}
writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20261202090000_0011.MP4'), Buffer.alloc(20_011, 11))
await s.ingest(cam)
const app = await buildApi({
  db: s.db,
  vault: s.vault,
  logger: silentLogger(),
  station: { id: 'test-station', name: 'Test station', timezone: 'Asia/Shanghai' },
  policy: retentionPolicy(defaultConfig()),
  openChecked: s.st.openChecked,
  rateLimitPerMinute: 100_000,
  handoverLimitSeconds: 86400,
})
const base = await app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => app.close())
const tok: Record<string, string> = {}
for (const role of ['clerk', 'officer', 'auditor'] as Role[])
  tok[role] = createToken(s.db, { name: role, role, actor: 'test', ...(role === 'officer' ? { officerId: '012345' } : {}) }).secret
// No service account holds a supervisor's role: the reviewer is a person.
tok.supervisor = await personToken(s.db, 'wang.sup', 'supervisor', '020002')
const call = (path: string, token: string, o: { method?: string; body?: unknown } = {}) => httpCall(base + path, { token, ...o })

t.test('a sample over HTTP is reproducible from its seed, by the API and by anyone re-drawing it', async (t) => {
  const a = await call('/v1/reviews/samples', tok.supervisor!, { method: 'POST', body: { month: '2026-11', perOfficer: 2, seed: 'audit-2026-11' } })
  t.equal(a.status, 201, JSON.stringify(a.json))
  t.match(a.json, { month: '2026-11', perOfficer: 2, seed: 'audit-2026-11', requestedBy: /^(token|user):/ })
  t.equal(a.json.items.length, 4, '2 per officer, 2 officers')
  const picked = (r: { json: { items: { recordingId: number; officerId: string }[] } }) => r.json.items.map((i) => [i.officerId, i.recordingId])
  const b = await call('/v1/reviews/samples', tok.supervisor!, { method: 'POST', body: { month: '2026-11', perOfficer: 2, seed: 'audit-2026-11' } })
  t.not(b.json.id, a.json.id, 'another sample')
  t.same(picked(b), picked(a), 'the same seed draws the same recordings')
  const { from, to } = monthBounds('2026-11', 'Asia/Shanghai')
  const redrawn = pickSample(reviewCandidates(s.db, from, to), 2, 'audit-2026-11').map((p) => [p.officerId, p.recordingId])
  t.same(picked(a).sort(), redrawn.sort(), 'an auditor re-running the draw over the same recordings gets the same sample')
  const c = await call('/v1/reviews/samples', tok.supervisor!, { method: 'POST', body: { month: '2026-11', perOfficer: 2, seed: 'another-seed' } })
  t.equal(c.status, 201)
  const dec = (await call('/v1/reviews/samples?month=2026-12', tok.auditor!)).json.items
  t.same(dec, [], 'no sample of December')
  const r = await call('/v1/reviews/samples', tok.supervisor!, { method: 'POST', body: { perOfficer: 2 } })
  t.equal(r.status, 201, 'month and seed may be left out')
  t.match(r.json.seed, /^[0-9a-f]{32}$/, 'a random seed, recorded')
  const ev = eventsFor(s.db, 'station:test-station').filter((e) => e.type === 'review-sampled' && e.payload.sampleId === a.json.id)
  t.match(ev, [
    { payload: { seed: 'audit-2026-11', recordingIds: a.json.items.map((i: { recordingId: number }) => i.recordingId).sort((x: number, y: number) => x - y) } },
  ])
  for (const bad of [{ perOfficer: 0 }, { perOfficer: 2, seed: 'has spaces' }, { perOfficer: 2, month: '2026-13' }, {}]) {
    const x = await call('/v1/reviews/samples', tok.supervisor!, { method: 'POST', body: bad })
    t.equal(x.status, 400, `refused: ${JSON.stringify(bad)}`)
  }
})

t.test('outcomes: a supervisor records them; a clerk, an officer or an auditor gets 403; auditors read; the monthly statistics count them', async (t) => {
  const a = await call('/v1/reviews/samples', tok.supervisor!, { method: 'POST', body: { month: '2026-11', perOfficer: 1, seed: 'outcomes' } })
  const [first, second] = a.json.items as { recordingId: number; officerId: string }[]
  const put = (token: string, rec: number, body: unknown, sample = a.json.id) =>
    call(`/v1/reviews/samples/${sample}/items/${rec}`, token, { method: 'PUT', body })
  for (const role of ['clerk', 'officer', 'auditor']) t.equal((await put(tok[role]!, first!.recordingId, { outcome: 'ok' })).status, 403, `${role}: 403`)
  t.equal((await call('/v1/reviews/samples', tok.clerk!, { method: 'POST', body: { perOfficer: 1 } })).status, 403, 'a clerk may not draw')
  t.equal((await call(`/v1/reviews/samples/${a.json.id}`, tok.clerk!)).status, 403, 'a clerk may not read samples')
  const ok = await put(tok.supervisor!, first!.recordingId, { outcome: 'late' })
  t.equal(ok.status, 200, JSON.stringify(ok.json))
  t.match(ok.json, { recordingId: first!.recordingId, outcome: 'late', note: null, decidedBy: /^(token|user):/ })
  const noNote = await put(tok.supervisor!, second!.recordingId, { outcome: 'other' })
  t.match([noNote.status, noNote.json.error.code], [400, 'REASON_REQUIRED'], '"other" needs a note')
  t.equal((await put(tok.supervisor!, second!.recordingId, { outcome: 'other', note: '画面遮挡 lens covered' })).status, 200)
  t.equal((await put(tok.supervisor!, first!.recordingId, { outcome: 'fine' })).status, 400, 'not an outcome')
  const notIn = s.db.prepare('SELECT id FROM recordings WHERE id NOT IN (?, ?) LIMIT 1').pluck().get(first!.recordingId, second!.recordingId) as number
  t.match((await put(tok.supervisor!, notIn, { outcome: 'ok' })).json.error, { code: 'USAGE' }, 'a recording not in the sample')
  t.equal((await put(tok.supervisor!, first!.recordingId, { outcome: 'ok' }, 999)).status, 404, 'no such sample')
  const read = await call(`/v1/reviews/samples/${a.json.id}`, tok.auditor!)
  t.equal(read.status, 200)
  t.same(read.json.items.map((i: { outcome: string | null; note: string | null }) => [i.outcome, i.note]).sort(), [
    ['late', null],
    ['other', '画面遮挡 lens covered'],
  ])
  t.match(
    eventsFor(s.db, `recording:${first!.recordingId}`).filter((e) => e.type === 'review-outcome'),
    [{ payload: { outcome: 'late', sampleId: a.json.id } }],
    'the outcome is a ledger event',
  )
  // outcomes count in the month they were decided (now), in the station's zone: not the sample's month
  const m = await call(`/v1/stats/monthly?month=${currentMonth('Asia/Shanghai')}&by=officer`, tok.supervisor!)
  const row = (o: string) => m.json.rows.find((r: { key: string }) => r.key === o)
  t.match(row(first!.officerId), { reviewed: 1, reviewLate: 1 })
  t.match(row(second!.officerId), { reviewed: 1, reviewOther: 1 })
})
