// Nightly purge with an injected clock: nothing before deadline + grace,
// nothing under hold or open case, a tombstone for every deletion, and
// verify clean afterwards; tampering with the new tables is caught.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { openCatalog } from '../src/catalog/db.js'
import { uncategorisedCount } from '../src/catalog/recordings.js'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { retentionPolicy, type RetentionSettings } from '../src/retention/config.js'
import { acquireLease, releaseLease } from '../src/retention/lease.js'
import { retentionPlan } from '../src/retention/plan.js'
import type { RetentionPolicy } from '../src/retention/policy.js'
import { runPurge } from '../src/retention/purge.js'
import { startNightlyPurge } from '../src/retention/schedule.js'
import { closeCase, createCase, linkRecordings, placeHold, releaseHold, setCategory } from '../src/retention/actions.js'
import type { Ctx } from '../src/retention/deadlines.js'
import { verifyVault } from '../src/verify/vault.js'
import { ROOT, station, tempDir, type TestStation } from './helpers.js'
import { appendForeignEvent } from './ledger-support.js'

const defaults = JSON.parse(readFileSync(join(ROOT, 'config/default.json'), 'utf8')) as { retention: RetentionSettings }
const POLICY: RetentionPolicy = retentionPolicy({ station: { timezone: 'Asia/Shanghai' }, retention: defaults.retention })
const at = (s: string): Date => new Date(s)

/** A camera whose files are named with the given station-local times ("20260115080000"); `imp` marks important; `fill` picks the bytes. */
function camera(t: Test, files: { time: string; seq: number; imp?: boolean; fill?: number }[]): string {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (const f of files) {
    writeFileSync(
      join(cam, 'DCIM', `A1B2C3D_012345_${f.time}_${String(f.seq).padStart(4, '0')}${f.imp ? '_IMP' : ''}.MP4`),
      Buffer.alloc(50_000 + f.seq, f.fill ?? f.seq),
    )
  }
  return cam
}

function ctx(s: TestStation, now: Date, actor = 'user:clerk'): Ctx {
  return { db: s.db, policy: POLICY, actor, now }
}

const purge = (s: TestStation, now: Date, dryRun = false) =>
  runPurge({ db: s.db, vault: s.vault, policy: POLICY, now, dryRun, actor: 'station:test', logger: silentLogger() })

async function clean(t: Test, s: TestStation, what: string): Promise<void> {
  const v = await verifyVault(s.db, s.vault)
  t.same(v.problems, [], `verify clean ${what}`)
}

const status = (s: TestStation, id: number): string => (s.db.prepare('SELECT status FROM recordings WHERE id = ?').get(id) as { status: string }).status

