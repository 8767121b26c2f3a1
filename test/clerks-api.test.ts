// The API routes of the clerks' workspace (issue 21) over real HTTP, on a
// real station with a generated camera ingested: markers (a ledger event
// each, refused past the recording's end, refused to roles that may not
// classify), the search form's facets, and the proof material of a
// recording's events, which the browser's own checker (web/src/clerks/
// proof.ts) must find verified, and not verified once anything in it is
// changed: what would make "verified" on the page a lie.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildApi } from '../src/api/app.js'
import { createToken } from '../src/api/tokens.js'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { signingKey } from '../src/ledger/key-chain.js'
import { MediaWorker } from '../src/media/worker.js'
import { retentionPolicy } from '../src/retention/config.js'
import { type ProofMaterial, verifyMaterial } from '../web/src/clerks/proof.js'
import { defaultConfig, makeCamera, station, tempDir } from './helpers.js'

const s = station(t)
const cam = await makeCamera(join(tempDir(t), 'cam'), ['--count', '6'])
const ingest = await s.ingest(cam)
const video = ingest.ingested.find((r) => /\.MP4$/.test(r.sourcePath))!
// The media jobs (probe, proxy, thumbnail) as the daemon runs them: a marker is checked against the probed duration.
await new MediaWorker({
  db: s.db,
  vault: s.vault,
  settings: defaultConfig().media,
  profiles: new Map(),
  stationTimezone: 'Asia/Shanghai',
  actor: 'station:test',
  logger: silentLogger(),
}).drain()
let checkpoints = 0
const app = await buildApi({
  db: s.db,
  vault: s.vault,
  logger: silentLogger(),
  station: { id: 'test-station', name: 'Test station', timezone: 'Asia/Shanghai' },
  policy: retentionPolicy(defaultConfig()),
  openChecked: s.st.openChecked,
  rateLimitPerMinute: 100_000,
  checkpointNow: () => {
    checkpoints++
    s.st.checkpoint()
  },
})
const base = await app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => app.close())
const token = (role: 'clerk' | 'auditor' | 'officer' | 'admin') =>
  createToken(s.db, { name: role, role, actor: 'test', ...(role === 'officer' ? { officerId: '012345' } : {}) }).secret
const tokens = { clerk: token('clerk'), auditor: token('auditor'), officer: token('officer'), admin: token('admin') }

// biome-ignore lint/suspicious/noExplicitAny: test responses are arbitrary JSON, read field by field
async function call(path: string, who: string, o: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method: o.method ?? 'GET',
    headers: { authorization: `Bearer ${who}`, ...(o.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
  })
  return { status: res.status, json: await res.json() }
}

t.test('markers: listed by position, each a ledger event, refused past the end and to roles that may not classify', async (t) => {
  const a = await call(`/v1/recordings/${video.id}/markers`, tokens.clerk, { method: 'POST', body: { positionMs: 1500, note: '出示执法证件' } })
  t.equal(a.status, 201, a.json?.error?.message)
  const b = await call(`/v1/recordings/${video.id}/markers`, tokens.clerk, { method: 'POST', body: { positionMs: 200, note: ' start ' } })
  t.equal(b.status, 201)
  t.equal(b.json.note, 'start', 'the note is trimmed')
  const list = await call(`/v1/recordings/${video.id}/markers`, tokens.auditor)
  t.same(
    list.json.items.map((m: { positionMs: number }) => m.positionMs),
    [200, 1500],
    'by position',
  )
  const ev = eventsFor(s.db, `recording:${video.id}`).filter((e) => e.type === 'marker-added')
  t.same(
    ev.map((e) => e.payload),
    [
      { recordingId: video.id, markerId: a.json.id, positionMs: 1500, note: '出示执法证件' },
      { recordingId: video.id, markerId: b.json.id, positionMs: 200, note: 'start' },
    ],
    'each marker is a ledger event holding its row',
  )
  t.equal(a.json.eventSeq, ev[0]!.seq, 'the row names its event')
  const past = await call(`/v1/recordings/${video.id}/markers`, tokens.clerk, { method: 'POST', body: { positionMs: 3_600_000, note: 'x' } })
  t.same([past.status, past.json.error.code], [400, 'MARKER_POSITION'], 'a marker past the end of the recording')
  const blank = await call(`/v1/recordings/${video.id}/markers`, tokens.clerk, { method: 'POST', body: { positionMs: 1, note: '   ' } })
  t.same([blank.status, blank.json.error.code], [400, 'BAD_REQUEST'], 'a blank note')
  for (const [who, want] of [
    ['auditor', 403],
    ['officer', 403],
    ['admin', 403],
  ] as const) {
    const r = await call(`/v1/recordings/${video.id}/markers`, tokens[who], { method: 'POST', body: { positionMs: 1, note: 'x' } })
    t.equal(r.status, want, `${who} may not add a marker`)
  }
  t.equal((await call('/v1/recordings/999999/markers', tokens.clerk)).status, 404)
  t.equal(eventsFor(s.db, `recording:${video.id}`).filter((e) => e.type === 'marker-added').length, 2, 'no event for a refused marker')
})

