// The rolling fixity job (issue 13). What would make its promise false: a
// flipped byte that waits longer than a cycle to be found (a moved clock
// walks a whole cycle in 6-hour runs); a run that reads faster than its I/O
// budget, or reads while cameras are copying (measured bytes per second of
// real runs); a block list edited together with the bytes; two runs at once;
// an hourly summary event that makes an idle station sign checkpoints.
import t from 'tap'
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { lastFixityRun } from '../src/catalog/fixity.js'
import { silentLogger } from '../src/common/log.js'
import { Fixity } from '../src/fixity/fixity.js'
import { runFixity, startFixityJob } from '../src/fixity/job.js'
import type { FixitySettings } from '../src/fixity/settings.js'
import { fixityState, fixityStateCache } from '../src/fixity/state.js'
import { checkpointStation } from '../src/ledger/checkpoint.js'
import { subjects } from '../src/ledger/events.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { digestFile } from '../src/vault/blocks.js'
import { freePort } from './daemon-support.js'
import { flipByte, MiB, randomCamera } from './fixity-support.js'
import { cli, station, tempDir, type TestStation } from './helpers.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

function fixityOf(s: TestStation, settings: Partial<FixitySettings>, now?: () => Date): Fixity {
  return new Fixity({ ...s.st.fixity.d, settings: { ...s.st.cfg.fixity, ...settings }, ...(now ? { now } : {}) })
}

const runEvents = (s: TestStation) => eventsFor(s.db, subjects.station('test-station')).filter((e) => e.type === 'fixity-checked')

t.test('a flipped byte is found within its cycle (moved clock, a run every 6 hours), each object re-hashed about once a cycle', async (t) => {
  const s = station(t)
  const { ingested } = await s.ingest(randomCamera(t, [1.5 * MiB, 1.5 * MiB, 1.5 * MiB]))
  const t0 = Date.now()
  let now = t0
  const fx = fixityOf(s, { cycleDays: 30, everyMinutes: 360, budgetMBps: 0 }, () => new Date(now))
  const first = await runFixity(fx, { scope: 'due', trigger: 'schedule' })
  t.equal(first.objects, 3, 'the first run hashes every never-checked object')
  const victim = ingested[1]!
  let found: number | undefined
  let checks = 0
  for (let step = 1; step <= 31 * 4 && found === undefined; step++) {
    now = t0 + step * 6 * HOUR
    if (step === 8) flipByte(s.vault.objectPath(victim.sha256), 777_777) // two days into the cycle
    const r = await runFixity(fx, { scope: 'due', trigger: 'schedule' })
    checks += r.objects
    if (r.failed > 0) found = now
  }
  t.ok(found !== undefined, 'found')
  const days = (found! - t0) / DAY
  t.comment(`flipped on day 2, found on day ${days.toFixed(2)} of a 30-day cycle; ${checks} object check(s) after the first pass`)
  t.ok(found! - t0 <= 30 * DAY, 'within 30 days of its last check')
  t.ok(checks <= 3, 'no object re-hashed before it was due (a small vault is not read over and over)')
  const f = eventsFor(s.db, subjects.object(victim.sha256)).filter((e) => e.type === 'fixity-failed')
  t.match(f, [{ payload: { problem: 'block', block: 0, where: 'fixity-job', recordingIds: [victim.id] } }], 'reported with the bad block')
  t.equal(runEvents(s).length, 2, 'one fixity-checked event per run that checked something, none for the idle runs')
  t.match(fixityState(s.db, fx.d.settings, new Date(now)), { failed: 1, objects: 3 }, 'the state counts it')

  // Known bad: tried again every run (a repair may have become possible), reported once.
  now += 6 * HOUR
  const again = await runFixity(fx, { scope: 'due', trigger: 'schedule' })
  t.match(again, { objects: 1, failed: 1 }, 'the bad object is retried each run')
  t.equal(eventsFor(s.db, subjects.object(victim.sha256)).filter((e) => e.type === 'fixity-failed').length, 1, 'and not reported again')
})