t.test('patrol footage is purged only after its deadline + grace, with a tombstone, and verify stays clean', async (t) => {
  const s = station(t)
  const r = await s.ingest(
    camera(t, [
      { time: '20260115080000', seq: 1 },
      { time: '20260301080000', seq: 2 },
    ]),
  )
  const [a, b] = r.ingested
  setCategory(ctx(s, at('2026-01-16T09:00:00+08:00')), a!.id, 'patrol', 'routine patrol, nothing happened')
  t.equal(uncategorisedCount(s.db), 1, 'the other one is uncategorised, and counted')

  // Deadline: last day 2026-07-15, due 2026-07-16T00:00+08:00, purgeable from 2026-07-23T00:00+08:00.
  let rep = await purge(s, at('2026-07-15T23:59:59+08:00'))
  t.same([rep.purged.length, rep.inGrace.length], [0, 0], 'the day before: nothing due')
  t.equal(rep.refreshed.changed, 1, 'deadline recorded for the uncategorised one (the patrol one got its deadline with its category)')
  t.equal((s.db.prepare('SELECT count(*) AS n FROM retention').get() as { n: number }).n, 2, 'both have a deadline row')
  t.ok(
    eventsFor(s.db, `recording:${a!.id}`).some(
      (e) => e.type === 'retention-changed' && e.payload.deadline === new Date('2026-07-16T00:00:00+08:00').toISOString(),
    ),
    'retention-changed event carries the deadline',
  )

  const plan = retentionPlan(s.db, POLICY, at('2026-07-16T00:00:00+08:00'))
  t.same(
    plan.items.map((i) => [i.recordingId, i.state, i.rule]),
    [[a!.id, 'in-grace', 'category-period']],
    'plan: due at midnight, in grace',
  )
  t.equal(plan.items[0]!.purgeAfter, new Date('2026-07-23T00:00:00+08:00').toISOString())

  rep = await purge(s, at('2026-07-22T23:59:59+08:00'))
  t.same(rep.purged, [], 'still in grace the second before')
  t.same(
    rep.inGrace.map((i) => i.recordingId),
    [a!.id],
  )
  t.ok(existsSync(s.vault.objectPath(a!.sha256)), 'object still there')

  rep = await purge(s, at('2026-07-23T00:00:00+08:00'))
  t.same(
    rep.purged.map((p) => p.recordingId),
    [a!.id],
    'purged at deadline + grace',
  )
  t.equal(rep.bytesFreed, a!.size)
  t.notOk(existsSync(s.vault.objectPath(a!.sha256)), 'the object is gone')
  t.equal(status(s, a!.id), 'purged', 'the row stays, marked purged')
  t.equal(status(s, b!.id), 'stored', 'the uncategorised one (recorded 1 Mar) is not due yet')
  const tomb = eventsFor(s.db, `recording:${a!.id}`).find((e) => e.type === 'purged')!
  t.match(tomb.payload, {
    recordingId: a!.id,
    sha256: a!.sha256,
    rule: 'category-period',
    ruleRef: 'patrol',
    deadline: new Date('2026-07-16T00:00:00+08:00').toISOString(),
    graceDays: 7,
  })
  t.match(tomb.payload.reason, /retention deadline .* and 7 day\(s\) of grace have passed/)
  t.equal(tomb.at, new Date('2026-07-23T00:00:00+08:00').toISOString(), 'the tombstone is dated by the injected clock')
  await clean(t, s, 'after the purge: the tombstoned object may be absent')

  // Uncategorised: longest non-case period, 6 months from 1 Mar: due 2026-09-02.
  rep = await purge(s, at('2026-09-09T00:00:00+08:00'))
  t.same(
    rep.purged.map((p) => [p.recordingId, p.rule]),
    [[b!.id, 'uncategorised']],
  )
  await clean(t, s, 'after the second purge')
  rep = await purge(s, at('2030-01-01T00:00:00+08:00'))
  t.same([rep.purged.length, rep.leftoversRemoved], [0, 0], 'nothing left, nothing twice')
})

t.test('evidence is kept while its case is open, and until close + archive period (+ grace)', async (t) => {
  const s = station(t)
  const r = await s.ingest(camera(t, [{ time: '20260115080000', seq: 1, imp: true }]))
  const id = r.ingested[0]!.id
  t.equal(
    (s.db.prepare('SELECT category FROM recordings WHERE id = ?').get(id) as { category: string }).category,
    'evidence',
    'important on the camera: evidence',
  )
  let rep = await purge(s, at('2090-01-01T00:00:00+08:00'))
  t.same(rep.purged, [], 'evidence with no case yet is kept (awaiting a case)')

  createCase(ctx(s, at('2026-01-20T10:00:00+08:00')), { number: 'ZF-2026-001', type: 'penalty-summary-procedure', title: 'street vending' })
  linkRecordings(ctx(s, at('2026-01-20T10:05:00+08:00')), 'ZF-2026-001', [id], 'scene footage')
  t.equal(
    (s.db.prepare('SELECT case_number AS c FROM recordings WHERE id = ?').get(id) as { c: string }).c,
    'ZF-2026-001',
    'recordings.case_number follows the link',
  )
  rep = await purge(s, at('2090-01-01T00:00:00+08:00'))
  t.same(rep.purged, [], 'open case: never purged, whatever the date')

  closeCase(ctx(s, at('2026-03-05T09:00:00+08:00')), 'ZF-2026-001', { closedAt: '2026-03-01T16:00:00.000Z', reason: 'penalty paid' })
  // Closed 2026-03-02 station time (16:00Z = 00:00+08): archive 10 years -> last day 2036-03-02, due 2036-03-03, purge from 2036-03-10.
  rep = await purge(s, at('2036-03-02T23:59:59+08:00'))
  t.same([rep.purged.length, rep.inGrace.length], [0, 0], 'not due during the archive period')
  rep = await purge(s, at('2036-03-09T23:59:59+08:00'))
  t.same(
    rep.inGrace.map((i) => [i.recordingId, i.rule, i.ruleRef]),
    [[id, 'case-archive', 'ZF-2026-001']],
    'due, in grace',
  )
  t.equal(rep.inGrace[0]!.deadline, new Date('2036-03-03T00:00:00+08:00').toISOString())
  rep = await purge(s, at('2036-03-10T00:00:00+08:00'))
  t.same(
    rep.purged.map((p) => p.recordingId),
    [id],
    'purged after close + archive + grace',
  )
  await clean(t, s, 'after purging case footage')
})

