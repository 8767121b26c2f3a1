import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import yauzl from 'yauzl'
import { buildApi } from '../src/api/app.js'
import { createToken } from '../src/api/tokens.js'
import type { Role } from '../src/api/roles.js'
import { silentLogger } from '../src/common/log.js'
import { verifyEvidencePackage } from '../src/export/verify-package.js'
import { MediaWorker } from '../src/media/worker.js'
import { retentionPolicy } from '../src/retention/config.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { defaultConfig, makeCamera, station, tempDir, personToken } from './helpers.js'
import { type HttpResult, httpCall } from './http-support.js'

const s = station(t)
const cam = await makeCamera(join(tempDir(t), 'cam'))
const ingest = await s.ingest(cam)
const cfg = defaultConfig()
const app = await buildApi({
  db: s.db,
  vault: s.vault,
  logger: silentLogger(),
  station: { id: 'test-station', name: 'Test station', timezone: 'Asia/Shanghai' },
  policy: retentionPolicy(cfg),
  openChecked: s.st.openChecked,
  rateLimitPerMinute: 100_000,
})
const base = await app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => app.close())

const tokens: Record<string, string> = {}
for (const role of ['clerk', 'auditor', 'admin'] as Role[]) tokens[role] = createToken(s.db, { name: role, role, actor: 'test' }).secret
tokens.supervisor = await personToken(s.db, 'sup.wang', 'supervisor', '900101')
tokens.supervisor2 = await personToken(s.db, 'sup.zhao', 'supervisor', '900102')
tokens.officer = createToken(s.db, { name: 'PC 012345', role: 'officer', officerId: '012345', actor: 'test' }).secret
tokens.otherOfficer = createToken(s.db, { name: 'PC 999999', role: 'officer', officerId: '999999', actor: 'test' }).secret

