// The API's edges (issue 12), each from the attack that found it: rate
// limits that a missing or made-up token escaped, numbers that JavaScript
// reads too kindly, suffix ranges longer than the file, reasons that say
// nothing, ids an officer could enumerate, a status credential that read
// more than status, and a purged recording that answered two ways.
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { type ApiDeps, buildApi } from '../src/api/app.js'
import type { Role } from '../src/api/roles.js'
import { createToken } from '../src/api/tokens.js'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { runPurge } from '../src/retention/purge.js'
import { setCategory } from '../src/retention/actions.js'
import { station, tempDir, personToken } from './helpers.js'
import { type HttpResult, httpCall } from './http-support.js'

const s = station(t)
// Three recordings: two of officer 012345 (the first is purged below), one of officer 999999.
const cam = join(tempDir(t), 'cam')
mkdirSync(join(cam, 'DCIM'), { recursive: true })
// The first is recorded in January (its patrol period ends in July), the others in June (not due then).
for (const [officer, seq, time] of [
  ['012345', 1, '20260115080000'],
  ['012345', 2, '20260601080000'],
  ['999999', 3, '20260601080000'],
] as const)
  writeFileSync(join(cam, 'DCIM', `A1B2C3D_${officer}_${time}_000${seq}.MP4`), Buffer.alloc(70_000 + seq, seq))
const [purged, mine, theirs] = (await s.ingest(cam)).ingested
if (!purged || !mine || !theirs) throw new Error('ingest failed')

async function api(over: Partial<ApiDeps> = {}, register?: Parameters<typeof buildApi>[1]): Promise<string> {
  const app = await buildApi(
    {
      db: s.db,
      vault: s.vault,
      logger: silentLogger(),
      station: s.st.cfg.station,
      policy: s.st.policy,
      openChecked: s.st.openChecked,
      rateLimitPerMinute: 100_000,
      ...over,
    },
    register,
  )
  t.teardown(() => app.close())
  return app.listen({ host: '127.0.0.1', port: 0 })
}
const base = await api()

const tokens: Record<string, string> = {}
for (const role of ['clerk', 'admin', 'auditor'] as Role[]) tokens[role] = createToken(s.db, { name: role, role, actor: 'test' }).secret
tokens.supervisor = await personToken(s.db, 'sup.wang', 'supervisor', '900101')
tokens.supervisor2 = await personToken(s.db, 'sup.zhao', 'supervisor', '900102')
tokens.officer = createToken(s.db, { name: 'PC 012345', role: 'officer', officerId: '012345', actor: 'test' }).secret

type Res = HttpResult
const call = (url: string, o: Parameters<typeof httpCall>[1] = {}): Promise<Res> => httpCall(url.startsWith('http') ? url : base + url, o)

t.test('429 RATE_LIMITED, per token and, without a valid token, per address; never a 500', async (t) => {
  const limited = await api({ rateLimitPerMinute: 5 })
  const seen = (rs: Res[]) => rs.map((r) => r.status).join(',')
  const withToken: Res[] = []
  for (let i = 0; i < 8; i++) withToken.push(await call(`${limited}/v1/recordings`, { token: tokens.clerk }))
  t.equal(seen(withToken), '200,200,200,200,200,429,429,429', 'a token: 5 a minute')
  const over = withToken[5]!
  t.match(over.json, { error: { code: 'RATE_LIMITED', message: /more than 5 requests a minute for this token/ } })
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After says when')
  t.equal((await call(`${limited}/v1/recordings`, { token: tokens.supervisor })).status, 200, 'another token has its own budget')

  const without: Res[] = []
  for (let i = 0; i < 7; i++) without.push(await call(`${limited}/v1/recordings`))
  t.equal(seen(without), '401,401,401,401,401,429,429', 'no token: limited per address')
  t.equal(without[6]!.json.error.code, 'RATE_LIMITED')
  const madeUp = await call(`${limited}/v1/recordings`, { token: `bv_${'Z'.repeat(43)}` })
  t.equal(madeUp.status, 429, 'a made-up token counts against the address, not a fresh budget of its own')
  t.equal((await call(`${limited}/v1/recordings`, { headers: { authorization: 'Basic YTpi' } })).status, 429, 'nor does another scheme')
  t.equal((await call(`${limited}/healthz`)).status, 429, 'the address is limited on every route')
  t.equal((await call(`${limited}/v1/recordings`, { token: tokens.auditor })).status, 200, 'a valid token is still served from that address')

  for (const r of [...withToken, ...without]) t.notMatch(r.buf.toString('utf8'), /FST_ERR|Internal Server Error/, 'no framework error leaks')
})