t.test('a case link during the grace period rescues footage; a hold blocks purge until released', async (t) => {
  const s = station(t)
  const r = await s.ingest(
    camera(t, [
      { time: '20260115080000', seq: 1 },
      { time: '20260115090000', seq: 2 },
    ]),
  )
  const [a, b] = r.ingested
  for (const x of [a!, b!]) setCategory(ctx(s, at('2026-01-16T09:00:00+08:00')), x.id, 'patrol', 'patrol')
  let rep = await purge(s, at('2026-07-18T00:00:00+08:00'))
  t.same(rep.inGrace.map((i) => i.recordingId).sort(), [a!.id, b!.id], 'both due, in grace')

  createCase(ctx(s, at('2026-07-18T10:00:00+08:00')), { number: 'C-77', type: 'penalty-general-procedure' })
  linkRecordings(ctx(s, at('2026-07-18T10:01:00+08:00')), 'C-77', [a!.id], 'turned out to show the incident')
  const hold = placeHold(ctx(s, at('2026-07-18T10:02:00+08:00'), 'user:supervisor'), b!.id, 'complaint filed, litigation expected')
  t.equal(hold.placedBy, 'user:supervisor')

  rep = await purge(s, at('2027-01-01T00:00:00+08:00'))
  t.same(rep.purged, [], 'rescued: one by an open case, one by a hold')
  t.same(rep.inGrace, [])
  t.ok(existsSync(s.vault.objectPath(a!.sha256)) && existsSync(s.vault.objectPath(b!.sha256)))
  await clean(t, s, 'with a hold and a case link')

  releaseHold(ctx(s, at('2027-01-02T10:00:00+08:00'), 'user:supervisor'), hold.id, 'complaint withdrawn')
  rep = await purge(s, at('2027-01-03T00:00:00+08:00'))
  t.same(
    rep.purged.map((p) => p.recordingId),
    [b!.id],
    'the released one goes (its deadline and grace were long past)',
  )
  t.equal(status(s, a!.id), 'stored', 'the one linked to the open case stays')
  await clean(t, s, 'after release and purge')
})

t.test('identical bytes under two recordings: the tombstone is written, the object kept for the other', async (t) => {
  const s = station(t)
  const r = await s.ingest(camera(t, [{ time: '20260115080000', seq: 1, fill: 9 }]))
  const cam2 = join(tempDir(t), 'cam2')
  mkdirSync(join(cam2, 'DCIM'), { recursive: true })
  writeFileSync(join(cam2, 'DCIM', 'B7654321_000777_20261001080000_0001.MP4'.replace('B7654321', 'B765432')), Buffer.alloc(50_001, 9))
  const r2 = await s.ingest(cam2)
  t.equal(r.ingested[0]!.sha256, r2.ingested[0]!.sha256, 'same content')
  setCategory(ctx(s, at('2026-01-16T09:00:00+08:00')), r.ingested[0]!.id, 'patrol', 'patrol')
  const rep = await purge(s, at('2026-08-01T00:00:00+08:00'))
  t.same(
    rep.purged.map((p) => p.recordingId),
    [r.ingested[0]!.id],
  )
  const item = rep.purged[0] as { kept: { reason: string }[]; deleted: unknown[] }
  t.same(item.deleted, [])
  t.match(item.kept[0]!.reason, /another stored recording/)
  t.ok(existsSync(s.vault.objectPath(r.ingested[0]!.sha256)), 'object kept')
  await clean(t, s, 'with a shared object')
})