async function call(
  path: string,
  opts: { token?: string; method?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  // biome-ignore lint/suspicious/noExplicitAny: test responses are arbitrary JSON, read field by field
): Promise<{ status: number; json: any; buf: Buffer; headers: Headers }> {
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
  try {
    json = JSON.parse(buf.toString('utf8'))
  } catch {
    json = undefined
  }
  return { status: res.status, json, buf, headers: res.headers }
}

const video = ingest.ingested.find((r) => /_0001\.MP4$/.test(r.sourcePath))!

t.test('role matrix: each role against each route', async (t) => {
  const exp = await call('/v1/exports', { token: tokens.clerk, method: 'POST', body: { recordingIds: [video.id], reason: 'matrix', recipient: 'court' } })
  t.equal(exp.status, 201)
  const routes: [string, string, Record<string, number>, unknown?][] = [
    ['GET', '/v1/recordings', { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 200, otherOfficer: 200 }],
    ['GET', `/v1/recordings/${video.id}`, { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 200, otherOfficer: 404 }],
    ['GET', `/v1/recordings/${video.id}/events`, { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 200, otherOfficer: 404 }],
    [
      'GET',
      `/v1/recordings/${video.id}/original?reason=role%20matrix`,
      { clerk: 200, supervisor: 200, auditor: 403, admin: 403, officer: 200, otherOfficer: 404 },
    ],
    ['GET', '/v1/stats', { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 403, otherOfficer: 403 }],
    ['GET', '/v1/exports', { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 403, otherOfficer: 403 }],
    ['GET', `/v1/exports/${exp.json.id}`, { clerk: 200, supervisor: 200, auditor: 200, admin: 403, officer: 403, otherOfficer: 403 }],
    [
      'POST',
      '/v1/exports',
      { clerk: 201, supervisor: 201, auditor: 403, admin: 403, officer: 403, otherOfficer: 403 },
      { recordingIds: [video.id], reason: 'matrix', recipient: 'court' },
    ],
    [
      'POST',
      `/v1/exports/${exp.json.id}/reject`,
      { clerk: 403, auditor: 403, admin: 403, officer: 403, otherOfficer: 403, supervisor: 200 },
      { reason: 'matrix' },
    ],
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
  const cases: [string, number, number][] = [
    ['bytes=0-99', 0, 100],
    [`bytes=${size - 1000}-`, size - 1000, 1000],
    ['bytes=-4096', size - 4096, 4096],
    [`bytes=12345-${12345 + 65535}`, 12345, 65536],
  ]
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
  const stale = await call(`/v1/recordings/${video.id}/original?reason=case%20review`, {
    token: tokens.clerk,
    headers: { range: 'bytes=0-9', 'if-range': '"0000"' },
  })
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
  t.ok(
    views.some((v) => v.payload.range === 'bytes=0-99'),
    'the byte range is recorded',
  )
})

t.test('export: request, self-approval refused, approval by another supervisor, download, the zip hashes match', async (t) => {
  const ids = ingest.ingested.slice(0, 3).map((r) => r.id)
  const req = await call('/v1/exports', {
    token: tokens.supervisor,
    method: 'POST',
    body: { recordingIds: ids, reason: 'prosecution request 2026-117', recipient: 'District court' },
  })
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
      zip.on('entry', (e: yauzl.Entry) =>
        zip.openReadStream(e, (er, st) => {
          if (er || !st) return reject(er)
          const parts: Buffer[] = []
          st.on('data', (c: Buffer) => parts.push(c)).on('end', () => {
            entries.set(e.fileName, Buffer.concat(parts))
            zip.readEntry()
          })
        }),
      )
      zip.on('end', resolve)
      zip.readEntry()
    })
  })
  const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as {
    recordings: { id: number; sha256: string; file: string }[]
    files: { path: string; sha256: string }[]
  }
  t.same(
    manifest.recordings.map((r) => r.id),
    ids,
  )
  for (const r of manifest.recordings)
    t.equal(createHash('sha256').update(entries.get(r.file)!).digest('hex'), r.sha256, `${r.file} hashes to its recording's SHA-256`)
  for (const f of manifest.files) t.equal(createHash('sha256').update(entries.get(f.path)!).digest('hex'), f.sha256, `${f.path} matches the manifest`)
  t.equal(dl.headers.get('x-package-sha256'), createHash('sha256').update(dl.buf).digest('hex'))
  const zipPath = join(tempDir(t), 'export.zip')
  writeFileSync(zipPath, dl.buf)
  const report = await verifyEvidencePackage(zipPath)
  t.ok(report.ok, `the package verifies offline: ${JSON.stringify(report).slice(0, 300)}`)
  for (const id of ids)
    t.ok(
      eventsFor(s.db, `recording:${id}`).some((e) => e.type === 'exported' && e.payload.exportId === req.json.id),
      `exported event for ${id}`,
    )
})

