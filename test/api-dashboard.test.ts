import { readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildApi } from '../src/api/app.js'
import { createToken } from '../src/api/tokens.js'
import { markObjectChecked, markObjectFailed } from '../src/catalog/fixity.js'
import { queueOffloadJob } from '../src/catalog/offload-queue.js'
import { silentLogger } from '../src/common/log.js'
import { loadConfig } from '../src/config/load.js'
import { fixityState } from '../src/fixity/state.js'
import { subjects } from '../src/ledger/events.js'
import { retentionPolicy } from '../src/retention/config.js'
import { makeCamera, NO_SYSTEM_CONFIG, personToken, station, tempDir } from './helpers.js'
import { httpCall } from './http-support.js'

/**
 * GET /v1/dashboard and GET /v1/ledger over real HTTP, on footage ingested
 * from generated cameras whose file names date it (two officers, five
 * months back, so that some of it falls due within 30 days; one camera
 * with a file missing, a counter gap). Each figure is checked against
 * another route or the files themselves, not against the query that made it.
 */
const s = station(t)
const work = tempDir(t)
const DAY = 86_400_000
// Camera-local (UTC+8) start times: 176 and 172 days ago (patrol footage is kept 6 months: due in the next 30 days), and 20 days ago,
// at 10:00 on that day: the same options all day long, so makeCamera generates the three cameras once a day, not at every run
// (about 12 CPU-s of ffmpeg each); a day more or less leaves the old ones due within 30 days on two days, the new one not due.
const local = (daysAgo: number) => `${new Date(Date.now() - daysAgo * DAY + 8 * 3600_000).toISOString().slice(0, 10)}T10:00:00`
const cams = [
  { device: 'DEV0001', officer: '010101', start: local(176) },
  { device: 'DEV0002', officer: '010102', start: local(172), gap: true },
  { device: 'DEV0001', officer: '010101', start: local(20) },
]
const ids: number[] = []
const shas: string[] = []
for (const [i, c] of cams.entries()) {
  const dir = await makeCamera(join(work, `cam${i}`), ['--device', c.device, '--officer', c.officer, '--start', c.start, '--count', '6'])
  if (c.gap) {
    // A recording deleted on the camera before docking: its counter is missing.
    const media = join(dir, 'DCIM', '100MEDIA')
    const victim = readdirSync(media).find((f) => /_0002\.[A-Z0-9]+$/.test(f))!
    rmSync(join(media, victim))
  }
  const got = (await s.ingest(dir)).ingested
  ids.push(...got.map((r) => r.id))
  shas.push(...got.map((r) => r.sha256))
}
// The latest checkpoint as the anchoring report gives it: its tree ends at the ingest of the fourth recording from the end, so the last three are not in it yet.
const TREE = s.db
  .prepare('SELECT event_seq FROM recordings WHERE id = ?')
  .pluck()
  .get(ids[ids.length - 4]) as number
const FIXITY = loadConfig({ env: { ...NO_SYSTEM_CONFIG } }).fixity
const app = await buildApi({
  db: s.db,
  vault: s.vault,
  logger: silentLogger(),
  station: { id: 'test-station', name: 'Test station', timezone: 'Asia/Shanghai' },
  policy: retentionPolicy(loadConfig({ env: { ...NO_SYSTEM_CONFIG } })),
  openChecked: s.st.openChecked,
  reserveBytes: 0,
  anchoring: async () => ({
    level: 'log file',
    latest: { id: 3, treeSize: TREE },
    log: { path: null, exists: true, entries: 3, hasLatest: true },
    bucket: null,
    witnesses: [],
  }),
  rateLimitPerMinute: 100_000,
  // Uncached: the fixity subtest changes checks between two reads.
  fixityState: () => fixityState(s.db, FIXITY, new Date()),
})
const base = await app.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => app.close())
const tok: Record<string, string> = {}
for (const role of ['clerk', 'auditor', 'officer', 'admin'] as const)
  tok[role] = createToken(s.db, { name: role, role, actor: 'test', ...(role === 'officer' ? { officerId: '010101' } : {}) }).secret
tok.supervisor = await personToken(s.db, 'wang.sup', 'supervisor', '020002') // no service account holds a supervisor's role
const get = async (path: string, role = 'auditor') => httpCall(`${base}${path}`, { token: tok[role] })
const wide = `from=${new Date(Date.now() - 200 * DAY).toISOString()}&to=${new Date(Date.now() + DAY).toISOString()}`

