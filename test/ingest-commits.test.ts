/**
 * Stage B's queue (src/ingest/pipeline.ts COMMITS_AHEAD): while a large
 * file is fsynced and recorded, the files after it are copied and read back
 * and wait, staged, for their turn. The threats: a staged file recorded out
 * of the camera's order, or recorded after the session said it was done; a
 * failure of a later file leaving an earlier one half-recorded; a stop that
 * leaves a staged copy neither recorded nor reported; a file rewritten on the
 * camera while an earlier one is being committed, stored as the old version.
 * Each camera here starts with a large file followed by small ones, so the
 * small ones are staged while the large one's fsync runs.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { allRecordings } from '../src/catalog/recordings.js'
import { storedEventsOfType } from '../src/ledger/ledger.js'
import { verifyVault } from '../src/verify/vault.js'
import { sha256sum, station, type TestStation, tempDir } from './helpers.js'

const name = (i: number): string => `A1B2C3D_012345_202611200800${String(i).padStart(2, '0')}_${String(i).padStart(4, '0')}.MP4`

/** A camera in `dir`: file 1 of `bigMiB` MiB, then `small` files of 64 KiB, each of its own bytes; its root and the files' paths. */
function camera(dir: string, bigMiB: number, small: number): { cam: string; names: string[] } {
  const cam = join(dir, 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  const names: string[] = []
  for (let i = 1; i <= 1 + small; i++) {
    const size = i === 1 ? bigMiB << 20 : 64 << 10
    const buf = Buffer.alloc(size)
    for (let j = 0; j < size; j += 4096) buf.writeUInt32LE((i * 7919 + j) >>> 0, j)
    writeFileSync(join(cam, 'DCIM', name(i)), buf)
    names.push(`DCIM/${name(i)}`)
  }
  return { cam, names }
}

/** The source paths of the `ingested` events, in the ledger's order. */
function ingestedEvents(s: TestStation): string[] {
  return [...storedEventsOfType(s.db, ['ingested'])].map((e) => (JSON.parse(e.payload) as { sourcePath: string }).sourcePath)
}

const rows = (s: TestStation): string[] => [...allRecordings(s.db)].map((r) => r.sourcePath).sort()

/** What the report says is stored is exactly what the catalog and the vault hold, now and a moment later (nothing still committing). */
async function settledAsReported(t: Test, s: TestStation, ingested: string[]): Promise<void> {
  const want = [...ingested].sort()
  t.same(rows(s), want, 'the catalog holds exactly the files the report says are ingested')
  await sleep(300)
  t.same(rows(s), want, 'and nothing more is recorded after the session returned')
  t.same([...ingestedEvents(s)].sort(), want, 'one ingested event per recording')
  t.same(readdirSync(s.vault.stagingDir), [], 'no staged copy is left behind')
  t.ok((await verifyVault(s.db, s.vault)).ok, 'the vault verifies')
}

t.test('staged files are recorded in the listing order, every one before the session ends', async (t) => {
  const { cam, names } = camera(tempDir(t), 24, 6)
  const s = station(t)
  let listed: string[] = []
  const r = await s.ingest(cam, { onListing: (l) => (listed = l.files.map((f) => f.sourcePath)) })
  t.equal(r.state, 'complete')
  t.same([...listed].sort(), names, 'the listing has every file')
  t.same(ingestedEvents(s), listed, 'the ingested events come in the listing order')
  t.same(
    r.ingested.map((f) => f.sourcePath),
    listed,
    'and the report lists them in that order',
  )
  for (const f of r.ingested) t.equal(f.sha256, sha256sum(join(cam, f.sourcePath)), `${f.sourcePath}: stored as the camera holds it`)
  await settledAsReported(t, s, names)
})

t.test('a later file failing its read-back leaves the earlier ones recorded whole and the later ones recorded in order', async (t) => {
  const { cam, names } = camera(tempDir(t), 24, 6)
  const bad = names[2]!
  const s = station(t)
  // The third file's staged copy gets a byte changed between its write and its read-back, while the first may still be committing.
  const r = await s.ingest(cam, {
    afterStagedWrite: (sourcePath, path) => {
      if (sourcePath !== bad) return
      const fd = openSync(path, 'r+')
      writeSync(fd, Buffer.from([0xee]), 0, 1, 100)
      closeSync(fd)
    },
  })
  t.equal(r.state, 'incomplete')
  t.same(
    r.failed.map((f) => f.sourcePath),
    [bad],
    'only the changed copy failed',
  )
  t.match(r.failed[0]!.error, /read-back verification failed/)
  const good = names.filter((n) => n !== bad)
  t.same(ingestedEvents(s), good, 'every other file is recorded, in the camera order')
  await settledAsReported(t, s, good)
})

t.test('a stop while staged files wait for their commit: each is recorded or reported failed, never left between', async (t) => {
  const { cam, names } = camera(tempDir(t), 24, 6)
  const s = station(t)
  const ac = new AbortController()
  // Stopped while the fifth file is copied: the ones before it are staged or being committed.
  const r = await s.ingest(cam, {
    signal: ac.signal,
    afterStagedWrite: (sourcePath) => {
      if (sourcePath === names[4]) ac.abort()
    },
  })
  t.equal(r.state, 'incomplete')
  const ingested = r.ingested.map((f) => f.sourcePath)
  t.same(ingested, names.slice(0, ingested.length), 'what was recorded is the first files, in order')
  t.ok(ingested.length >= 1 && ingested.length <= 4, `the files staged before the stop are recorded (${ingested.length})`)
  t.same(r.failed.map((f) => f.sourcePath).sort(), names.slice(ingested.length), 'every other file is reported failed')
  for (const f of r.failed) t.match(f.error, /ingest was stopped/)
  await settledAsReported(t, s, ingested)
})

t.test('a file rewritten on the camera while the file before it is committed is stored as it ends up, not as it was', async (t) => {
  const { cam, names } = camera(tempDir(t), 24, 3)
  const target = names[1]!
  let rewritten = 0
  const s = station(t)
  const r = await s.ingest(cam, {
    afterStagedWrite: (sourcePath) => {
      // Once, as its first range is written (the large file before it is being fsynced and recorded meanwhile).
      if (sourcePath !== target || rewritten++ > 0) return
      appendFileSync(join(cam, target), Buffer.alloc(4096, 9))
    },
  })
  t.equal(rewritten > 0, true, 'the file was rewritten during its copy')
  t.equal(r.state, 'complete')
  t.same(
    r.retried.map((x) => x.sourcePath),
    [target],
    'its read during the change was thrown away and done again',
  )
  t.equal(r.ingested.find((f) => f.sourcePath === target)?.sha256, sha256sum(join(cam, target)), 'the vault holds the file as it ended up')
  t.same(ingestedEvents(s), names, 'all recorded, in the camera order')
  await settledAsReported(t, s, names)
})
