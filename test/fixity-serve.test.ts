// Verified serving over real HTTP (issue 13): what would make "no byte
// leaves under a hash it does not have" false? A flipped byte served with the
// recorded ETag; a range that reaches a bad block sent whole; a truncated or
// removed object answered as a generic 500 or as a short but complete-looking
// body; an export package built from a bad original. No repair source here
// (fixity-repair.test.ts has the backup and S3 ones): each is reported once
// (fixity-failed) and refused, while ranges over good blocks still work.
import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { buildApi } from '../src/api/app.js'
import { createToken } from '../src/api/tokens.js'
import { getObjectFixity } from '../src/catalog/fixity.js'
import { silentLogger } from '../src/common/log.js'
import { subjects } from '../src/ledger/events.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { BLOCK_BYTES } from '../src/vault/blocks.js'
import { flipByte, getBody, MiB, randomCamera, truncateObject } from './fixity-support.js'
import { personToken, station } from './helpers.js'
import { httpCall } from './http-support.js'

const s = station(t)
// Four recordings of 3.5 MiB (blocks 0-3, the last one short) and one small one for the export.
const ingest = await s.ingest(randomCamera(t, [3.5 * MiB, 3.5 * MiB, 3.5 * MiB, 3.5 * MiB, 300_000]))
const [flipped, truncated, neverServed, removed, exported] = ingest.ingested
const app = await buildApi({
  db: s.db,
  vault: s.vault,
  logger: silentLogger(),
  station: s.st.cfg.station,
  policy: s.st.policy,
  openChecked: s.st.openChecked,
  fixityState: s.st.fixityState,
  rateLimitPerMinute: 100_000,
})
const base = await app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => app.close())
const token = (role: 'clerk', name: string): string => createToken(s.db, { name, role, actor: 'test' }).secret
const clerk = token('clerk', 'clerk')
const supervisor = await personToken(s.db, 'sup.wang', 'supervisor', '900101')
const original = (id: number): string => `${base}/v1/recordings/${id}/original?reason=${encodeURIComponent('fixity test')}`
const bytesOf = (sha: string): Buffer => readFileSync(s.vault.objectPath(sha))
const failures = (sha: string) => eventsFor(s.db, subjects.object(sha)).filter((e) => e.type === 'fixity-failed')
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

t.test('a good object: its block list is made at the first serve (whole object hashed first); ranges across blocks come out exact', async (t) => {
  const r = flipped!
  t.equal(getObjectFixity(s.db, r.sha256), undefined, 'no block list before the first serve (ingest does not make one yet)')
  const whole = await getBody(original(r.id), { token: clerk })
  t.equal(whole.status, 200)
  t.ok(whole.complete, 'the body ended normally')
  t.equal(sha(whole.body), r.sha256, 'the served bytes hash to the recorded SHA-256')
  const row = getObjectFixity(s.db, r.sha256)
  t.equal(row?.blocks?.length, 4 * 32, 'four block digests stored')
  t.equal(row?.blockBytes, BLOCK_BYTES)
  const good = bytesOf(r.sha256)
  for (const [a, b] of [
    [0, 0],
    [BLOCK_BYTES - 10, BLOCK_BYTES + 10],
    [1_000_000, 3_400_000],
    [3 * BLOCK_BYTES, r.size - 1],
  ] as const) {
    const part = await getBody(original(r.id), { token: clerk, range: `bytes=${a}-${b}` })
    t.equal(part.status, 206, `bytes=${a}-${b}: 206`)
    t.ok(part.body.equals(good.subarray(a, b + 1)), `bytes=${a}-${b}: exactly those bytes`)
  }
  t.same(failures(r.sha256), [], 'no failure reported')
})

t.test('a flipped byte in block 2: good ranges still served; a range starting there refused; one reaching it cut off; reported once', async (t) => {
  const r = flipped!
  const good = bytesOf(r.sha256)
  flipByte(s.vault.objectPath(r.sha256), 2 * BLOCK_BYTES + 12_345)
  const early = await getBody(original(r.id), { token: clerk, range: 'bytes=100-200000' })
  t.equal(early.status, 206, 'a range over block 0 is served')
  t.ok(early.body.equals(good.subarray(100, 200001)), 'with the right bytes')
  const late = await getBody(original(r.id), { token: clerk, range: `bytes=${3 * BLOCK_BYTES}-` })
  t.equal(late.status, 206, 'a range over block 3 is served')
  t.ok(late.body.equals(good.subarray(3 * BLOCK_BYTES)), 'with the right bytes')

  const bad = await getBody(original(r.id), { token: clerk, range: `bytes=${2 * BLOCK_BYTES}-${2 * BLOCK_BYTES + 100}` })
  t.equal(bad.status, 503, 'a range starting in the bad block is refused before any byte')
  t.equal(bad.json?.error?.code, 'OBJECT_CORRUPT', 'with OBJECT_CORRUPT, not INTERNAL')
  t.notOk(bad.headers.etag, 'the refusal does not carry the object ETag')

  const whole = await getBody(original(r.id), { token: clerk })
  t.equal(whole.status, 200, 'the whole object starts (block 0 is good) ...')
  t.notOk(whole.complete, '... and the connection is cut')
  t.ok(whole.body.length < whole.declared, `fewer bytes (${whole.body.length}) than Content-Length (${whole.declared})`)
  t.ok(whole.body.length <= 2 * BLOCK_BYTES, 'nothing from the bad block or after it')
  t.ok(whole.body.equals(good.subarray(0, whole.body.length)), 'what came is the good prefix')

  const f = failures(r.sha256)
  t.equal(f.length, 1, 'one fixity-failed event, however many reads hit the bad block')
  t.match(f[0]?.payload, { problem: 'block', block: 2, blockBytes: BLOCK_BYTES, where: 'serve', recordingIds: [r.id] })
  t.equal(s.st.fixity.d.db.prepare('SELECT count(*) FROM object_fixity WHERE failed_at IS NOT NULL').pluck().get(), 1, 'the object is known bad')
  t.comment(`full read: ${whole.body.length} of ${whole.declared} bytes before the cut`)
})