t.test('dashboard: footage hours and uncategorised footage agree with /v1/stats and the search', async (t) => {
  const d = (await get(`/v1/dashboard?${wide}`)).json
  const stats = (await get(`/v1/stats?${wide}`)).json
  t.ok(d.hoursByOfficerDay.length >= 3, `${d.hoursByOfficerDay.length} officer-days`)
  for (const o of stats.byOfficer as { officerId: string; hours: number; recordings: number }[]) {
    const mine = d.hoursByOfficerDay.filter((r: { officerId: string }) => r.officerId === o.officerId)
    t.equal(
      mine.reduce((n: number, r: { recordings: number }) => n + r.recordings, 0),
      o.recordings,
      `officer ${o.officerId}: recordings as /v1/stats counts them`,
    )
    t.ok(Math.abs(mine.reduce((n: number, r: { hours: number }) => n + r.hours, 0) - o.hours) < 0.01, `officer ${o.officerId}: ${o.hours} h`)
  }
  t.equal(
    d.uncategorisedByDay.reduce((n: number, r: { recordings: number }) => n + r.recordings, 0),
    stats.uncategorised,
    'every recording is uncategorised so far',
  )
  // Each bar's span, searched as the page links it, lists exactly the recordings the bar counts.
  for (const r of d.hoursByOfficerDay as { officerId: string; recordings: number; recordedFrom: string; recordedTo: string }[]) {
    const to = new Date(Date.parse(r.recordedTo) + 1).toISOString()
    const found = (await get(`/v1/recordings?officer=${r.officerId}&from=${r.recordedFrom}&to=${to}&limit=500`, 'clerk')).json.items
    t.equal(found.filter((x: { kind: string }) => x.kind !== 'sidecar').length, r.recordings, `search behind ${r.officerId} ${JSON.stringify(r)}`)
  }
  const first = ids[0]!
  const cat = await httpCall(`${base}/v1/recordings/${first}/category`, {
    method: 'PUT',
    token: tok.clerk,
    body: { category: 'patrol', reason: 'routine patrol' },
  })
  t.equal(cat.status, 200, JSON.stringify(cat.json))
  const after = (await get(`/v1/dashboard?${wide}`)).json
  t.equal(
    after.uncategorisedByDay.reduce((n: number, r: { recordings: number }) => n + r.recordings, 0),
    stats.uncategorised - 1,
    'a categorised recording leaves the uncategorised series',
  )
})