t.test('a dry run writes nothing; two purges never overlap; a leftover after a crash is removed', async (t) => {
  const s = station(t)
  const r = await s.ingest(camera(t, [{ time: '20260115080000', seq: 1 }]))
  const id = r.ingested[0]!.id
  const count = (): number => (s.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n
  const before = count()
  const dry = await purge(s, at('2026-12-01T00:00:00+08:00'), true)
  t.same(
    dry.purged.map((p) => p.recordingId),
    [id],
    'dry run lists it',
  )
  t.equal(count(), before, 'and writes no event')
  t.ok(existsSync(s.vault.objectPath(r.ingested[0]!.sha256)))

  const lease = acquireLease(s.db, 'retention-purge', new Date(), 60_000)
  t.ok('holder' in lease)
  await t.rejects(purge(s, at('2026-12-01T00:00:00+08:00')), { code: 'PURGE_RUNNING' }, 'a second purge is refused while one runs')
  if ('holder' in lease) releaseLease(s.db, 'retention-purge', lease.holder)

  const opts = { db: s.db, vault: s.vault, policy: POLICY, dryRun: false, actor: 'station:test', logger: silentLogger() }
  await t.rejects(
    runPurge({ ...opts, now: at('2026-12-01T00:00:00+08:00'), asOf: at('2026-12-02T00:00:00+08:00') }),
    { code: 'PURGE_AHEAD_OF_CLOCK' },
    'a purge never decides ahead of its clock',
  )
  const past = await runPurge({ ...opts, now: at('2026-12-01T00:00:00+08:00'), asOf: at('2026-07-22T00:00:00+08:00') })
  t.same([past.purged.length, past.inGrace.length], [0, 1], 'as of a past instant: still in grace then, so not purged now')
  t.equal(count(), before + 1, 'only its deadline was recorded')

  const obj = s.vault.objectPath(r.ingested[0]!.sha256)
  const spare = join(tempDir(t), 'spare')
  copyFileSync(obj, spare)
  const rep = await purge(s, at('2026-12-01T00:00:00+08:00'))
  t.equal(rep.purged.length, 1)
  copyFileSync(spare, obj) // as if the process died between the tombstone's commit and the unlink
  const again = await purge(s, at('2026-12-02T00:00:00+08:00'))
  t.equal(again.leftoversRemoved, 1, 'leftover of the tombstoned recording removed')
  t.notOk(existsSync(obj))
})

/** Edits the catalog like an attacker with the file (see test/verify.test.ts). */
function raw(s: TestStation, sql: string): void {
  s.db.close()
  const db = new Database(join(s.dataDir, 'catalog.db'))
  db.pragma('foreign_keys = OFF')
  db.exec(sql)
  db.close()
  s.reopen()
}

async function problems(s: TestStation): Promise<string[]> {
  return (await verifyVault(s.db, s.vault)).problems.map((p) => `${p.kind} ${p.subject} ${p.detail}`)
}

t.test('verify catches an edited category, a forged purged status, edited holds, links, cases and deadlines', async (t) => {
  const s = station(t)
  const r = await s.ingest(
    camera(t, [
      { time: '20260115080000', seq: 1, imp: true },
      { time: '20260115090000', seq: 2 },
      { time: '20260115100000', seq: 3 },
    ]),
  )
  const [a, b, c] = r.ingested.map((x) => x.id)
  createCase(ctx(s, at('2026-01-20T10:00:00+08:00')), { number: 'C-1', type: 'penalty-general-procedure' })
  linkRecordings(ctx(s, at('2026-01-20T10:01:00+08:00')), 'C-1', [a!])
  placeHold(ctx(s, at('2026-01-20T10:02:00+08:00'), 'user:boss'), b!, 'litigation')
  setCategory(ctx(s, at('2026-01-20T10:03:00+08:00')), c!, 'patrol', 'patrol')
  await clean(t, s, 'before tampering')

  raw(s, `UPDATE recordings SET category = 'patrol' WHERE id = ${a}`)
  t.match(
    await problems(s),
    [new RegExp(`^catalog-mismatch recording:${a} category is "patrol" in the catalog but "evidence" in ledger`)],
    'an edited category',
  )
  raw(s, `UPDATE recordings SET category = 'evidence' WHERE id = ${a}`)

  raw(s, `UPDATE recordings SET status = 'purged' WHERE id = ${c}`)
  let p = await problems(s)
  t.ok(
    p.some((x) => new RegExp(`^catalog-mismatch recording:${c} status is "purged" in the catalog but "stored"`).test(x)),
    'a forged purged status',
  )
  raw(s, `UPDATE recordings SET status = 'stored' WHERE id = ${c}`)
  const obj = s.vault.objectPath(r.ingested[2]!.sha256)
  const spare = join(tempDir(t), 'spare')
  copyFileSync(obj, spare)
  raw(s, `UPDATE recordings SET status = 'purged' WHERE id = ${c}`)
  rmSync(obj)
  p = await problems(s)
  t.ok(
    p.some((x) => /^object-missing object:/.test(x)),
    'and the deleted object is missing: only a tombstone excuses absence',
  )
  raw(s, `UPDATE recordings SET status = 'stored' WHERE id = ${c}`)
  copyFileSync(spare, obj)
  await clean(t, s, 'restored')

  raw(s, `UPDATE holds SET released_at = '2026-02-01T00:00:00.000Z', released_by = 'user:nobody' WHERE recording_id = ${b}`)
  t.match(
    await problems(s),
    [/^catalog-mismatch hold:1 releasedAt is "2026-02-01T00:00:00.000Z" in the catalog but null/, /^catalog-mismatch hold:1 releasedBy/],
    'a hold quietly released',
  )
  raw(s, `DELETE FROM holds`)
  t.match(await problems(s), [/^catalog-missing hold:1 /], 'a hold deleted')
  raw(
    s,
    `INSERT INTO holds (id, recording_id, reason, placed_by, placed_at) VALUES (1, ${b}, 'litigation', 'user:boss', '${new Date('2026-01-20T10:02:00+08:00').toISOString()}')`,
  )
  await clean(t, s, 'hold restored')

  raw(s, `DELETE FROM case_links`)
  t.match(await problems(s), [/^catalog-missing case-link:1\|C-1 /], 'a case link deleted')
  raw(
    s,
    `INSERT INTO case_links (recording_id, case_number, linked_at, linked_by) VALUES (${a}, 'C-1', '${new Date('2026-01-20T10:01:00+08:00').toISOString()}', 'user:clerk')`,
  )
  raw(s, `UPDATE cases SET status = 'closed', closed_at = '2026-01-21T00:00:00.000Z', closed_by = 'user:x'`)
  t.match((await problems(s)).join('\n'), /catalog-mismatch case:C-1 status is "closed" in the catalog but "open"/, "a case closed behind the ledger's back")
  raw(s, `UPDATE cases SET status = 'open', closed_at = NULL, closed_by = NULL`)
  raw(s, `UPDATE retention SET deadline = '2026-02-01T00:00:00.000Z' WHERE recording_id = ${c}`)
  t.match(await problems(s), [new RegExp(`^catalog-mismatch retention:${c} deadline is "2026-02-01T00:00:00.000Z" in the catalog but`)], 'a shortened deadline')
})

t.test('a purged event the chain does not justify is reported (hold in force, open case)', async (t) => {
  const s = station(t)
  const r = await s.ingest(
    camera(t, [
      { time: '20260115080000', seq: 1 },
      { time: '20260115090000', seq: 2 },
    ]),
  )
  const [a, b] = r.ingested.map((x) => x.id)
  placeHold(ctx(s, at('2026-01-20T10:02:00+08:00'), 'user:boss'), a!, 'litigation')
  createCase(ctx(s, at('2026-01-20T10:00:00+08:00')), { number: 'C-1', type: 'penalty-general-procedure' })
  linkRecordings(ctx(s, at('2026-01-20T10:01:00+08:00')), 'C-1', [b!])
  // An insider with the code appends well-formed tombstones anyway.
  s.db.transaction(() => {
    for (const id of [a!, b!]) {
      appendForeignEvent(s.db, { type: 'purged', actor: 'station:rogue', subject: `recording:${id}`, payload: { recordingId: id } })
      s.db.prepare("UPDATE recordings SET status = 'purged' WHERE id = ?").run(id)
    }
  })()
  const p = await problems(s)
  t.ok(
    p.some((x) => new RegExp(`^retention event:\\d+ recording:${a} was purged while legal hold #1 was in force`).test(x)),
    'purged under hold',
  )
  t.ok(
    p.some((x) => new RegExp(`^retention event:\\d+ recording:${b} was purged while linked to open case C-1`).test(x)),
    'purged while its case is open',
  )
})

t.test('the nightly job: node-cron with the injected clock, no overlapping runs', async (t) => {
  const s = station(t)
  const r = await s.ingest(camera(t, [{ time: '20260115080000', seq: 1 }]))
  const runs: unknown[] = []
  let release!: () => void
  const gate = new Promise<void>((res) => (release = res))
  const job = startNightlyPurge({
    db: s.db,
    vault: s.vault,
    policy: POLICY,
    schedule: '* * * * * *',
    timezone: 'Asia/Shanghai',
    actor: 'station:test',
    logger: silentLogger(),
    now: () => at('2026-12-01T00:00:00+08:00'),
    onRun: (x) => {
      runs.push(x)
      release()
    },
  })
  t.teardown(() => job.stop())
  t.ok(job.nextRun() !== null, 'scheduled')
  await gate
  await job.stop()
  t.equal(runs.length >= 1, true, 'ran on schedule')
  t.equal(status(s, r.ingested[0]!.id), 'purged', 'and purged what was due at the injected time')
  const [x, y] = await Promise.all([job.runNow(), job.runNow()])
  t.ok(x !== undefined && y === undefined, 'a second run while one is in progress is skipped')
})

t.test(
  'the derivatives hook: derivative objects go with their original',
  { skip: !hasDerivativesTable() && 'no derivatives table (migration 002) in this build' },
  async (t) => {
    const s = station(t)
    const r = await s.ingest(camera(t, [{ time: '20260115080000', seq: 1 }]))
    const id = r.ingested[0]!.id
    const proxy = Buffer.from('proxy bytes')
    const { createHash } = await import('node:crypto')
    const sha = createHash('sha256').update(proxy).digest('hex')
    mkdirSync(join(s.vault.objectsDir, sha.slice(0, 2)), { recursive: true })
    writeFileSync(s.vault.objectPath(sha), proxy)
    s.db.transaction(() => {
      const ev = appendForeignEvent(s.db, {
        type: 'derived',
        actor: 'station:test',
        subject: `recording:${id}`,
        payload: { recordingId: id, kind: 'proxy', sha256: sha },
      })
      s.db
        .prepare(
          "INSERT INTO derivatives (recording_id, kind, sha256, size, mime_type, input_sha256, args, created_at, event_seq) VALUES (?, 'proxy', ?, ?, 'video/mp4', ?, '[]', ?, ?)",
        )
        .run(id, sha, proxy.length, r.ingested[0]!.sha256, ev.at, ev.seq)
    })()
    const rep = await purge(s, at('2026-12-01T00:00:00+08:00'))
    const item = rep.purged[0] as { deleted: { role: string }[] }
    t.same(item.deleted.map((d) => d.role).sort(), ['original', 'proxy'])
    t.notOk(existsSync(s.vault.objectPath(sha)), 'the proxy is gone too')
  },
)

function hasDerivativesTable(): boolean {
  // The build's migrations decide: look for the media pipeline's table in a fresh catalog.
  const dir = mkdtempSync(join(tmpdir(), 'bv-probe-'))
  try {
    const db = openCatalog(join(dir, 'catalog.db'))
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'derivatives'").get() !== undefined
    db.close()
    return has
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
