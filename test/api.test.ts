import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import yauzl from 'yauzl'
import { buildApi } from '../src/api/app.js'
import { createToken } from '../src/api/tokens.js'
import type { Role } from '../src/api/roles.js'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { makeCamera, station, tempDir } from './helpers.js'

const s = station(t)
const cam = await makeCamera(join(tempDir(t), 'cam'))
const ingest = await s.ingest(cam)
const app = await buildApi({ db: s.db, logger: silentLogger(), stationId: 'test-station', objectPath: async (sha) => s.vault.objectPath(sha), rateLimitPerMinute: 100_000 })
const base = await app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => app.close())

const tokens: Record<string, string> = {}
for (const role of ['clerk', 'supervisor', 'auditor', 'admin'] as Role[]) tokens[role] = createToken(s.db, { name: role, role, actor: 'test' }).secret
tokens.supervisor2 = createToken(s.db, { name: 'second supervisor', role: 'supervisor', actor: 'test' }).secret
tokens.officer = createToken(s.db, { name: 'PC 012345', role: 'officer', officerId: '012345', actor: 'test' }).secret
tokens.otherOfficer = createToken(s.db, { name: 'PC 999999', role: 'officer', officerId: '999999', actor: 'test' }).secret

async function call(path: string, opts: { token?: string; method?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<{ status: number; json: any; buf: Buffer; headers: Headers }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- test responses are arbitrary JSON
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  let body: string | undefined = opts.raw
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body)
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(base + path, { method: opts.method ?? 'GET', headers, body })
  const buf = Buffer.from(await res.arrayBuffer())
  let json: unknown
  try { json = JSON.parse(buf.toString('utf8')) } catch { json = undefined }
  return { status: res.status, json, buf, headers: res.headers }
}

const video = ingest.ingested.find((r) => /_0001\.MP4$/.test(r.sourcePath))!

t.test('role matrix: each role against each route', async (t) => {
  const exp = await call('/v1/exports', { token: tokens.clerk, method: 'POST', body: { recordingIds: [video.id], reason: 'matrix', recipient: 'court' } })
  t.equal(exp.status, 201)
  const routes: [string, string, Record<string, number>, unknown?][] = [
    ['GET', '/v1/recordings', { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 200, otherOfficer: 200 }],
    ['GET', `/v1/recordings/${video.id}`, { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 200, otherOfficer: 403 }],
    ['GET', `/v1/recordings/${video.id}/events`, { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 200, otherOfficer: 403 }],
    ['GET', `/v1/recordings/${video.id}/original?reason=role%20matrix`, { clerk: 200, supervisor: 200, auditor: 403, admin: 403, officer: 200, otherOfficer: 403 }],
    ['GET', '/v1/stats', { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 403, otherOfficer: 403 }],
    ['GET', '/v1/exports', { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 403, otherOfficer: 403 }],
    ['GET', `/v1/exports/${exp.json.id}`, { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 403, otherOfficer: 403 }],
    ['POST', '/v1/exports', { clerk: 201, supervisor: 201, auditor: 403, admin: 403, officer: 403, otherOfficer: 403 }, { recordingIds: [video.id], reason: 'matrix', recipient: 'court' }],
    ['POST', `/v1/exports/${exp.json.id}/reject`, { clerk: 403, auditor: 403, admin: 403, officer: 403, otherOfficer: 403, supervisor: 200 }, { reason: 'matrix' }],
    ['GET', '/metrics', { clerk: 200, supervisor: 200, auditor: 200, admin: 200, officer: 200, otherOfficer: 200 }],
    ['GET', '/docs/json', { clerk: 200, supervisor: 200, auditor: 200, admin: 200, officer: 200, otherOfficer: 200 }],
  ]
  for (const [method, path, want, body] of routes) {
    for (const [who, status] of Object.entries(want)) {
      const r = await call(path, { token: tokens[who], method, body })
      t.equal(r.status, status, `${who} ${method} ${path}`)
      if (status >= 400) t.match(r.json, { error: { code: String } }, 'JSON error with a code')
    }
    const none = await call(path, { method, body })
    t.equal(none.status, 401, `no token ${method} ${path}`)
    t.equal(none.json?.error?.code, 'UNAUTHENTICATED')
    t.equal((await call(path, { method, body, token: 'bv_' + 'x'.repeat(43) })).status, 401, 'unknown token')
  }
  t.equal((await call('/healthz')).status, 200, '/healthz needs no token')
  const officerList = await call('/v1/recordings?limit=500', { token: tokens.otherOfficer })
  t.equal(officerList.json.items.length, 0, 'an officer lists only their own recordings')
})

