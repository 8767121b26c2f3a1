// The station-wide budget of ingest buffers (src/ingest/buffers.ts): what
// would make it false? More slots in use than the budget while many cameras
// copy at once; a file left waiting for a slot forever (starved, or two
// files each waiting on the other); a file given one slot whose chunk is
// read into again before it was hashed, written and compared; a read-back
// that no longer catches a flipped byte when slots are few; a slot reused
// while a read the kernel may still finish could write into it.
import { closeSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { budgetSlots, type BufferSnapshot, grantSize, IngestBuffers, slotBytes, slotsWanted } from '../src/ingest/buffers.js'
import { ingestCamera, type IngestReport } from '../src/ingest/session.js'
import { openStation, type Station } from '../src/station/station.js'
import { silentLogger } from '../src/common/log.js'
import { verifyVault } from '../src/verify/vault.js'
import { GAT947, sha256sum, tempDir, testConfig } from './helpers.js'

const CHUNK = 1 << 20

t.test('the grant: a fair share of the budget, at least one slot, never more than is free', async (t) => {
  // [want, free, budget, files (holding or waiting, the asker included)] -> slots granted
  const cases: [number, number, number, number, number, string][] = [
    [4, 19, 19, 1, 4, 'one camera alone keeps its four slots'],
    [4, 19, 19, 8, 2, 'eight files on the default budget: two each'],
    [4, 1, 19, 8, 1, 'only one free: one'],
    [4, 0, 19, 8, 0, 'none free: wait'],
    [4, 3, 3, 9, 1, 'more files than slots: one each, never none'],
    [1, 19, 19, 1, 1, 'a one-chunk file wants one'],
    [4, 2, 19, 2, 2, 'a share above what is free: what is free'],
  ]
  for (const [want, free, slots, files, got, why] of cases) t.equal(grantSize(want, free, slots, files), got, why)
  t.equal(slotsWanted(0, CHUNK), 1, 'an empty file: one slot')
  t.equal(slotsWanted(CHUNK, CHUNK), 1, 'one chunk: one slot')
  t.equal(slotsWanted(CHUNK + 1, CHUNK), 2, 'two chunks: two')
  t.equal(slotsWanted(100 * CHUNK, CHUNK), 4, 'a long file: four, no more')
  t.equal(budgetSlots(96 << 20, 4 << 20), 19, 'the default 96 MiB at 4 MiB chunks: 19 slots (4 for one camera, 2 each for 8 files)')
  t.equal(budgetSlots(1, 4 << 20), 1, 'a budget below one slot still copies, one slot at a time')
})

/** A camera folder of GAT947 names holding files that differ per camera (no two objects alike). */
function camera(dir: string, n: number, sizes: number[]): string {
  const root = join(dir, `cam${n}`)
  mkdirSync(join(root, 'DCIM'), { recursive: true })
  sizes.forEach((size, i) => {
    const b = Buffer.allocUnsafe(size + 4)
    for (let at = 0; at < size; at += 4) b.writeUInt32LE((at * 2654435761 + n * 97 + i) >>> 0, at)
    writeFileSync(join(root, 'DCIM', `A1B2C3${n}_012345_2026112008${String(i).padStart(2, '0')}00_000${i}.MP4`), b.subarray(0, size))
  })
  return root
}

/** A station whose budget is `slots` slots of the config's chunk, every change of it checked against the budget. */
function stationWith(t: Test, slots: number): { st: Station; seen: BufferSnapshot[]; over: BufferSnapshot[] } {
  const cfg = testConfig(tempDir(t, 'bv-data-'))
  const config = { ...cfg, ingest: { ...cfg.ingest, bufferBytes: slots * slotBytes(cfg.ingest.chunkBytes) } }
  const st = openStation({ config, logger: silentLogger() })
  t.teardown(() => st.close())
  const seen: BufferSnapshot[] = []
  const over: BufferSnapshot[] = []
  st.ingestContext.buffers!.observe((s) => {
    seen.push(s)
    if (s.inUse > s.slots) over.push(s)
  })
  return { st, seen, over }
}

/** Ingests every camera at once (as the dock does), failing the test instead of hanging when a file never gets a slot. */
async function allAtOnce(st: Station, roots: string[], extra: { afterStagedWrite?: (src: string, path: string, pos: number, n: number) => void } = {}) {
  const settings = { ...st.ingestContext.settings, chunkBytes: CHUNK }
  const runs = Promise.all(roots.map((root) => ingestCamera({ ...st.ingestContext, settings }, { root, profile: GAT947, ...extra })))
  let timer: NodeJS.Timeout | undefined
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('deadlock or starvation: the cameras did not finish in 120 s')), 120_000)
  })
  try {
    return await Promise.race([runs, stuck])
  } finally {
    clearTimeout(timer)
  }
}

