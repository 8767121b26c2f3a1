// The issue-20 routes over real HTTP: flags (set, removal asked for, approval
// by a supervisor of another account), the handover and monthly statistics (JSON that
// matches its schema, the XLSX file), the custody report PDF; rights by role.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildApi } from '../src/api/app.js'
import type { Role } from '../src/api/roles.js'
import { createToken } from '../src/api/tokens.js'
import { silentLogger } from '../src/common/log.js'
import { retentionPolicy } from '../src/retention/config.js'
import { currentMonth, readMonthlyXlsx } from '../src/stats/monthly.js'
import { defaultConfig, personToken, station, tempDir } from './helpers.js'
import { httpCall } from './http-support.js'

const s = station(t)
const cam = join(tempDir(t), 'cam')
mkdirSync(join(cam, 'DCIM'), { recursive: true })
writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20261120090000_0001.MP4'), Buffer.alloc(20_000, 1))
const [rec] = (await s.ingest(cam)).ingested
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
tok.supervisor = await personToken(s.db, 'wang.sup', 'supervisor', '020002') // no service account holds a supervisor's role
const call = (path: string, token: string, o: { method?: string; body?: unknown } = {}) => httpCall(base + path, { token, ...o })

t.test('flags over HTTP', async (t) => {
  const set = await call(`/v1/recordings/${rec!.id}/flags`, tok.clerk!, { method: 'POST', body: { flag: 'obstruction', reason: '阻碍执法 2026-1187' } })
  t.equal(set.status, 201, JSON.stringify(set.json))
  t.match(set.json, { rule: 'flag', ruleRef: 'obstruction', deadline: 'indefinite', flag: { flag: 'obstruction' } })
  const id = set.json.flag.id as number
  t.equal((await call(`/v1/recordings/${rec!.id}/flags`, tok.officer!, { method: 'POST', body: { flag: 'complaint', reason: 'x x x x' } })).status, 403)
  const bad = await call(`/v1/recordings/${rec!.id}/flags`, tok.clerk!, { method: 'POST', body: { flag: 'fishing', reason: 'a reason' } })
  t.match([bad.status, bad.json.error.code], [400, 'FLAG_UNKNOWN'])
  t.equal((await call(`/v1/flags/${id}/removal`, tok.clerk!, { method: 'POST', body: { reason: 'the wrong clip' } })).status, 200)
  t.equal((await call(`/v1/flags/${id}/removal/approve`, tok.clerk!, { method: 'POST', body: {} })).status, 403, 'a clerk may not approve')
  t.match((await call('/v1/flags?which=removal-requested', tok.auditor!)).json.items, [{ id, removalReason: 'the wrong clip' }])
  const ok = await call(`/v1/flags/${id}/removal/approve`, tok.supervisor!, { method: 'POST', body: { reason: 'checked the clip' } })
  t.equal(ok.status, 200, JSON.stringify(ok.json))
  t.match(ok.json, { rule: 'uncategorised', flag: { removedBy: /^(token|user):/ } }, 'another account approved: removed')
  const again = await call(`/v1/flags/${id}/removal/approve`, tok.supervisor!, { method: 'POST', body: {} })
  t.match([again.status, again.json.error.code], [409, 'FLAG_REMOVED'])
})

t.test('statistics and the custody report over HTTP', async (t) => {
  const h = await call('/v1/stats/handovers?month=2026-11', tok.supervisor!)
  t.equal(h.status, 200)
  t.match(h.json, { totals: { recordings: 1, late: 1 }, byOfficer: [{ officerId: '012345', late: 1 }], histogram: { more: 1 } })
  const m = await call('/v1/stats/monthly?month=2026-11&by=officer', tok.supervisor!)
  // the recording counts in the month it was recorded, its flag in the month it was set (now, station time)
  const flagMonth = currentMonth('Asia/Shanghai')
  if (flagMonth === '2026-11') t.match(m.json.rows, [{ key: '012345', recordings: 1, late: 1, flags: 1 }])
  else {
    t.match(m.json.rows, [{ key: '012345', recordings: 1, late: 1, flags: 0 }])
    const now = await call(`/v1/stats/monthly?month=${flagMonth}&by=officer`, tok.supervisor!)
    t.match(now.json.rows, [{ key: '012345', recordings: 0, flags: 1 }], 'the flag in the month it was set')
  }
  const x = await call('/v1/stats/monthly/xlsx?month=2026-11&by=officer', tok.supervisor!)
  t.match(x.headers['content-type'], /spreadsheetml/)
  t.same(await readMonthlyXlsx(x.buf), m.json.rows, 'the XLSX equals the JSON')
  t.equal((await call('/v1/stats/monthly?month=2026-13', tok.supervisor!)).status, 400, 'not a month: 4xx')
  t.equal((await call('/v1/stats/handovers', tok.officer!)).status, 403)
  const pdf = await call(`/v1/reports/recording/${rec!.id}?lang=en`, tok.auditor!)
  t.equal(pdf.status, 200, pdf.buf.toString('utf8', 0, 300))
  t.match(pdf.headers['content-type'], /application\/pdf/)
  t.equal(pdf.buf.subarray(0, 5).toString(), '%PDF-')
  t.equal((await call('/v1/reports/case/NOPE', tok.auditor!)).status, 404)
})