t.test('original: Range reads equal dd on the object; each read is a ledger event with token, role, reason, client and range', async (t) => {
  const obj = s.vault.objectPath(video.sha256)
  const size = video.size
  const before = eventsFor(s.db, `recording:${video.id}`).filter((e) => e.type === 'viewed').length
  const cases: [string, number, number][] = [['bytes=0-99', 0, 100], [`bytes=${size - 1000}-`, size - 1000, 1000], ['bytes=-4096', size - 4096, 4096], [`bytes=12345-${12345 + 65535}`, 12345, 65536]]
  for (const [range, skip, count] of cases) {
    const r = await call(`/v1/recordings/${video.id}/original?reason=case%20review`, { token: tokens.clerk, headers: { range } })
    t.equal(r.status, 206, range)
    const dd = execFileSync('dd', [`if=${obj}`, 'bs=1', `skip=${skip}`, `count=${count}`, 'status=none'], { maxBuffer: 1 << 24 })
    t.ok(r.buf.equals(dd), `${range}: the bytes of dd`)
    t.equal(r.headers.get('content-range'), `bytes ${skip}-${skip + count - 1}/${size}`)
    t.equal(r.headers.get('etag'), `"${video.sha256}"`)
    t.equal(r.headers.get('content-type'), 'video/mp4')
  }
  const full = await call(`/v1/recordings/${video.id}/original?reason=case%20review`, { token: tokens.clerk })
  t.equal(full.status, 200)
  t.equal(createHash('sha256').update(full.buf).digest('hex'), video.sha256, 'the full body is the original')
  const stale = await call(`/v1/recordings/${video.id}/original?reason=case%20review`, { token: tokens.clerk, headers: { range: 'bytes=0-9', 'if-range': '"0000"' } })
  t.equal(stale.status, 200, 'If-Range with another ETag gets the whole object')
  const bad = await call(`/v1/recordings/${video.id}/original?reason=case%20review`, { token: tokens.clerk, headers: { range: `bytes=${size}-` } })
  t.equal(bad.status, 416)
  t.equal(bad.headers.get('content-range'), `bytes */${size}`)
  t.equal((await call(`/v1/recordings/${video.id}/original`, { token: tokens.clerk })).json.error.code, 'REASON_REQUIRED')
  t.equal((await call(`/v1/recordings/${video.id}/original?reason=`, { token: tokens.clerk })).status, 400)
  const views = eventsFor(s.db, `recording:${video.id}`).filter((e) => e.type === 'viewed')
  t.equal(views.length - before, 6, 'one viewed event per read that sent bytes')
  const last = views[views.length - 1]!
  t.match(last, { actor: /^token:\d+$/, payload: { what: 'original', reason: 'case review', role: 'clerk', client: '127.0.0.1', sha256: video.sha256 } })
  t.ok(views.some((v) => v.payload.range === 'bytes=0-99'), 'the byte range is recorded')
})

t.test('export: request, self-approval refused, approval by another supervisor, download, the zip hashes match', async (t) => {
  const ids = ingest.ingested.slice(0, 3).map((r) => r.id)
  const req = await call('/v1/exports', { token: tokens.supervisor, method: 'POST', body: { recordingIds: ids, reason: 'prosecution request 2026-117', recipient: 'District court' } })
  t.equal(req.status, 201)
  t.equal((await call(`/v1/exports/${req.json.id}/download`, { token: tokens.supervisor })).json.error.code, 'NOT_APPROVED')
  const self = await call(`/v1/exports/${req.json.id}/approve`, { token: tokens.supervisor, method: 'POST', body: {} })
  t.equal(self.status, 403)
  t.equal(self.json.error.code, 'SELF_APPROVAL')
  const ok = await call(`/v1/exports/${req.json.id}/approve`, { token: tokens.supervisor2, method: 'POST', body: { reason: 'approved' } })
  t.equal(ok.status, 200)
  t.equal(ok.json.state, 'approved')
  t.equal((await call(`/v1/exports/${req.json.id}/approve`, { token: tokens.supervisor2, method: 'POST' })).json.error.code, 'ALREADY_DECIDED')
  const dl = await call(`/v1/exports/${req.json.id}/download`, { token: tokens.supervisor })
  t.equal(dl.status, 200)
  t.equal(dl.headers.get('content-type'), 'application/zip')
  const entries = new Map<string, Buffer>()
  await new Promise<void>((resolve, reject) => {
    yauzl.fromBuffer(dl.buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err)
      zip.on('entry', (e: yauzl.Entry) => zip.openReadStream(e, (er, st) => {
        if (er || !st) return reject(er)
        const parts: Buffer[] = []
        st.on('data', (c: Buffer) => parts.push(c)).on('end', () => { entries.set(e.fileName, Buffer.concat(parts)); zip.readEntry() })
      }))
      zip.on('end', resolve)
      zip.readEntry()
    })
  })
  const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as { recordings: { id: number; sha256: string; file: string; events: string }[] }
  t.same(manifest.recordings.map((r) => r.id), ids)
  for (const r of manifest.recordings) {
    t.equal(createHash('sha256').update(entries.get(r.file)!).digest('hex'), r.sha256, `${r.file} hashes to its manifest entry`)
    const evs = JSON.parse(entries.get(r.events)!.toString('utf8')) as { type: string }[]
    t.ok(evs.some((e) => e.type === 'ingested'))
  }
  for (const id of ids) t.ok(eventsFor(s.db, `recording:${id}`).some((e) => e.type === 'exported' && e.payload.exportId === req.json.id), `exported event for ${id}`)
})