const SIZES = [(5 << 20) + 123, (2 << 20) + 4095, 700_001, 8192]

t.test('six cameras at once on a budget of three slots: never more in use, nobody starved, every byte right', async (t) => {
  const dir = tempDir(t)
  const roots = Array.from({ length: 6 }, (_, n) => camera(dir, n, SIZES))
  const { st, seen, over } = stationWith(t, 3)
  const reports: IngestReport[] = await allAtOnce(st, roots)
  t.same(over, [], 'no moment with more slots in use than the budget')
  const most = Math.max(...seen.map((s) => s.inUse))
  const waited = Math.max(...seen.map((s) => s.waiting))
  t.comment(`${seen.length} grants and releases; at most ${most} slots in use, ${waited} files waiting at once`)
  t.equal(most, 3, 'the whole budget was used')
  t.ok(waited >= 1, 'files did wait for slots (the contention this test is about happened)')
  const snap = st.ingestContext.buffers!.snapshot()
  t.equal(snap.inUse, 0, 'every slot was given back')
  t.equal(snap.waiting, 0, 'nobody is left waiting')
  // Seen once in a clean-clone run: 4 made. Apart, so that a failure says whether a read was left behind (its slot retired
  // and replaced, which no file of a complete ingest should cause) or a free slot was not reused.
  t.equal(snap.retired, 0, 'no camera read was left behind (no slot retired)')
  t.ok(snap.made <= 3 + snap.retired, `slots are reused, not made per file (${snap.made} made for ${6 * SIZES.length} files, ${snap.retired} retired)`)
  for (const [n, r] of reports.entries()) {
    t.equal(r.state, 'complete', `camera ${n}: complete`)
    t.equal(r.ingested.length, SIZES.length, `camera ${n}: every file ingested`)
    for (const f of r.ingested) t.equal(f.sha256, sha256sum(join(roots[n]!, f.sourcePath)), `camera ${n} ${f.sourcePath}: the camera's SHA-256`)
  }
  t.ok((await verifyVault(st.db, st.vault)).ok, 'every object hashes to its name')
  // Docked again: every file is only hashed (present), through the same budget.
  seen.length = 0
  const again = await allAtOnce(st, roots)
  t.same(over, [], 're-docked: never more slots in use than the budget')
  for (const r of again) t.equal(r.present.length, SIZES.length, 're-docked: every file present')
})

t.test('one slot for the whole station: each chunk hashed, written and compared before it is read into again', async (t) => {
  const dir = tempDir(t)
  const roots = Array.from({ length: 3 }, (_, n) => camera(dir, n, SIZES))
  const { st, over } = stationWith(t, 1)
  // One byte of camera 1's largest file (its name carries the camera's device id) flipped in its staged copy after its third chunk's write: the read-back must refuse it.
  const bad = join('DCIM', readdirSync(join(roots[1]!, 'DCIM')).sort()[0]!)
  let flips = 0
  const afterStagedWrite = (src: string, path: string, pos: number, n: number): void => {
    if (!src.endsWith(bad) || pos !== 2 * CHUNK) return
    flips++
    const fd = openSync(path, 'r+')
    writeSync(fd, Buffer.from([0xee]), 0, 1, pos + Math.min(5000, n - 1))
    closeSync(fd)
  }
  const reports = await allAtOnce(st, roots, { afterStagedWrite })
  t.same(over, [], 'never more than the one slot in use')
  t.equal(flips, 1, 'the byte was flipped once')
  t.equal(reports[1]!.state, 'incomplete', 'the camera with the flipped byte is incomplete')
  t.same(
    reports[1]!.failed.map((f) => f.sourcePath),
    [bad],
    'exactly the changed file failed',
  )
  t.match(reports[1]!.failed[0]?.error, /read-back verification failed: the staged copy differs at byte \d+/, 'as a read-back mismatch')
  for (const [n, r] of reports.entries()) {
    for (const f of r.ingested) t.equal(f.sha256, sha256sum(join(roots[n]!, f.sourcePath)), `camera ${n} ${f.sourcePath}: the camera's SHA-256`)
  }
  t.equal(reports[0]!.ingested.length + reports[2]!.ingested.length + reports[1]!.ingested.length, 3 * SIZES.length - 1, 'every other file ingested')
  t.ok((await verifyVault(st.db, st.vault)).ok, 'the vault verifies')
})