t.test('dashboard: counter gap, deletions due, storage from the files, queues, anchoring', async (t) => {
  const d = (await get('/v1/dashboard', 'supervisor')).json
  t.match(d.findings, [{ code: 'counter-gap', deviceId: 'DEV0002' }], 'the missing file is an open counter gap')
  const plan = (await get(`/v1/retention/plan?at=${new Date(Date.now() + 30 * DAY).toISOString()}`, 'clerk')).json
  const due = d.deletionsDue.reduce((n: number, r: { recordings: number }) => n + r.recordings, 0)
  t.equal(due, plan.items.length, `${due} recordings due within 30 days, as the retention plan at +30 days says`)
  t.ok(due > 0 && d.deletionsDue.length >= 2, `the two old dockings fall due (${d.deletionsDue.map((r: { day: string }) => r.day).join(', ')})`)
  // Used: every stored object of the vault (originals, proxies, thumbnails), measured on disk.
  let onDisk = 0
  const objects = join(s.dataDir, 'objects')
  for (const dir of readdirSync(objects)) for (const f of readdirSync(join(objects, dir))) onDisk += statSync(join(objects, dir, f)).size
  t.equal(d.storage.usedBytes, onDisk, 'used bytes are the vault objects on disk')
  t.ok(d.storage.freeBytes > 0)
  t.ok(d.storage.perDayBytes > 0, 'everything came in today: inflow per day')
  t.ok(Math.abs(d.storage.daysLeft - d.storage.freeBytes / d.storage.perDayBytes) <= 1, `days left ${d.storage.daysLeft} = free / inflow per day`)
  t.ok(
    d.queues.some((q: { queue: string }) => q.queue === 'media'),
    'media jobs are queued (no worker here)',
  )
  // Recordings not yet at the shown level: those whose ingest event is after the latest checkpoint's tree, read from the ledger.
  const ingests = (await get('/v1/ledger?type=ingested&limit=1000')).json.items as { seq: number; subject: string }[]
  const after = ingests.filter((e) => e.seq > TREE).map((e) => Number(e.subject.replace('recording:', '')))
  t.same(after, ids.slice(-3), `the last three of ${ids.length} recordings were ingested after event ${TREE}`)
  t.same(d.anchoring, { level: 'log file', checkpoint: 3, treeSize: TREE, error: null, unanchored: 3 })
  t.equal((await get('/v1/dashboard', 'officer')).status, 403, 'officers have no dashboard')
  t.equal((await get('/v1/dashboard?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).json.error.code, 'BAD_REQUEST', 'from after to')
})

t.test('dashboard items: the media jobs, offload jobs, objects and recordings behind the work chart and the anchoring panel', async (t) => {
  const d = (await get('/v1/dashboard', 'supervisor')).json
  const items = async (what: string, role = 'supervisor') => (await get(`/v1/dashboard/items?what=${encodeURIComponent(what)}`, role)).json
  const queued = d.queues.find((q: { queue: string; state: string }) => q.queue === 'media' && q.state === 'queued').n
  const media = await items('media:queued')
  t.equal(media.total, queued, `${queued} queued media jobs, as the chart counts them`)
  t.equal(media.items.length, queued)
  t.ok(
    media.items.every((i: { item: string; recordingId: number }) => ['probe', 'proxy', 'thumbnail'].includes(i.item) && ids.includes(i.recordingId)),
    'each a probe, proxy or thumbnail of an ingested recording',
  )
  t.same(await items('media:failed'), { what: 'media:failed', total: 0, treeSize: null, fixity: null, items: [] }, 'none failed')
  // No fixity run yet: every local object is never checked, as the fixity state says.
  const never = await items('fixity:neverChecked')
  let onDisk = 0
  for (const dir of readdirSync(join(s.dataDir, 'objects'))) onDisk += readdirSync(join(s.dataDir, 'objects', dir)).length
  t.equal(never.total, onDisk, `${onDisk} objects in the vault, none checked`)
  t.ok(
    never.items.every((i: { sha256: string; recordingId: number }) => /^[0-9a-f]{64}$/.test(i.sha256) && ids.includes(i.recordingId)),
    'each object with its recording',
  )
  const ingests = (await get('/v1/ledger?type=ingested&limit=1000')).json.items as { seq: number; subject: string }[]
  const un = await items('unanchored')
  t.equal(un.treeSize, TREE)
  t.same(
    un.items.map((i: { recordingId: number }) => i.recordingId),
    ingests.filter((e) => e.seq > TREE).map((e) => Number(e.subject.replace('recording:', ''))),
    'the recordings ingested after the checkpoint, in ledger order',
  )
  t.equal(un.total, 3)
  t.equal((await items('offload:queued')).total, 0, 'no offload configured: nothing queued')
  // Two jobs queued the way the offload worker queues them (its store): an original's upload and a manifest's.
  const sha = shas[0]!
  queueOffloadJob(s.db, 'object', sha, new Date())
  queueOffloadJob(s.db, 'manifest', '1', new Date())
  const off = await items('offload:queued')
  t.equal(off.total, (await get('/v1/dashboard')).json.queues.find((q: { queue: string; state: string }) => q.queue === 'offload' && q.state === 'queued').n)
  t.match(off.items, [
    { item: 'object', sha256: sha, subject: null, recordingId: ids[0] },
    { item: 'manifest', sha256: null, subject: '1', recordingId: null },
  ])
  t.equal((await get('/v1/dashboard/items?what=media:done')).status, 400, 'done jobs are not a list to work through')
  t.equal((await items('media:queued', 'officer')).error.code, 'FORBIDDEN', 'officers have no dashboard')
})

t.test('dashboard items: the fixity bars due and overdue list exactly the objects they count, at the same cut-offs', async (t) => {
  // The threat: a bar that says "5 overdue" while its list shows others, or none (the bars used to lead nowhere).
  const items = async (what: string) => (await get(`/v1/dashboard/items?what=${encodeURIComponent(what)}&limit=1000`, 'supervisor')).json
  const all = (await items('fixity:neverChecked')).items.map((i: { sha256: string }) => i.sha256) as string[]
  t.ok(all.length >= 6, `${all.length} local objects`)
  const now = Date.now()
  const ago = (days: number) => new Date(now - days * DAY).toISOString()
  const cycle = FIXITY.cycleDays
  // What this test did to each object: checked long ago, checked a while ago, checked just now, or found bad just now; the rest never checked.
  const checkedAt = new Map<string, string>([
    [all[0]!, ago(cycle + 2)],
    [all[1]!, ago(cycle + 30)],
    [all[2]!, ago(cycle * 0.9)],
    [all[3]!, ago(0)],
  ])
  for (const [sha, at] of checkedAt) {
    markObjectFailed(s.db, { sha256: sha, size: 1, at, failure: 'seeded' })
    markObjectChecked(s.db, sha, at)
  }
  markObjectFailed(s.db, { sha256: all[4]!, size: 1, at: ago(0), failure: 'hash: seeded mismatch' })
  const d = (await get('/v1/dashboard', 'supervisor')).json
  const due = await items('fixity:due')
  const overdue = await items('fixity:overdue')
  t.comment(`cut-offs: due before ${due.fixity.dueBefore}, overdue before ${due.fixity.overdueBefore}; bars: due ${d.fixity.due}, overdue ${d.fixity.overdue}`)
  t.ok(due.fixity.overdueBefore <= due.fixity.dueBefore, 'overdue lies before due')
  // Each object's expected bar from what was done to it, by the rules the dashboard states.
  const since = (sha: string) => checkedAt.get(sha) ?? null
  const wantDue = all.filter((sha) => sha === all[4] || since(sha) === null || since(sha)! < due.fixity.dueBefore)
  const wantOverdue = all.filter((sha) => sha !== all[4] && since(sha) !== null && since(sha)! < overdue.fixity.overdueBefore)
  const got = (r: { items: { sha256: string }[] }) => r.items.map((i) => i.sha256).sort()
  t.same(got(due), [...wantDue].sort(), `due: ${wantDue.length} objects (never checked, bad, or checked before the cut-off)`)
  t.same(got(overdue), [...wantOverdue].sort(), `overdue: the ${wantOverdue.length} checked more than ${cycle} days ago`)
  t.ok(wantOverdue.includes(all[0]!) && wantOverdue.includes(all[1]!) && !wantOverdue.includes(all[3]!), 'long ago is overdue; just now is not')
  t.ok(!wantDue.includes(all[3]!) && wantDue.includes(all[4]!), 'just checked is not due; known bad is')
  t.equal(due.total, d.fixity.due, 'the due bar counts its list')
  t.equal(overdue.total, d.fixity.overdue, 'the overdue bar counts its list')
  t.same(
    overdue.items.map((i: { sha256: string }) => i.sha256),
    [all[1]!, all[0]!],
    'oldest check first',
  )
  t.ok(
    overdue.items.every(
      (i: { recordingId: number; at: string }) => (ids.includes(i.recordingId) && i.at === checkedAt.get(all[0]!)) || i.at === checkedAt.get(all[1]!),
    ),
    'each with its recording and its last check',
  )
  t.equal((await items('media:queued')).fixity, null, 'no cut-offs on other lists')
})

t.test('ledger: auditors filter the whole chain by type, subject, actor, unit and time, and page it', async (t) => {
  const rid = ids[1]!
  const viewed = await httpCall(`${base}/v1/recordings/${rid}/original?reason=${encodeURIComponent('复核案件材料')}`, { token: tok.clerk })
  t.equal(viewed.status, 200)
  const all = (await get('/v1/ledger?limit=1000')).json.items as { seq: number; type: string; subject: string; actor: string; at: string }[]
  t.ok(all.length > 20)
  t.same(
    all.map((e) => e.seq),
    [...all.map((e) => e.seq)].sort((a, b) => a - b),
    'in chain order',
  )
  const views = (await get(`/v1/ledger?type=viewed&subject=${subjects.recording(rid)}`)).json.items
  t.equal(views.length, 1, 'the one view of that recording')
  t.match(views[0], { type: 'viewed', subject: `recording:${rid}`, payload: { reason: '复核案件材料', role: 'clerk' } })
  const byActor = (await get(`/v1/ledger?actor=${encodeURIComponent(views[0].actor)}`)).json.items
  t.ok(
    byActor.every((e: { actor: string }) => e.actor === views[0].actor),
    `${byActor.length} events by ${views[0].actor}`,
  )
  const trail = (await get(`/v1/ledger?subject=recording:${rid}`)).json.items
  t.same(
    trail.map((e: { seq: number }) => e.seq),
    all.filter((e) => e.subject === `recording:${rid}`).map((e) => e.seq),
    "a recording's trail is every event about it",
  )
  t.ok(
    trail.some((e: { type: string }) => e.type === 'ingested'),
    'from its ingest',
  )
  // Pages: 5 at a time, together the whole chain.
  const paged: number[] = []
  for (let after = 0, n = 0; n < 100; n++) {
    const p = (await get(`/v1/ledger?limit=5&after=${after}`)).json
    paged.push(...p.items.map((e: { seq: number }) => e.seq))
    if (p.next === null) break
    after = p.next
  }
  t.same(
    paged.slice(0, all.length),
    all.map((e) => e.seq),
    'paging by `after` walks the same chain',
  )
  const mid = all[Math.floor(all.length / 2)]!.at
  const late = (await get(`/v1/ledger?from=${mid}&limit=1000`)).json.items
  t.ok(
    late.every((e: { at: string }) => e.at >= mid),
    'from bounds the time',
  )
  t.equal((await get('/v1/ledger?unit=NO-SUCH-UNIT')).json.items.length, 0, 'an unknown unit has no events')
  for (const role of ['clerk', 'supervisor', 'admin', 'officer']) t.equal((await get('/v1/ledger', role)).status, 403, `${role}s do not browse the ledger`)
  t.equal((await get('/v1/ledger?subject=nocolon')).status, 400, 'a subject is kind:id')
})