t.test('strict integer ids and bounded numbers: 400, never read as 1, never a 500', async (t) => {
  const ok = await call(`/v1/recordings/${mine.id}`, { token: tokens.clerk })
  t.equal(ok.status, 200)
  for (const id of ['0x1', '1e0', '+1', '%201', '1%20', '1.0', '01', '-0', '0', '-1', '1e309', 'Infinity', 'NaN', '9007199254740993', '0b1', '%091', '１']) {
    const r = await call(`/v1/recordings/${id}`, { token: tokens.clerk })
    t.equal(r.status, 400, `id ${id}`)
    t.equal(r.json?.error?.code, 'BAD_REQUEST', `id ${id}: BAD_REQUEST`)
  }
  t.equal((await call('/v1/exports/0x1/approve', { token: tokens.supervisor, method: 'POST', body: {} })).status, 400, 'ids in any route')
  t.equal((await call('/v1/cases/X-1/recordings/1e0?reason=test%20unlink', { token: tokens.clerk, method: 'DELETE' })).status, 400)
  for (const limit of ['1e309', '-1e309', 'Infinity', 'NaN', '0x10', '-0', '1e2', '+5', '5.0', '501', '0', String(2 ** 53 + 1), '9'.repeat(400)]) {
    const r = await call(`/v1/recordings?limit=${limit}`, { token: tokens.clerk })
    t.equal(r.status, 400, `limit=${limit}`)
  }
  t.equal((await call('/v1/recordings?limit=2&limit=3', { token: tokens.clerk })).status, 400, 'a repeated number')
  const two = await call('/v1/recordings?limit=2', { token: tokens.clerk })
  t.equal(two.json.items.length, 2, 'limit=2 is 2')
  t.equal((await call('/v1/recordings?limit=500', { token: tokens.clerk })).status, 200)
  t.equal(
    (await call('/v1/exports', { token: tokens.clerk, method: 'POST', body: { recordingIds: [1e300], reason: 'court order', recipient: 'court' } })).status,
    400,
  )
  for (const at of ['2026-06-30T23:59:60Z', '+275760-09-13T00:00:01Z', '2026-02-30T00:00:00Z']) {
    const r = await call(`/v1/retention/plan?at=${encodeURIComponent(at)}`, { token: tokens.clerk })
    t.equal(r.status, 400, `at=${at}: a date-time JavaScript cannot hold is bad input`)
  }
})

t.test('RFC 9110 ranges: a suffix longer than the file is the whole file; a last-pos past the end is the end', async (t) => {
  const url = `/v1/recordings/${mine.id}/original?reason=range%20check`
  const whole = createHash('sha256').update(Buffer.alloc(mine.size, 2)).digest('hex')
  t.equal(whole, mine.sha256)
  for (const range of [`bytes=-${'9'.repeat(31)}`, `bytes=-${mine.size}`, `bytes=-${mine.size + 1}`, `bytes=0-${'9'.repeat(31)}`, `bytes=0-${2 ** 53 + 1}`]) {
    const r = await call(url, { token: tokens.clerk, headers: { range } })
    t.equal(r.status, 206, range)
    t.equal(r.headers['content-range'], `bytes 0-${mine.size - 1}/${mine.size}`, `${range}: all of it`)
    t.equal(createHash('sha256').update(r.buf).digest('hex'), mine.sha256, `${range}: the bytes of the original`)
  }
  const past = await call(url, { token: tokens.clerk, headers: { range: `bytes=${'9'.repeat(31)}-` } })
  t.equal(past.status, 416, 'a first-pos past the end is unsatisfiable')
  t.equal(past.headers['content-range'], `bytes */${mine.size}`)
  t.equal((await call(url, { token: tokens.clerk, headers: { range: 'bytes=-0' } })).status, 416, 'an empty suffix is unsatisfiable')
  const twice = await call(url, { token: tokens.clerk, headers: { range: ['bytes=0-9', 'bytes=20-29'] } })
  t.equal(twice.status, 200, 'two Range headers: the whole body (a server may ignore Range)')
  t.equal(twice.buf.length, mine.size)
})

