import { chmodSync, closeSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { verifyVault } from '../src/verify/vault.js'
import { station, tempDir, type TestStation } from './helpers.js'

/** A station with three recordings (one shares nothing), ready to be tampered with. */
async function setup(t: Test): Promise<{ s: TestStation; ids: { id: number; sha256: string }[] }> {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (let i = 1; i <= 3; i++) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_2026112008000${i}_000${i}.MP4`), Buffer.alloc(300_000 + i, i))
  const s = station(t)
  const r = await s.ingest(cam)
  const v = await verifyVault(s.db, s.vault)
  t.ok(v.ok, 'clean before tampering')
  return { s, ids: r.ingested }
}

/** Edits the catalog like an attacker with the file: a raw connection, triggers dropped and recreated. */
function raw(s: TestStation, sql: string): void {
  s.db.close()
  const db = new Database(join(s.dataDir, 'catalog.db'))
  db.pragma('foreign_keys = OFF')
  const triggers = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN ('events_no_update', 'events_no_delete')").all() as {
    sql: string
  }[]
  db.exec('DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;')
  db.exec(sql)
  for (const tr of triggers) db.exec(tr.sql)
  db.close()
  s.reopen()
}

async function problems(s: TestStation): Promise<string[]> {
  const v = await verifyVault(s.db, s.vault)
  return v.problems.map((p) => `${p.kind} ${p.subject} ${p.detail}`)
}

t.test('a flipped byte in an object', async (t) => {
  const { s, ids } = await setup(t)
  const obj = s.vault.objectPath(ids[1]!.sha256)
  chmodSync(obj, 0o644)
  const fd = openSync(obj, 'r+')
  const b = Buffer.alloc(1)
  readSync(fd, b, 0, 1, 1234)
  writeSync(fd, Buffer.from([b[0]! ^ 0x01]), 0, 1, 1234)
  closeSync(fd)
  const p = await problems(s)
  t.equal(p.length, 1)
  t.match(p[0], new RegExp(`^object-corrupt object:${ids[1]!.sha256} .*altered; used by recording:${ids[1]!.id}`))
})

t.test('a missing object', async (t) => {
  const { s, ids } = await setup(t)
  unlinkSync(s.vault.objectPath(ids[0]!.sha256))
  const p = await problems(s)
  t.equal(p.length, 1)
  t.match(p[0], /^object-missing .*missing from the vault; used by recording:1/)
})

t.test('an object swapped for another one under the same name', async (t) => {
  const { s, ids } = await setup(t)
  const a = s.vault.objectPath(ids[0]!.sha256)
  unlinkSync(a)
  renameSync(s.vault.objectPath(ids[2]!.sha256), a)
  const p = await problems(s)
  t.ok(p.some((x) => /^object-corrupt object:/.test(x)))
  t.ok(p.some((x) => /^object-missing object:/.test(x)))
})

t.test('a catalog row edited (officer id)', async (t) => {
  const { s } = await setup(t)
  raw(s, "UPDATE recordings SET officer_id = '999999' WHERE id = 2")
  const p = await problems(s)
  t.equal(p.length, 1)
  t.match(p[0], /^catalog-mismatch recording:2 officerId is "999999" in the catalog but "012345" in ledger event 3/)
})

t.test('a catalog row deleted, and a row added without an event', async (t) => {
  const { s } = await setup(t)
  raw(
    s,
    "DELETE FROM recordings WHERE id = 3; INSERT INTO recordings (id, sha256, size, kind, source_path, station_id, recorded_at, recorded_offset, recorded_source, important, profile_id, ingested_at, event_seq) SELECT 9, sha256, size, kind, 'x.MP4', station_id, recorded_at, recorded_offset, recorded_source, 0, profile_id, ingested_at, 4 FROM recordings WHERE id = 1",
  )
  const p = await problems(s)
  t.ok(
    p.some((x) => /^catalog-missing recording:3 /.test(x)),
    'the deleted row',
  )
  t.ok(
    p.some((x) => /^catalog-extra recording:9 /.test(x)),
    'the forged row',
  )
})

t.test('a ledger event edited, even with its own hash recomputed', async (t) => {
  const { s } = await setup(t)
  // Event 1 is the vault's own (vault-created): the recordings' ingested events are 2, 3 and 4.
  raw(s, `UPDATE events SET payload = replace(payload, '"officerId":"012345"', '"officerId":"999999"') WHERE seq = 2`)
  let p = await problems(s)
  t.ok(
    p.some((x) => /^ledger event:2 hash does not match its content/.test(x)),
    'edit caught by the chain',
  )
  t.ok(
    p.some((x) => /^catalog-mismatch recording:1 officerId/.test(x)),
    'and by the catalog cross-check',
  )
  // An attacker who also recomputes that event's hash breaks the next link.
  const { chainHash } = await import('../src/ledger/canonical.js')
  const row = s.db.prepare('SELECT * FROM events WHERE seq = 2').get() as {
    seq: number
    type: string
    at: string
    actor: string
    subject: string
    payload: string
    prev_hash: string
  }
  const h = chainHash(row.prev_hash, { ...row, payload: JSON.parse(row.payload) as Record<string, unknown> })
  raw(s, `UPDATE events SET hash = '${h}' WHERE seq = 2`)
  p = await problems(s)
  t.ok(
    p.some((x) => /^ledger event:3 prev_hash .* does not link/.test(x)),
    'the next event no longer links',
  )
})

t.test('a ledger event deleted', async (t) => {
  const { s } = await setup(t)
  raw(s, 'DELETE FROM events WHERE seq = 3')
  const p = await problems(s)
  t.ok(p.some((x) => /^ledger event:4 events 3\.\.3 are missing/.test(x)))
  t.ok(
    p.some((x) => /^catalog-extra recording:2 /.test(x)),
    'its recording has lost its event',
  )
})

t.test('ledger events reordered', async (t) => {
  const { s } = await setup(t)
  raw(s, 'UPDATE events SET seq = -1 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = -1;')
  const p = await problems(s)
  t.ok(p.some((x) => /^ledger event:2 /.test(x)))
  t.ok(p.some((x) => /^ledger event:3 /.test(x)))
  // Another first event is another vault: the station refuses to open it at all.
  t.throws(() => raw(s, 'UPDATE events SET seq = -1 WHERE seq = 1; UPDATE events SET seq = 1 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = -1;'), {
    code: 'CATALOG_SUBSTITUTED',
  })
})

t.test('an unreferenced complete object is a note, not a problem', async (t) => {
  const { s } = await setup(t)
  const sha = 'ab'.repeat(32)
  mkdirSync(join(s.vault.objectsDir, 'ab'), { recursive: true })
  writeFileSync(s.vault.objectPath(sha), 'orphan')
  const v = await verifyVault(s.db, s.vault)
  t.ok(v.ok)
  t.match(v.notes.join('\n'), sha)
})

t.test('verify --quick: ledger, catalog and objects looked at, no re-hash', async (t) => {
  const { s, ids } = await setup(t)
  const quick = async (): Promise<string[]> => (await verifyVault(s.db, s.vault, { quick: true })).problems.map((p) => `${p.kind} ${p.subject} ${p.detail}`)
  // A flipped byte keeps the size: only the full run, which re-hashes, can see it.
  const obj = s.vault.objectPath(ids[1]!.sha256)
  chmodSync(obj, 0o644)
  const fd = openSync(obj, 'r+')
  writeSync(fd, Buffer.from([0xff]), 0, 1, 10)
  closeSync(fd)
  t.strictSame(await quick(), [], 'quick does not re-hash')
  t.match((await problems(s)).join('\n'), /object-corrupt .*altered/, 'the full run does')
  // What quick does see: a missing object, a short one, an edited event and an edited row.
  unlinkSync(s.vault.objectPath(ids[0]!.sha256))
  writeFileSync(s.vault.objectPath(ids[2]!.sha256), Buffer.alloc(10))
  raw(s, `UPDATE events SET payload = replace(payload, '"officerId":"012345"', '"officerId":"999999"') WHERE seq = 3`)
  const p = (await quick()).join('\n')
  t.match(p, /object-missing object:.* missing from the vault/)
  t.match(p, /object-corrupt object:.* size 10 differs from the recorded/)
  t.match(p, /ledger event:3 hash does not match its content/)
  t.match(p, /catalog-mismatch recording:2 officerId/)
  const v = await verifyVault(s.db, s.vault, { quick: true })
  t.match(v.notes.join('\n'), /not re-hashed/, 'the report says what quick left out')
})

t.test('the parallel hash audit stops where the snapshot stopped', async (t) => {
  const { s } = await setup(t)
  const { auditLedger } = await import('../src/ledger/audit.js')
  const rows = s.db.prepare('SELECT seq, hash FROM events ORDER BY seq').all() as { seq: number; hash: string }[]
  const mid = rows[rows.length - 2]!
  // Events appended after a snapshot are not the audit's: it ends on the snapshot's last event, in workers as in one thread.
  for (const workers of [1, 2]) {
    const a = await auditLedger(s.db, { throughSeq: mid.seq, workers, minRows: 1 })
    t.strictSame([a.events, a.lastSeq, a.lastHash, a.problems], [rows.length - 1, mid.seq, mid.hash, []], `${workers} worker(s)`)
  }
})

t.test("verify with the hash audit in workers: a tampered catalog row whose events lie in any worker's block is found, as in one thread", async (t) => {
  const { s, ids } = await setup(t)
  const { retentionPolicy } = await import('../src/retention/config.js')
  const { setCategory, setImportant } = await import('../src/retention/actions.js')
  const { defaultConfig } = await import('./helpers.js')
  const ctx = { db: s.db, policy: retentionPolicy(defaultConfig()), actor: 'user:clerk', now: new Date() }
  // Changes late in the chain to recordings made early: they fall in a later worker's block than the ingest.
  setCategory(ctx, ids[0]!.id, 'patrol', 'routine patrol')
  setImportant(ctx, ids[0]!.id, true, 'a complaint came in')
  setCategory(ctx, ids[0]!.id, 'evidence', 'the complaint is formal')
  setCategory(ctx, ids[2]!.id, 'inspection', 'site inspection')
  const events = s.db.prepare('SELECT count(*) FROM events').pluck().get() as number
  const folded = async (workers: number): Promise<string[]> =>
    (await verifyVault(s.db, s.vault, { quick: true, ledger: { workers, minRows: 1 } })).problems.map((p) => `${p.kind} ${p.subject} ${p.detail}`)
  for (const w of [1, 2, 4]) t.same(await folded(w), [], `clean with ${w} worker(s) over ${events} events`)
  // The catalog as it was before the later changes (category and importance), and the last recording's category edited.
  raw(
    s,
    `UPDATE recordings SET category = 'patrol', important = 0 WHERE id = ${ids[0]!.id}; UPDATE recordings SET category = 'hearing' WHERE id = ${ids[2]!.id}`,
  )
  const want = [
    `catalog-mismatch recording:${ids[0]!.id} important is false in the catalog but true in ledger event`,
    `catalog-mismatch recording:${ids[0]!.id} category is "patrol" in the catalog but "evidence" in ledger event`,
    `catalog-mismatch recording:${ids[2]!.id} category is "hearing" in the catalog but "inspection" in ledger event`,
  ]
  const one = await folded(1)
  for (const w of [2, 4]) {
    const p = await folded(w)
    t.same(p, one, `${w} workers find what one thread finds: ${p.join('; ')}`)
  }
  for (const w of want)
    t.ok(
      one.some((p) => p.startsWith(w)),
      w,
    )
})