t.test('fuzz: generated requests over every route, special numbers, odd encodings and header abuse find no 5xx', async (t) => {
  // mulberry32: a small PRNG with good low bits, seeded for reproducible runs
  let seed = 20261123
  const rnd = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((((x ^ (x >>> 14)) >>> 0) / 4294967296) * n) | 0
  }
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!
  const ids = [
    '1',
    '0',
    '-1',
    '9007199254740993',
    '1e3',
    'abc',
    '%00',
    '%F0%9F%92%A9',
    '%ED%A0%80',
    '1.5',
    ' 1',
    String(video.id),
    '99999999999999999999999',
    '',
  ]
  const vals = [
    '',
    'x',
    '-1',
    '0',
    '99999999999999999999',
    'NaN',
    '2026-13-45T99:99:99Z',
    '2026-11-20T00:00:00Z',
    'true',
    'maybe',
    '%00',
    '%E2%80%AE',
    '%ED%A0%80',
    'a'.repeat(5000),
    '%22%3B--',
    'uncategorised',
    'video',
    '-recordedAt',
    'bogus',
  ]
  const keys = [
    'at',
    'active',
    'status',
    'officer',
    'device',
    'station',
    'category',
    'case',
    'important',
    'kind',
    'from',
    'to',
    'q',
    'sort',
    'limit',
    'cursor',
    'reason',
    'state',
    'zzz',
  ]
  const paths: [string, string][] = [
    ['GET', '/v1/recordings'],
    ['GET', '/v1/recordings/:id'],
    ['GET', '/v1/recordings/:id/events'],
    ['GET', '/v1/recordings/:id/original'],
    ['GET', '/v1/recordings/:id/proxy'],
    ['GET', '/v1/recordings/:id/thumbnail'],
    ['PUT', '/v1/recordings/:id/category'],
    ['POST', '/v1/recordings/:id/holds'],
    ['GET', '/v1/stats'],
    ['GET', '/v1/exports'],
    ['POST', '/v1/exports'],
    ['GET', '/v1/exports/:id'],
    ['POST', '/v1/exports/:id/approve'],
    ['POST', '/v1/exports/:id/reject'],
    ['GET', '/v1/exports/:id/download'],
    ['GET', '/v1/cases'],
    ['POST', '/v1/cases'],
    ['GET', '/v1/cases/:id'],
    ['PATCH', '/v1/cases/:id'],
    ['POST', '/v1/cases/:id/recordings'],
    ['DELETE', '/v1/cases/:id/recordings/:id'],
    ['GET', '/v1/holds'],
    ['POST', '/v1/holds/:id/release'],
    ['GET', '/v1/retention/plan'],
    ['GET', '/metrics'],
    ['GET', '/docs/json'],
    ['GET', '/healthz'],
    ['GET', '/v1/nope'],
  ]
  const bodies = [
    undefined,
    '{',
    '[]',
    'null',
    '{"category":"patrol","reason":"fuzz"}',
    '{"category":null,"reason":""}',
    '{"number":"F-1","type":"other"}',
    '{"number":"../../x","type":"other"}',
    '{"status":"closed"}',
    '{"status":"reopened"}',
    '{"reason":"fuzz hold"}',
    '{"recordingIds":[1,2],"reason":"x"}',
    '{"recordingIds":[1],"reason":"fuzz","recipient":"x"}',
    '{"recordingIds":[-5],"reason":"","recipient":""}',
    '{"recordingIds":"1"}',
    JSON.stringify({ recordingIds: Array(300).fill(1), reason: 'r'.repeat(2000), recipient: 'x' }),
    '{"reason":"\\ud800"}',
    'x'.repeat(2 << 20),
  ]
  const ctypes = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/json; charset=latin1']
  const ranges = ['bytes=0-0', 'bytes=-1', 'bytes=5-1', 'bytes=a-b', 'bytes=0-1,2-3', 'lines=1-2', 'bytes=99999999999999999999-', 'bytes=-']
  const who = ['clerk', 'clerk', 'clerk', 'supervisor', 'supervisor', 'auditor', 'admin', 'officer', 'otherOfficer']
  // Huge and special numbers, where ids, limits, dates and JSON numbers go.
  const numbers = [
    '1e309',
    '-1e309',
    '-0',
    'NaN',
    '0x',
    '0x1',
    'Infinity',
    '-Infinity',
    String(2 ** 53 + 1),
    String(2 ** 53),
    '1e-400',
    '0.0',
    '00',
    '1_0',
    '0b1',
    '0o1',
  ]
  const numberish = [...numbers, '%2B1', '1%2E0', '%201', '1%00', '9'.repeat(400)]
  const dates = [
    '275760-09-13T00:00:00Z',
    '+275760-09-13T00:00:01Z',
    '0000-01-01T00:00:00Z',
    '2026-06-30T23:59:60Z',
    '2026-02-29T00:00:00Z',
    '1e309',
    'Infinity',
  ]
  const jsonNumbers = ['1e309', '-0', '9007199254740993', '1.0', '1e0', '-1e-400', '1E+2', 'NaN', '0x1', 'Infinity']
  // Odd encodings: overlong UTF-8, NUL, invalid percent escapes, mixed-case and double encodings.
  const encodings = [
    '%C0%AE',
    '%C0%AE%C0%AE%2F',
    '%E0%80%AF',
    '%F0%80%80%AF',
    '%C1%81',
    '%00',
    'a%00b',
    '%',
    '%ZZ',
    '%E2%82',
    '%u0041',
    '%%',
    '%2f',
    '%2F',
    '%2e%2E',
    '%E2%80%ae',
    '%e2%80%AE',
    '%252e',
    '%ED%A0%80',
    '%F4%90%80%80',
    '%FF',
    '+',
    '%20',
    '%7F',
  ]
  const rawPaths = [
    '/V1/RECORDINGS',
    '/v1//recordings',
    '/v1/recordings/',
    '/v1/./recordings',
    '/v1/recordings/..',
    '/v1/%2e%2e/metrics',
    '//v1/recordings',
    '/v1/recordings?%ZZ=1',
    '/v1/recordings?limit=%',
    '/v1/recordings?&&==&',
    '/v1/recordings#frag',
    '/healthz?%C0%AE',
  ]
  // Header abuse.
  const schemes = [
    'Basic YTpi',
    'Bearer',
    'Bearer bv_',
    'Digest username="x"',
    'Negotiate YII=',
    `Bearer ${'a'.repeat(8000)}`,
    'Bearer bv_\u00e9',
    `Token ${tokens.clerk}`,
    `Bearer ${tokens.clerk} ${tokens.clerk}`,
    `Bearer ${tokens.clerk},Bearer x`,
  ]
  const families = { routes: 1500, numbers: 400, encodings: 400, headers: 300 } as const
  type Family = keyof typeof families
  const sent = new Map<Family, number>()
  const statuses = new Map<number, number>()
  let fivexx = 0
  const fill = (route: string, value: () => string): string => route.replace(/:id/g, value)
  for (const [family, n] of Object.entries(families) as [Family, number][]) {
    for (let i = 0; i < n; i++) {
      const [routeMethod, route] = pick(paths)
      let method: string = rnd(5) === 0 ? pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']) : routeMethod
      let path = fill(route, () => pick(ids))
      const headers: Record<string, string | string[]> = {}
      let token: string | undefined = rnd(10) === 0 ? undefined : tokens[pick(who)]
      let raw: string | undefined
      const q: string[] = []
      if (family === 'routes') {
        for (let k = rnd(4); k > 0; k--) q.push(`${pick(keys)}=${pick(vals)}`)
        if (rnd(3) === 0) headers.range = pick(ranges)
        if (method !== 'GET' && method !== 'HEAD' && rnd(3) !== 0) {
          raw = pick(bodies)
          headers['content-type'] = pick(ctypes)
        }
      } else if (family === 'numbers') {
        path = fill(route, () => pick(numberish))
        for (let k = rnd(3); k > 0; k--) q.push(rnd(2) ? `limit=${pick(numberish)}` : `${pick(['at', 'from', 'to'])}=${encodeURIComponent(pick(dates))}`)
        if (rnd(3) === 0) headers.range = `bytes=${pick(['', '-'])}${pick(numbers)}-${pick(['', ...numbers])}`
        if (method !== 'GET' && method !== 'HEAD') {
          raw = pick([
            `{"recordingIds":[${pick(jsonNumbers)}],"reason":"numbers fuzz","recipient":"x"}`,
            `{"recordingIds":[${pick(jsonNumbers)}]}`,
            `${pick(jsonNumbers)}`,
          ])
          headers['content-type'] = 'application/json'
        }
      } else if (family === 'encodings') {
        if (rnd(4) === 0) path = pick(rawPaths)
        else
          path = fill(
            route.replace('/cases/:id', () => `/cases/${pick(encodings)}X`),
            () => pick([...encodings, `${video.id}${pick(encodings)}`]),
          )
        for (let k = rnd(3); k > 0; k--) q.push(`${pick([...keys, ...encodings])}=${pick(encodings)}${pick(['', 'x', 'case review'])}`)
      } else {
        switch (rnd(8)) {
          case 0:
            headers['x-pad'] = 'x'.repeat(pick([20_000, 70_000]))
            break
          case 1:
            headers['x-pad'] = 'x'.repeat(15_000)
            break
          case 2:
            for (let h = 0; h < 150; h++) headers[`x-h${h}`] = String(h)
            break
          case 3:
            headers.range = [pick(ranges), pick(ranges)]
            break
          case 4:
            headers.range = pick([
              `bytes=${'9'.repeat(2000)}-`,
              `bytes=-${'9'.repeat(31)}`,
              `bytes=${Array(500).fill('0-1').join(',')}`,
              'bytes=--1',
              'bytes=1-2-3',
            ])
            break
          case 5:
            token = undefined
            headers.authorization = pick(schemes)
            break
          case 6:
            token = undefined
            headers.authorization = [`Bearer ${tokens[pick(who)]}`, pick(schemes)]
            break
          default:
            headers['content-type'] = pick(['application/json; charset=utf-7', 'application/json\t', 'x/y; a="', `application/${'j'.repeat(3000)}`])
            headers['if-range'] = pick(['"x"', 'W/"y"', 'Mon, 32 Foo 2026'])
            raw = pick(bodies.slice(0, -1))
            method = pick(['POST', 'PUT', 'PATCH'])
        }
      }
      if (q.length) path += '?' + q.join('&')
      sent.set(family, (sent.get(family) ?? 0) + 1)
      let r: HttpResult
      try {
        r = await httpCall(base + path, { method, token, headers, raw })
      } catch (err) {
        t.fail(`${family}: ${method} ${path.slice(0, 200)}: ${(err as Error).message}`)
        continue
      }
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
      if (r.status >= 500) {
        fivexx++
        t.fail(`${family}: ${method} ${path.slice(0, 200)} -> ${r.status} ${r.buf.toString('utf8').slice(0, 200)}`)
      } else if (r.status >= 400 && method !== 'HEAD') {
        if (typeof r.json?.error?.code !== 'string')
          t.fail(`${family}: ${method} ${path.slice(0, 200)} -> ${r.status} without a JSON error: ${r.buf.toString('utf8').slice(0, 200)}`)
        if (/at .*\.(ts|js):\d+/.test(r.buf.toString('utf8'))) t.fail(`${family}: ${method} ${path.slice(0, 200)}: a stack trace leaked`)
      }
    }
  }
  const figures = `sent ${JSON.stringify(Object.fromEntries(sent))}; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`
  t.comment(figures)
  console.log(`api fuzz: ${figures}`)
  t.same(Object.fromEntries(sent), families, 'every family sent in full')
  t.equal(fivexx, 0, `no 5xx; ${figures}`)
})