t.test('a truncated object: good ranges served, the full read cut at the short block', async (t) => {
  const r = truncated!
  t.equal((await getBody(original(r.id), { token: clerk })).status, 200, 'served once whole: its block list is made')
  const good = bytesOf(r.sha256)
  truncateObject(s.vault.objectPath(r.sha256), 1.5 * MiB)
  const head = await getBody(original(r.id), { token: clerk, range: 'bytes=0-999' })
  t.equal(head.status, 206)
  t.ok(head.body.equals(good.subarray(0, 1000)), 'block 0 still served')
  const whole = await getBody(original(r.id), { token: clerk })
  t.notOk(whole.complete, 'the full read is cut')
  t.ok(whole.body.length <= BLOCK_BYTES, `only block 0 left (${whole.body.length} bytes)`)
  t.match(failures(r.sha256)[0]?.payload, { problem: 'size', where: 'serve' }, 'reported as the wrong length')
})

t.test('a bad object never served before: hashed whole before the first byte, refused outright', async (t) => {
  const r = neverServed!
  flipByte(s.vault.objectPath(r.sha256), 7)
  for (const range of [undefined, 'bytes=3000000-3000100']) {
    const res = await getBody(original(r.id), { token: clerk, ...(range ? { range } : {}) })
    t.equal(res.status, 503, `${range ?? 'whole'}: refused`)
    t.equal(res.json?.error?.code, 'OBJECT_CORRUPT')
    t.equal(res.body.length, Number(res.headers['content-length']), 'a complete JSON error, no footage')
  }
  t.match(failures(r.sha256), [{ payload: { problem: 'hash', where: 'serve' } }], 'one event: the whole SHA-256 differs (no block list to say where)')
  const viewed = eventsFor(s.db, subjects.recording(r.id)).filter((e) => e.type === 'viewed')
  t.equal(viewed.length, 0, 'no access record for reads that sent nothing')
})

t.test('a removed object: OBJECT_MISSING (503), reported, never INTERNAL', async (t) => {
  const r = removed!
  rmSync(s.vault.objectPath(r.sha256), { force: true })
  for (const method of ['GET', 'HEAD']) {
    const res = await getBody(original(r.id), { token: clerk, method })
    t.equal(res.status, 503, `${method}: 503`)
    if (method === 'GET') t.equal(res.json?.error?.code, 'OBJECT_MISSING')
  }
  t.match(failures(r.sha256), [{ payload: { problem: 'missing', foundSize: null } }], 'reported once as missing')
})

t.test('export packages: the originals are checked before packing; a bad one stops the download; a good one is sent checked', async (t) => {
  const call = (path: string, o: { token: string; method?: string; body?: unknown }) => httpCall(`${base}${path}`, o)
  const exportOf = async (ids: number[]): Promise<number> => {
    const req = await call('/v1/exports', { token: clerk, method: 'POST', body: { recordingIds: ids, reason: 'fixity test', recipient: 'court' } })
    t.equal(req.status, 201)
    t.equal((await call(`/v1/exports/${req.json.id}/approve`, { token: supervisor, method: 'POST', body: {} })).status, 200)
    return req.json.id as number
  }
  const ok = await exportOf([exported!.id])
  const dl = await getBody(`${base}/v1/exports/${ok}/download`, { token: clerk })
  t.equal(dl.status, 200)
  t.ok(dl.complete)
  t.equal(sha(dl.body), dl.headers['x-package-sha256'], 'the package arrives whole, under its own hash')

  const bad = await exportOf([flipped!.id, exported!.id])
  const refused = await getBody(`${base}/v1/exports/${bad}/download`, { token: clerk })
  t.equal(refused.status, 503, 'a package with a bad original is not built')
  t.equal(refused.json?.error?.code, 'OBJECT_CORRUPT')
  t.equal(eventsFor(s.db, subjects.recording(exported!.id)).filter((e) => e.type === 'exported').length, 1, 'only the good export is in the ledger as exported')
})

t.test('/metrics counts the known-bad objects', async (t) => {
  const m = await httpCall(`${base}/metrics`, { token: clerk })
  t.match(m.buf.toString(), /bodyvault_fixity_objects\{state="failed"\} 4/, 'flipped, truncated, never-served and removed')
})