t.test('reasons need a few visible characters and no control characters; a refused one leaves no trace', async (t) => {
  const url = (reason: string) => `/v1/recordings/${mine.id}/original?reason=${encodeURIComponent(reason)}`
  const views = () => eventsFor(s.db, `recording:${mine.id}`).filter((e) => e.type === 'viewed').length
  const before = views()
  const refused = [
    '\u200b\u200b\u200b\u200b',
    '\u200b a \u200b',
    'case\u0000review',
    'case\nreview',
    'abc',
    '   ',
    '\u202ereview',
    '\ufeff\ufeff\ufeff\ufeffx',
    '复',
  ]
  for (const reason of refused) {
    const r = await call(url(reason), { token: tokens.clerk })
    t.equal(r.status, 400, `original, reason ${JSON.stringify(reason)}`)
    t.equal(r.json?.error?.code, 'REASON_REQUIRED')
  }
  t.equal(views(), before, 'no viewed event for a refused read')
  for (const reason of ['case review', '复核', 'Fall 2026-117', '🚨 court'])
    t.equal((await call(url(reason), { token: tokens.clerk })).status, 200, `reason ${reason}`)
  t.equal(views(), before + 4)
  const exp = await call('/v1/exports', {
    token: tokens.clerk,
    method: 'POST',
    body: { recordingIds: [mine.id], reason: '\u200b\u200b\u200b\u200b', recipient: 'court' },
  })
  t.equal(exp.json?.error?.code, 'REASON_REQUIRED', 'an export request')
  const hold = await call(`/v1/recordings/${mine.id}/holds`, { token: tokens.supervisor, method: 'POST', body: { reason: 'lit\u0000igation' } })
  t.equal(hold.json?.error?.code, 'REASON_REQUIRED', 'a legal hold')
  const cat = await call(`/v1/recordings/${mine.id}/category`, { token: tokens.clerk, method: 'PUT', body: { category: 'patrol', reason: '\ud800abcd' } })
  t.equal(cat.json?.error?.code, 'REASON_REQUIRED', 'a category change (half a surrogate pair)')
  const types = eventsFor(s.db, `recording:${mine.id}`).map((e) => e.type)
  t.notOk(types.includes('hold-placed') || types.includes('category-changed'), 'none of them reached the ledger')
})

t.test('an officer gets 404 for a recording that is not theirs, the same answer as for one that does not exist', async (t) => {
  for (const suffix of ['', '/events', '/original?reason=look%20around', '/proxy', '/thumbnail']) {
    const other = await call(`/v1/recordings/${theirs.id}${suffix}`, { token: tokens.officer })
    const none = await call(`/v1/recordings/999999${suffix}`, { token: tokens.officer })
    t.equal(other.status, 404, `someone else's ${suffix || 'metadata'}`)
    t.same(other.json, { error: { code: 'RECORDING_NOT_FOUND', message: `no recording ${theirs.id}` } })
    t.same([none.status, none.json.error.code, none.json.error.message], [404, 'RECORDING_NOT_FOUND', 'no recording 999999'], 'and for none at all')
  }
  t.equal((await call(`/v1/recordings/${mine.id}`, { token: tokens.officer })).status, 200, 'their own: 200')
})