t.test(`fuzz: ${1200} generated requests over every route find no 5xx`, async (t) => {
  // mulberry32: a small PRNG with good low bits, seeded for reproducible runs
  let seed = 20261123
  const rnd = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return (((x ^ (x >>> 14)) >>> 0) / 4294967296 * n) | 0
  }
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!
  const ids = ['1', '0', '-1', '9007199254740993', '1e3', 'abc', '%00', '%F0%9F%92%A9', '%ED%A0%80', '1.5', ' 1', String(video.id), '99999999999999999999999', '']
  const vals = ['', 'x', '-1', '0', '99999999999999999999', 'NaN', '2026-13-45T99:99:99Z', '2026-11-20T00:00:00Z', 'true', 'maybe', '%00', '%E2%80%AE', '%ED%A0%80', 'a'.repeat(5000), '%22%3B--', 'uncategorised', 'video', '-recordedAt', 'bogus']
  const keys = ['officer', 'device', 'station', 'category', 'case', 'important', 'kind', 'from', 'to', 'q', 'sort', 'limit', 'cursor', 'reason', 'state', 'zzz']
  const paths = ['/v1/recordings', '/v1/recordings/:id', '/v1/recordings/:id/events', '/v1/recordings/:id/original', '/v1/stats', '/v1/exports', '/v1/exports/:id', '/v1/exports/:id/approve', '/v1/exports/:id/reject', '/v1/exports/:id/download', '/metrics', '/docs/json', '/healthz', '/v1/nope']
  const bodies = [undefined, '{', '[]', 'null', '{"recordingIds":[1],"reason":"fuzz","recipient":"x"}', '{"recordingIds":[-5],"reason":"","recipient":""}', '{"recordingIds":"1"}', JSON.stringify({ recordingIds: Array(300).fill(1), reason: 'r'.repeat(2000), recipient: 'x' }), '{"reason":"\\ud800"}', 'x'.repeat(2 << 20)]
  const ctypes = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/json; charset=latin1']
  const ranges = ['bytes=0-0', 'bytes=-1', 'bytes=5-1', 'bytes=a-b', 'bytes=0-1,2-3', 'lines=1-2', 'bytes=99999999999999999999-', 'bytes=-']
  const who = ['clerk', 'clerk', 'clerk', 'supervisor', 'supervisor', 'auditor', 'admin', 'officer', 'otherOfficer']
  const statuses = new Map<number, number>()
  let fivexx = 0
  for (let i = 0; i < 1200; i++) {
    let path = pick(paths).replace(':id', pick(ids))
    const q: string[] = []
    for (let k = rnd(4); k > 0; k--) q.push(`${pick(keys)}=${pick(vals)}`)
    if (q.length) path += '?' + q.join('&')
    const method = rnd(4) === 0 ? pick(['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']) : path.includes('approve') || path.includes('reject') ? 'POST' : 'GET'
    const headers: Record<string, string> = {}
    if (rnd(3) === 0) headers.range = pick(ranges)
    let raw: string | undefined
    if (method !== 'GET' && method !== 'HEAD' && rnd(3) !== 0) {
      raw = pick(bodies)
      headers['content-type'] = pick(ctypes)
    }
    const token = rnd(10) === 0 ? undefined : tokens[pick(who)]
    let r
    try {
      r = await call(path, { method, token, headers, raw })
    } catch (err) {
      t.fail(`${method} ${path}: ${(err as Error).message}`)
      continue
    }
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    if (r.status >= 500) {
      fivexx++
      t.fail(`${method} ${path} -> ${r.status} ${r.buf.toString('utf8').slice(0, 200)}`)
    } else if (r.status >= 400 && method !== 'HEAD') {
      if (typeof r.json?.error?.code !== 'string') t.fail(`${method} ${path} -> ${r.status} without a JSON error: ${r.buf.toString('utf8').slice(0, 200)}`)
      if (/at .*\.(ts|js):\d+/.test(r.buf.toString('utf8'))) t.fail(`${method} ${path}: a stack trace leaked`)
    }
  }
  t.equal(fivexx, 0, `no 5xx; statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`)
})