t.test('proxy and thumbnail stream with Range after the media jobs ran; each read is recorded', async (t) => {
  const r0 = await call(`/v1/recordings/${video.id}/proxy`, { token: tokens.clerk })
  t.equal(r0.json?.error?.code, 'NO_DERIVATIVE', 'before the media jobs ran')
  const worker = new MediaWorker({
    db: s.db,
    vault: s.vault,
    settings: cfg.media,
    profiles: new Map(),
    stationTimezone: 'Asia/Shanghai',
    actor: 'station:test',
    logger: silentLogger(),
  })
  await worker.drain()
  const p = await call(`/v1/recordings/${video.id}/proxy`, { token: tokens.officer, headers: { range: 'bytes=0-1023' } })
  t.equal(p.status, 206)
  t.equal(p.headers.get('content-type'), 'video/mp4')
  t.equal(p.buf.subarray(4, 8).toString('latin1'), 'ftyp', 'an MP4')
  const th = await call(`/v1/recordings/${video.id}/thumbnail`, { token: tokens.clerk })
  t.equal(th.status, 200)
  t.equal(th.headers.get('content-type'), 'image/jpeg')
  t.equal(th.buf.readUInt16BE(0), 0xffd8, 'a JPEG')
  t.equal((await call(`/v1/recordings/${video.id}/thumbnail`, { token: tokens.auditor })).status, 403, 'auditors see no footage, not even thumbnails')
  const kinds = eventsFor(s.db, `recording:${video.id}`)
    .filter((e) => e.type === 'viewed')
    .map((e) => e.payload.what)
  t.ok(kinds.includes('proxy') && kinds.includes('thumbnail'))
  const one = await call(`/v1/recordings/${video.id}`, { token: tokens.clerk })
  t.same(one.json.derivatives.map((d: { kind: string }) => d.kind).sort(), ['proxy', 'thumbnail'])
  t.ok(one.json.media.durationSec > 0, 'probe facts are shown')
})