t.test('facets: the categories and case types of the retention config; which results have a thumbnail', async (t) => {
  const f = await call('/v1/search/facets', tokens.clerk)
  t.equal(f.status, 200)
  t.ok(f.json.categories.includes('patrol') && f.json.categories.includes('evidence'))
  t.same(f.json.kinds, ['video', 'audio', 'photo', 'sidecar'])
  t.equal((await call('/v1/search/facets', tokens.admin)).status, 403)
  const ids = ingest.ingested.map((r) => r.id)
  const th = await call(`/v1/search/thumbnails?${ids.map((i) => `id=${i}`).join('&')}&id=999999`, tokens.clerk)
  t.ok(th.json.ids.includes(video.id), 'the clip has a thumbnail')
  t.notOk(th.json.ids.includes(999999), 'a recording that does not exist has none')
  t.ok(th.json.ids.length < ids.length, `not every recording has one (${th.json.ids.length} of ${ids.length})`)
  const other = createToken(s.db, { name: 'PC 999999', role: 'officer', officerId: '999999', actor: 'test' }).secret
  t.same((await call(`/v1/search/thumbnails?id=${video.id}`, other)).json.ids, [], "not another officer's")
})

t.test('proof material: verified in the checker the browser runs; any change to it is caught', async (t) => {
  const before = checkpoints
  const p = await call(`/v1/recordings/${video.id}/proof`, tokens.clerk)
  t.equal(p.status, 200)
  const m = p.json as ProofMaterial
  t.equal(checkpoints, before + 1, 'a checkpoint was signed over events the latest did not cover')
  t.ok(
    m.events.every((e) => e.proof !== null),
    'every event has its proof',
  )
  const v = await verifyMaterial(m)
  t.equal(v.overall, 'verified')
  t.ok(v.signed)
  t.equal(v.fingerprint, signingKey(s.db, s.dataDir, s.st.cfg.station.id).fingerprint, "the fingerprint the browser computes is the station key's")
  t.equal(v.events.length, eventsFor(s.db, `recording:${video.id}`).length)

  const again = await call(`/v1/recordings/${video.id}/proof`, tokens.clerk)
  t.equal(again.json.checkpoint.id, m.checkpoint!.id, 'no new checkpoint when nothing new is to be covered')

  const copy = (): ProofMaterial => JSON.parse(JSON.stringify(m)) as ProofMaterial
  const cases: [string, (x: ProofMaterial) => void, string][] = [
    [
      'a payload changed',
      (x) => {
        x.events[0]!.event.payload.size = 1
      },
      'event-hash',
    ],
    [
      'an event hash and its proof swapped for another event',
      (x) => {
        x.events[0] = { ...x.events[1]!, event: { ...x.events[1]!.event, seq: x.events[0]!.event.seq } }
      },
      'event-hash',
    ],
    [
      'a byte of a proof flipped',
      (x) => {
        x.events[0]!.proof![0] = `${x.events[0]!.proof![0]!.slice(0, -1)}${x.events[0]!.proof![0]!.endsWith('0') ? '1' : '0'}`
      },
      'inclusion',
    ],
    ['a proof element dropped', (x) => void x.events[0]!.proof!.pop(), 'inclusion'],
    [
      'the leaf index moved',
      (x) => {
        x.events[0]!.leafIndex = x.events[0]!.leafIndex! + 1
      },
      'inclusion',
    ],
    [
      'the checkpoint root replaced',
      (x) => {
        x.checkpoint!.note = x.checkpoint!.note.replace(/\n([A-Za-z0-9+/]{43}=)\n/, '\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n')
      },
      'signature',
    ],
    [
      'the tree size changed',
      (x) => {
        x.checkpoint!.note = x.checkpoint!.note.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) + 1}\n`)
      },
      'signature',
    ],
    [
      'another key offered',
      (x) => {
        x.keys = [{ name: x.keys[0]!.name, publicKey: Buffer.alloc(32, 7).toString('base64') }]
      },
      'signature',
    ],
    [
      'no key offered',
      (x) => {
        x.keys = []
      },
      'signature',
    ],
    [
      'the note unreadable',
      (x) => {
        x.checkpoint!.note = 'nonsense'
      },
      'checkpoint',
    ],
  ]
  for (const [what, change, why] of cases) {
    const x = copy()
    change(x)
    const r = await verifyMaterial(x)
    t.equal(r.overall, 'failed', `${what}: not verified`)
    t.ok(
      r.events.some((e) => e.status === 'failed' && e.why === why),
      `${what}: ${why}`,
    )
  }
  const pending = copy()
  pending.events[0]!.proof = null
  pending.events[0]!.leafIndex = null
  t.equal((await verifyMaterial(pending)).overall, 'pending', 'an event not yet in a checkpoint is pending, not verified')
})

t.test("the GPS track: the sidecar's positions, read like footage and recorded; none is a 404, not a read", async (t) => {
  // The generated camera's .SRT rides beside its first clip: one position per cue, each "[latitude: ...]".
  const srt = ingest.ingested.find((r) => /\.SRT$/i.test(r.sourcePath))!
  const want = readFileSync(join(cam, srt.sourcePath), 'utf8')
    .split('\n')
    .filter((l) => /\[latitude: /.test(l)).length
  const clip = (await call(`/v1/recordings/${srt.id}`, tokens.clerk)).json.media.sidecarOf as number
  t.ok(clip, `the sidecar is linked to clip ${clip}`)
  const probed = eventsFor(s.db, `recording:${srt.id}`).find((e) => e.type === 'probed')!.payload as { gpsTrackSha256: string }
  const viewsOf = (id: number): number => eventsFor(s.db, `recording:${id}`).filter((e) => e.type === 'viewed' && e.payload.what === 'gps-track').length
  const r = await call(`/v1/recordings/${clip}/track`, tokens.clerk)
  t.equal(r.status, 200)
  t.equal(r.json.points.length, want, `${want} positions, one per cue`)
  t.equal(r.json.sidecarId, srt.id)
  t.equal(r.json.sha256, probed.gpsTrackSha256, "the track's SHA-256 is the one its probed event names")
  t.ok(r.json.extent.north > r.json.extent.south && r.json.extent.east > r.json.extent.west, 'its extent')
  t.ok(
    r.json.points.every((p: number[]) => p.length === 3 && p[1]! >= r.json.extent.south && p[1]! <= r.json.extent.north),
    'every point inside it',
  )
  const read = eventsFor(s.db, `recording:${clip}`)
    .filter((e) => e.type === 'viewed')
    .at(-1)!
  t.match(read.payload, { what: 'gps-track', sha256: probed.gpsTrackSha256, role: 'clerk' }, 'the read is a ledger event')
  t.equal((await call(`/v1/recordings/${srt.id}/track`, tokens.clerk)).json.points.length, want, 'the sidecar itself serves its own track')
  const before = viewsOf(clip)
  t.equal((await call(`/v1/recordings/${clip}/track`, tokens.auditor)).status, 403, 'auditors see no footage, and no positions')
  t.equal(viewsOf(clip), before, 'a refused read is not a read')
  const none = ingest.ingested.find((x) => /\.MP4$/.test(x.sourcePath) && x.id !== clip)!
  const n = await call(`/v1/recordings/${none.id}/track`, tokens.clerk)
  t.same([n.status, n.json.error.code], [404, 'NO_GPS_TRACK'], 'a clip without a sidecar has no track')
  t.equal(viewsOf(none.id), 0, 'and nothing was read')
})

t.test('odd input to the new routes is 4xx, never 5xx', async (t) => {
  const ids = ['0', '-1', 'abc', '%00', '9007199254740993', '1e3', String(video.id), '99999999999999999999']
  const bodies = [
    undefined,
    '{',
    '[]',
    'null',
    '{"positionMs":-1,"note":""}',
    '{"positionMs":1.5,"note":"x"}',
    '{"positionMs":"1","note":"x"}',
    '{"positionMs":1,"note":"x","zzz":1}',
    JSON.stringify({ positionMs: 1, note: 'x'.repeat(501) }),
  ]
  const queries = [
    '',
    '?id=',
    '?id=abc',
    '?id=0',
    `?id=${video.id}&id=${video.id}`,
    `?${Array.from({ length: 501 }, (_, i) => `id=${i + 1}`).join('&')}`,
    '?zzz=1',
  ]
  let n = 0
  const seen = new Map<number, number>()
  for (const id of ids)
    for (const [method, path] of [
      ['GET', `/v1/recordings/${id}/markers`],
      ['POST', `/v1/recordings/${id}/markers`],
      ['GET', `/v1/recordings/${id}/proof`],
      ['HEAD', `/v1/recordings/${id}/proof`],
      ['GET', `/v1/recordings/${id}/track`],
    ] as const)
      for (const body of method === 'POST' ? bodies : [undefined]) {
        const res = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${tokens.clerk}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body,
        })
        await res.arrayBuffer()
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1)
        n++
        if (res.status >= 500) t.fail(`${method} ${path} ${body ?? ''}: ${res.status}`)
      }
  for (const q of queries)
    for (const path of ['/v1/search/thumbnails', '/v1/search/facets']) {
      const res = await fetch(base + path + q, { headers: { authorization: `Bearer ${tokens.clerk}` } })
      await res.arrayBuffer()
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1)
      n++
      if (res.status >= 500) t.fail(`GET ${path}${q.slice(0, 60)}: ${res.status}`)
    }
  t.pass(`${n} requests, statuses ${JSON.stringify(Object.fromEntries(seen))}`)
})