t.test('the station-local status credential reads /v1/station and nothing else', async (t) => {
  const secret = `bvl_${'s'.repeat(43)}`
  const status = { station: { id: 'test-station', name: 'Test station' } }
  const local = await api({ localSecret: secret }, async (v1) => {
    v1.get('/station', { config: { right: 'station:read' } }, async () => status)
  })
  const as = (path: string) => call(`${local}${path}`, { token: secret })
  t.same((await as('/v1/station')).json, status, 'GET /v1/station')
  for (const path of ['/metrics', '/docs/json', '/v1/recordings', '/v1/stats', `/v1/recordings/${mine.id}`]) {
    const r = await as(path)
    t.equal(r.status, 403, path)
    t.equal(r.json.error.code, 'FORBIDDEN')
  }
  for (const role of ['admin', 'clerk', 'auditor'])
    t.same(
      [(await call(`${local}/metrics`, { token: tokens[role] })).status, (await call(`${local}/docs/json`, { token: tokens[role] })).status],
      [200, 200],
      role,
    )
  const metrics = await call(`${local}/metrics`, { token: tokens.admin })
  t.match(metrics.buf.toString('utf8'), /^# HELP /m, 'metrics are Prometheus text, not a JSON string')
  t.match(metrics.buf.toString('utf8'), /bodyvault_recordings 3/)
})

t.test('a purged recording answers 410 RECORDING_PURGED everywhere', async (t) => {
  const req = await call('/v1/exports', {
    token: tokens.clerk,
    method: 'POST',
    body: { recordingIds: [purged.id, mine.id], reason: 'before the purge', recipient: 'court' },
  })
  t.equal(req.status, 201)
  t.equal((await call(`/v1/exports/${req.json.id}/approve`, { token: tokens.supervisor, method: 'POST', body: {} })).status, 200)
  setCategory({ db: s.db, policy: s.st.policy, actor: 'user:clerk', now: new Date('2026-01-16T09:00:00+08:00') }, purged.id, 'patrol', 'routine patrol')
  const rep = await runPurge({
    db: s.db,
    vault: s.vault,
    policy: s.st.policy,
    now: new Date('2026-07-24T00:00:00+08:00'),
    dryRun: false,
    actor: 'station:test',
    logger: silentLogger(),
  })
  t.same(
    rep.purged.map((p) => p.recordingId),
    [purged.id],
  )
  const answers: [string, Res][] = [
    ['original', await call(`/v1/recordings/${purged.id}/original?reason=court%20order`, { token: tokens.clerk })],
    ['proxy', await call(`/v1/recordings/${purged.id}/proxy`, { token: tokens.clerk })],
    ['thumbnail', await call(`/v1/recordings/${purged.id}/thumbnail`, { token: tokens.clerk })],
    [
      'export request',
      await call('/v1/exports', { token: tokens.clerk, method: 'POST', body: { recordingIds: [purged.id], reason: 'after the purge', recipient: 'court' } }),
    ],
    ['download of an export approved before the purge', await call(`/v1/exports/${req.json.id}/download`, { token: tokens.clerk })],
    [
      'category',
      await call(`/v1/recordings/${purged.id}/category`, { token: tokens.clerk, method: 'PUT', body: { category: 'evidence', reason: 'too late now' } }),
    ],
    ['legal hold', await call(`/v1/recordings/${purged.id}/holds`, { token: tokens.supervisor, method: 'POST', body: { reason: 'too late now' } })],
  ]
  for (const [what, r] of answers) t.same([r.status, r.json?.error?.code], [410, 'RECORDING_PURGED'], what)
  const meta = await call(`/v1/recordings/${purged.id}`, { token: tokens.clerk })
  t.same([meta.status, meta.json.recording.status], [200, 'purged'], 'its metadata and ledger events remain readable')
})

t.test('header abuse: huge headers, odd Authorization schemes', async (t) => {
  const huge = await call('/v1/recordings', { token: tokens.clerk, headers: { 'x-pad': 'x'.repeat(20_000) } })
  t.same([huge.status, huge.json?.error?.code], [431, 'HEADERS_TOO_LARGE'], 'over the header limit: 431 in our JSON shape')
  // The same to a HEAD request: the answer's head and nothing after it (a body would be read as the next answer).
  const { hostname: host, port } = new URL(base)
  const rawHead = await new Promise<string>((resolve, reject) => {
    const sock = connect({ host, port: Number(port) }, () => sock.end(`HEAD /v1/recordings HTTP/1.1\r\nHost: ${host}\r\nX-Pad: ${'x'.repeat(20_000)}\r\n\r\n`))
    let got = ''
    sock.on('data', (b: Buffer) => {
      got += b.toString('latin1')
    })
    sock.on('error', reject)
    sock.on('close', () => resolve(got))
  })
  t.match(rawHead, /^HTTP\/1\.1 431 /, 'HEAD over the header limit: 431')
  t.equal(rawHead.slice(rawHead.indexOf('\r\n\r\n') + 4), '', 'and no body after the head')
  for (const authorization of [
    'Basic YTpi',
    'Bearer',
    'Bearer ',
    `Bearer  ${tokens.clerk}`,
    `Token ${tokens.clerk}`,
    `Bearer ${tokens.clerk} extra`,
    `Bearer ${'a'.repeat(8000)}`,
  ]) {
    const r = await call('/v1/recordings', { headers: { authorization } })
    t.same([r.status, r.json?.error?.code], [401, 'UNAUTHENTICATED'], JSON.stringify(authorization.slice(0, 40)))
  }
  t.equal(
    (await call('/v1/recordings', { headers: { authorization: `bearer ${tokens.clerk}` } })).status,
    200,
    'the scheme is case-insensitive (RFC 9110 11.1)',
  )
})