t.test('the I/O budget is kept (bytes per second of a real run), and no byte is read while cameras copy', async (t) => {
  const s = station(t)
  await s.ingest(randomCamera(t, [4 * MiB, 4 * MiB, 4 * MiB]))
  const budget = 4_000_000
  const reads: { at: number; n: number }[] = []
  const t0 = performance.now()
  const r = await runFixity(fixityOf(s, {}), {
    scope: 'all',
    trigger: 'manual',
    budgetBytesPerSec: budget,
    onBytes: (n) => reads.push({ at: performance.now() - t0, n }),
  })
  const total = reads.reduce((a, b) => a + b.n, 0)
  const secs = (performance.now() - t0) / 1000
  const rate = total / secs
  // The worst one-second window: a burst of at most one read (1 MiB chunks here) over the budget.
  let worst = 0
  for (const a of reads)
    worst = Math.max(
      worst,
      reads.filter((b) => b.at >= a.at && b.at < a.at + 1000).reduce((x, b) => x + b.n, 0),
    )
  t.comment(
    `read ${total} bytes in ${secs.toFixed(2)} s: ${(rate / 1e6).toFixed(2)} MB/s against a budget of ${budget / 1e6} MB/s; worst 1-s window ${(worst / 1e6).toFixed(2)} MB`,
  )
  t.equal(r.objects, 3)
  t.equal(total, 3 * 4 * MiB, 'every byte read once')
  t.ok(rate <= budget * 1.1, 'on average within the budget')
  t.ok(rate >= budget * 0.5, 'and not needlessly slower (the budget is what limits it)')
  t.ok(worst <= budget + 1.1 * MiB, 'no second over the budget by more than one read')

  // Cameras copying for the first 1.5 s: the run waits.
  const busyUntil = performance.now() + 1500
  const during: number[] = []
  const p = await runFixity(fixityOf(s, {}), {
    scope: 'all',
    trigger: 'manual',
    budgetBytesPerSec: 0,
    busy: () => performance.now() < busyUntil,
    pausePollMs: 50,
    onBytes: (n) => {
      if (performance.now() < busyUntil) during.push(n)
    },
  })
  const readWhileBusy = during.reduce((a, b) => a + b, 0)
  t.comment(`paused ${p.pausedMs} ms; ${readWhileBusy} byte(s) read while busy`)
  t.ok(p.pausedMs >= 1000, 'the run paused while cameras copied')
  t.ok(readWhileBusy <= MiB, 'at most the one read already under way when copying started')
  t.equal(p.objects, 3, 'and finished afterwards')
})

t.test('repair in the job; a block list edited with the bytes is still caught; one run at a time; stop', async (t) => {
  const s = station(t)
  const { ingested } = await s.ingest(randomCamera(t, [2 * MiB, 2 * MiB, 2 * MiB]))
  const [a, b] = ingested
  const backup = join(tempDir(t), 'backup')
  cpSync(s.vault.objectsDir, join(backup, 'objects'), { recursive: true })
  const fx = fixityOf(s, { repairFrom: [backup], budgetMBps: 0 })
  t.equal((await runFixity(fx, { scope: 'all', trigger: 'manual' })).ok, 3, 'all good at first')

  flipByte(s.vault.objectPath(a!.sha256), 5)
  rmSync(s.vault.objectPath(b!.sha256), { force: true })
  const r = await runFixity(fx, { scope: 'all', trigger: 'manual' })
  t.match(r, { objects: 3, ok: 1, repaired: 2, failed: 0 }, 'a flipped and a missing object repaired from the backup')
  for (const x of [a!, b!]) t.equal((await digestFile(s.vault.objectPath(x.sha256))).sha256, x.sha256, 'good again')

  // An attacker who rewrites an object and its stored block list together: serving would trust the
  // list, so the job compares the whole SHA-256 with the ledger's, not just the blocks.
  const c = ingested[2]!
  flipByte(s.vault.objectPath(c.sha256), 100)
  const forged = await digestFile(s.vault.objectPath(c.sha256))
  s.db.prepare('UPDATE object_fixity SET blocks = ? WHERE sha256 = ?').run(forged.blocks, c.sha256)
  const noBackup = fixityOf(s, { budgetMBps: 0 })
  const caught = await runFixity(noBackup, { scope: 'all', trigger: 'manual' })
  t.match(caught, { failed: 1 }, 'caught')
  t.match(eventsFor(s.db, subjects.object(c.sha256)).find((e) => e.type === 'fixity-failed')?.payload, { problem: 'hash', foundSha256: forged.sha256 })

  // Two runs at once (the daemon's and a typed one): the second does nothing.
  const [one, two] = await Promise.all([
    runFixity(noBackup, { scope: 'all', trigger: 'manual', budgetBytesPerSec: 8_000_000 }),
    new Promise((res) => setTimeout(res, 100)).then(() => runFixity(noBackup, { scope: 'all', trigger: 'manual' })),
  ])
  t.notOk(one.heldBy, 'the first runs')
  t.ok(two.heldBy, `the second finds the lease held (${two.heldBy})`)

  // Stop mid-run: it ends after its current read, says so, and records what it did.
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 200)
  const stopped = await runFixity(noBackup, { scope: 'all', trigger: 'manual', budgetBytesPerSec: 2_000_000, signal: ac.signal })
  t.ok(stopped.stopped, 'stopped early')
  t.ok(stopped.remaining > 0, `${stopped.remaining} object(s) still due`)
})