t.test('cases, categories, holds and the retention plan through the API', async (t) => {
  const [a, b, p] = ingest.ingested.map((r) => r.id)
  const c = await call('/v1/cases', {
    token: tokens.clerk,
    method: 'POST',
    body: { number: 'XZCF-2026-117', type: 'penalty-general-procedure', title: 'Street vending' },
  })
  t.equal(c.status, 201, JSON.stringify(c.json))
  t.equal(
    (await call('/v1/cases', { token: tokens.clerk, method: 'POST', body: { number: 'XZCF-2026-117', type: 'penalty-general-procedure' } })).json.error.code,
    'CASE_EXISTS',
  )
  t.equal((await call('/v1/cases', { token: tokens.clerk, method: 'POST', body: { number: 'X-1', type: 'no-such-type' } })).status, 400)
  const linked = await call('/v1/cases/XZCF-2026-117/recordings', {
    token: tokens.clerk,
    method: 'POST',
    body: { recordingIds: [a, b], reason: 'seen in clip' },
  })
  t.same(linked.json.recordingIds, [a, b])
  t.equal(
    (await call('/v1/cases/XZCF-2026-117/recordings', { token: tokens.clerk, method: 'POST', body: { recordingIds: [a] } })).status,
    409,
    'already linked',
  )
  const found = await call('/v1/recordings?case=XZCF-2026-117', { token: tokens.clerk })
  t.same(found.json.items.map((r: { id: number }) => r.id).sort(), [a, b].sort(), 'search by case')
  let one = await call(`/v1/recordings/${a}`, { token: tokens.clerk })
  t.equal(one.json.retention.deadline, 'indefinite', 'linked to an open case')
  const cat = await call(`/v1/recordings/${p}/category`, {
    token: tokens.clerk,
    method: 'PUT',
    body: { category: 'patrol', reason: 'routine patrol, not evidence' },
  })
  t.equal(cat.status, 200, JSON.stringify(cat.json))
  t.equal((await call(`/v1/recordings/${b}/category`, { token: tokens.clerk, method: 'PUT', body: { category: 'nonsense', reason: 'x' } })).status, 400)
  t.equal((await call(`/v1/recordings/${b}/category`, { token: tokens.auditor, method: 'PUT', body: { category: 'patrol', reason: 'x' } })).status, 403)
  t.equal(
    (await call(`/v1/recordings/${a}/holds`, { token: tokens.clerk, method: 'POST', body: { reason: 'litigation' } })).status,
    403,
    'clerks cannot place holds',
  )
  const hold = await call(`/v1/recordings/${a}/holds`, { token: tokens.supervisor, method: 'POST', body: { reason: 'litigation notice 2026-9' } })
  t.equal(hold.status, 201)
  const closed = await call('/v1/cases/XZCF-2026-117', { token: tokens.clerk, method: 'PATCH', body: { status: 'closed', reason: 'decision served' } })
  t.equal(closed.json.status, 'closed')
  one = await call(`/v1/recordings/${a}`, { token: tokens.clerk })
  t.equal(one.json.retention.deadline, 'indefinite', 'the hold still keeps it')
  const rel = await call(`/v1/holds/${hold.json.id}/release`, { token: tokens.supervisor, method: 'POST', body: { reason: 'litigation over' } })
  t.ok(rel.json.releasedAt)
  one = await call(`/v1/recordings/${a}`, { token: tokens.clerk })
  t.not(one.json.retention.deadline, 'indefinite', 'closed case + archive period')
  t.ok(one.json.retention.deadline > '2050-01-01', `a case archive period lasts decades: ${one.json.retention.deadline}`)
  const types = eventsFor(s.db, `recording:${a}`).map((e) => e.type)
  for (const ty of ['case-linked', 'hold-placed', 'hold-released', 'retention-changed']) t.ok(types.includes(ty), `${ty} in the ledger`)
  const plan = await call('/v1/retention/plan?at=2027-12-01T00:00:00Z', { token: tokens.auditor })
  t.equal(plan.status, 200)
  t.ok(
    plan.json.items.some((i: { recordingId: number }) => i.recordingId === p),
    'the patrol clip is due by the end of 2027',
  )
  t.notOk(
    plan.json.items.some((i: { recordingId: number }) => i.recordingId === a),
    'the case clip is not',
  )
  t.equal((await call('/v1/retention/plan', { token: tokens.officer })).status, 403)
})