t.test('one camera alone keeps its four slots on the default budget', async (t) => {
  const cfg = testConfig(tempDir(t, 'bv-data-'))
  const st = openStation({ config: cfg, logger: silentLogger() })
  t.teardown(() => st.close())
  const budget = st.ingestContext.buffers!
  t.equal(budget.slots, budgetSlots(cfg.ingest.bufferBytes, cfg.ingest.chunkBytes), 'the station built the budget from ingest.bufferBytes')
  let most = 0
  budget.observe((s) => {
    most = Math.max(most, s.inUse)
  })
  const r = await ingestCamera(st.ingestContext, { root: camera(tempDir(t), 0, [(17 << 20) + 5]), profile: GAT947 })
  t.equal(r.state, 'complete')
  t.equal(most, 4, 'four slots for its long file')
})

t.test('eight cameras docked together on the default budget: each file its share from the first, none waits for another to end', async (t) => {
  // The threat: the first cameras to list their files take four slots each and the last ones' first files wait until a
  // whole file has ended (seen as 3 of 8 throttled cameras finishing 0.7-1.5 s late in every bench run).
  const dir = tempDir(t)
  const roots = Array.from({ length: 8 }, (_, n) => camera(dir, n, [(12 << 20) + 7 * n, 3 << 20]))
  const { st, seen, over } = stationWith(t, 19)
  const reports = await allAtOnce(st, roots)
  t.same(over, [], 'never more slots in use than the budget')
  const most = Math.max(...seen.map((s) => s.inUse))
  const waited = Math.max(...seen.map((s) => s.waiting))
  t.comment(`${seen.length} grants and releases; at most ${most} slots in use, ${waited} files waiting at once`)
  t.equal(waited, 0, 'no file waited for a slot: eight shares of two fit in nineteen')
  t.ok(most <= 16, `no file held more than its share of two (${most} slots in use at most)`)
  t.ok(
    seen.every((s) => s.readers <= 8),
    'the sessions counted: the eight cameras',
  )
  t.equal(st.ingestContext.buffers!.snapshot().readers, 0, 'and none once they ended')
  for (const [n, r] of reports.entries()) t.equal(r.ingested.length, 2, `camera ${n}: both files ingested`)
})

t.test('a retired slot is never handed out again; an aborted waiter leaves the queue', async (t) => {
  const pool = new IngestBuffers(2)
  const a = await pool.acquire(2, CHUNK)
  t.equal(a.slots.length, 2)
  const left = a.slots[0]!.raw
  const ac = new AbortController()
  const waiting = pool.acquire(1, CHUNK, ac.signal)
  ac.abort(new Error('camera gone'))
  await t.rejects(waiting, /camera gone/, 'the aborted waiter is refused')
  t.equal(pool.snapshot().waiting, 0, 'and is no longer queued')
  a.retire(0)
  a.release()
  const b = await pool.acquire(2, CHUNK)
  t.equal(b.slots.length, 2, 'the next file gets both slots of the budget')
  t.notOk(
    b.slots.some((s) => s.raw === left),
    'the retired buffer is not among them',
  )
  t.same(
    { inUse: pool.snapshot().inUse, retired: pool.snapshot().retired, made: pool.snapshot().made },
    { inUse: 2, retired: 1, made: 3 },
    'a new slot took its place in the budget',
  )
  b.release()
  b.release()
  t.equal(pool.snapshot().inUse, 0, 'a second release gives nothing back twice')
})