t.test('fixity-checked events do not make an idle station sign checkpoints; the daemon schedule runs and stops', async (t) => {
  const s = station(t)
  await s.ingest(randomCamera(t, [300_000, 300_000]))
  const base = { dataDir: s.dataDir, stationId: 'test-station', logger: silentLogger() }
  t.ok(checkpointStation(s.db, base).checkpoint, 'a checkpoint of the ledger so far')
  const policy = { checkpointEvery: 1, checkpointMinutes: 0.0001 }
  await runFixity(fixityOf(s, { budgetMBps: 0 }), { scope: 'all', trigger: 'manual' })
  t.equal(runEvents(s).length, 1, 'the run wrote its summary')
  await new Promise((r) => setTimeout(r, 20))
  t.same(checkpointStation(s.db, { ...base, policy }), {}, 'a summary alone does not make a checkpoint due')

  const job = startFixityJob(fixityOf(s, { budgetMBps: 0 }), { firstMs: 10, everyMs: 60_000 })
  const t0 = Date.now()
  const before = lastFixityRun(s.db)
  while (lastFixityRun(s.db)?.startedAt === before?.startedAt && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50))
  await job.stop()
  t.not(lastFixityRun(s.db)?.startedAt, before?.startedAt, 'the scheduled run happened')
  t.equal(lastFixityRun(s.db)?.trigger, 'schedule')
})

t.test('CLI: fixity run --all, fixity status, doctor', async (t) => {
  const s = station(t)
  const { ingested } = await s.ingest(randomCamera(t, [1.2 * MiB, 300_000]))
  flipByte(s.vault.objectPath(ingested[0]!.sha256), 3)
  s.st.close()
  const env = { BODYVAULT_DATA_DIR: s.dataDir, BODYVAULT_LISTEN: `127.0.0.1:${await freePort()}` }
  const run = cli(['fixity', 'run', '--all', '--budget', '0', '--json'], env)
  t.equal(run.code, 1, `a failure is exit 1 ${run.stderr}`)
  const out = JSON.parse(run.stdout) as { objects: number; failed: number; state: { failed: number } }
  t.match(out, { objects: 2, failed: 1, state: { failed: 1 } })
  const status = cli(['fixity', 'status'], env)
  t.equal(status.code, 1, 'status says so with exit 1')
  t.match(status.stdout, new RegExp(`FAILED  object ${ingested[0]!.sha256}`))
  t.match(status.stdout, /WARNING: 1 object\(s\) failed their check/)
  const doctor = JSON.parse(cli(['doctor', '--json'], env).stdout) as { checks: { check: string; ok: boolean; detail: string }[] }
  t.match(
    doctor.checks.find((c) => c.check === 'fixity'),
    { ok: false, detail: /failed their check/ },
    'doctor fails the fixity check',
  )
  t.equal(cli(['fixity', 'run', '--budget', 'fast'], env).code, 2, 'a bad budget is a usage error')
  s.reopen()
})

t.test('the cached fixity state (dashboard, /metrics) shows a finding at the next read: found in this process or in another', async (t) => {
  const s = station(t)
  const { ingested } = await s.ingest(randomCamera(t, [300_000, 300_000, 300_000]))
  // The station's cache as the daemon builds it (60 s), its clock stopped: only a recorded result may refresh it.
  const at = new Date()
  const state = fixityStateCache(s.db, s.st.cfg.fixity, 60_000, () => at)
  t.match(state(), { objects: 3, failed: 0 }, 'the first read')
  t.equal(s.st.fixityState().failed, 0, "the station's own (what the daemon's dashboard and /metrics read): nothing bad yet")
  await s.ingest(randomCamera(t, [200_000]))
  t.match(state(), { objects: 3 }, 'an ingest is no fixity result: the cached counts stand for their minute')

  flipByte(s.vault.objectPath(ingested[0]!.sha256), 3)
  await runFixity(s.st.fixity, { scope: 'all', trigger: 'manual', budgetBytesPerSec: 0 })
  t.match(state(), { objects: 4, failed: 1 }, 'a run in this process finds a bad object: the next read shows it')
  t.equal(s.st.fixityState().failed, 1, "the station's own, read again well within its minute, shows it too")

  // The CLI's run beside the station, as beside a daemon that holds the catalog open: another process, another connection.
  flipByte(s.vault.objectPath(ingested[1]!.sha256), 3)
  const env = { BODYVAULT_DATA_DIR: s.dataDir, BODYVAULT_LISTEN: `127.0.0.1:${await freePort()}` }
  const run = cli(['fixity', 'run', '--all', '--budget', '0', '--json'], env)
  t.equal(run.code, 1, `the CLI's run finds it (exit 1)${run.code === 1 ? '' : `: ${run.stderr}`}`)
  t.match(state(), { failed: 2 }, 'found by another process: the next read shows it too')
})
