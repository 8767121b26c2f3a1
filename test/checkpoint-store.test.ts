import { chmodSync, mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { chainHash, GENESIS_HASH } from '../src/ledger/canonical.js'
import { latestCheckpoint, listCheckpoints } from '../src/catalog/checkpoints.js'
import { checkCheckpoints, checkpointDue, checkStationCheckpoints, maybeCheckpoint, signCheckpoint, writeCheckpoint } from '../src/ledger/checkpoint.js'
import { loadOrCreateStationKey, readStationPublicKey, stationKeyPath } from '../src/ledger/keys.js'
import { appendForeignEvent } from './ledger-support.js'
import { verifyConsistency } from '../src/ledger/merkle-proofs.js'
import { findValidSignature, parseCheckpointBody, parseSignedNote } from '../src/ledger/note.js'
import { LedgerTree } from '../src/ledger/tree.js'
import { appendEvent, countEvents, eventAt, eventsAfter, restoreEvents } from '../src/ledger/ledger.js'
import { actors, subjects } from '../src/ledger/events.js'
import { startCheckpoints } from '../src/station/daemon.js'
import { verifyVault } from '../src/verify/vault.js'
import { cli, station, tempDir, type TestStation, spawnCli } from './helpers.js'

function events(s: TestStation, n: number, tag = 'x'): void {
  for (let i = 0; i < n; i++) appendForeignEvent(s.db, { type: 'test', actor: 'station:test-station', subject: `thing:${tag}${i}`, payload: { i, tag } })
}

async function withRecordings(t: Test): Promise<TestStation> {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (let i = 1; i <= 3; i++) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_2026112008000${i}_000${i}.MP4`), Buffer.alloc(200_000 + i, i))
  const s = station(t)
  await s.ingest(cam)
  return s
}

/** Rewrites the catalog as an attacker with the file would: raw connection, triggers dropped and put back. */
function raw(s: TestStation, fn: (db: Database.Database) => void): void {
  s.db.close()
  const db = new Database(join(s.dataDir, 'catalog.db'))
  db.pragma('foreign_keys = OFF')
  const triggers = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('events', 'checkpoints')").all() as { sql: string }[]
  for (const n of ['events_no_update', 'events_no_delete', 'checkpoints_no_update', 'checkpoints_no_delete']) db.exec(`DROP TRIGGER IF EXISTS ${n}`)
  fn(db)
  for (const tr of triggers) db.exec(tr.sql)
  db.close()
  s.reopen()
}

t.test('the station key: made once, mode 0600, same key on every load, refused when others can read it', async (t) => {
  const dir = tempDir(t)
  const a = loadOrCreateStationKey(dir, 'station-01')
  t.equal(statSync(stationKeyPath(dir)).mode & 0o777, 0o600)
  t.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700)
  const b = loadOrCreateStationKey(dir, 'station-01')
  t.ok(a.publicKey.equals(b.publicKey), 'loaded, not made again')
  t.equal(a.name, 'bodyvault/station-01')
  t.match(a.vkey, /^bodyvault\/station-01\+[0-9a-f]{8}\+AQ?[A-Za-z0-9+/]+=*$/)
  t.ok(readStationPublicKey(dir)?.equals(a.publicKey))
  t.equal(readStationPublicKey(tempDir(t)), undefined, 'no key file: undefined, nothing made')
  t.notMatch(JSON.stringify(a), /PRIVATE/, 'the private key is not in the object')
  chmodSync(stationKeyPath(dir), 0o644)
  t.throws(() => loadOrCreateStationKey(dir, 'station-01'), { code: 'KEY_PERMISSIONS', message: /chmod 600/ })
  chmodSync(stationKeyPath(dir), 0o600)

  // Four processes starting at once end up with one key. (The catalog is made
  // first: this is about the key file, not about migrating a new catalog.)
  const data = tempDir(t)
  station(t, data).db.close()
  const runs = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<string>((resolve) => {
          const p = spawnCli(['key', 'show', '--json'], { BODYVAULT_DATA_DIR: data, BODYVAULT_LOG_LEVEL: 'warn' })
          let out = ''
          p.stdout!.on('data', (d: Buffer) => (out += d.toString()))
          p.stderr!.on('data', (d: Buffer) => t.comment(d.toString()))
          p.on('close', () => resolve(out))
        }),
    ),
  )
  const keys = new Set(runs.map((o) => (JSON.parse(o) as { publicKeyHex: string }).publicKeyHex))
  t.equal(keys.size, 1, 'concurrent first starts agree on the key')
})

t.test('writeCheckpoint, maybeCheckpoint and the policy', async (t) => {
  const s = station(t) // event 1: vault-created
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  t.equal(latestCheckpoint(s.db), undefined)
  events(s, 5)
  const a = writeCheckpoint(s.db, key)
  t.ok(a.created)
  t.equal(a.checkpoint.treeSize, 6)
  t.equal(a.checkpoint.rootHash, LedgerTree.for(s.db).rootAt(6).toString('hex'))
  const again = writeCheckpoint(s.db, key)
  t.notOk(again.created, 'nothing new: the latest is returned')
  t.equal(again.checkpoint.id, a.checkpoint.id)
  const note = parseSignedNote(a.checkpoint.note)
  t.ok(findValidSignature(note, key.publicKey, key.name))
  t.same(parseCheckpointBody(note.text).treeSize, 6)
  t.throws(() => s.db.prepare('UPDATE checkpoints SET tree_size = 4').run(), /append-only/)
  t.throws(() => s.db.prepare('DELETE FROM checkpoints').run(), /append-only/)

  // Each checkpoint is also an event (7: the checkpoint of 6), which does not count as growth.
  t.match(eventAt(s.db, 7), { type: 'checkpoint', subject: `checkpoint:${a.checkpoint.id}`, payload: { treeSize: 6, note: a.checkpoint.note } })
  const policy = { checkpointEvery: 10, checkpointMinutes: 5 }
  const t0 = new Date(Date.parse(a.checkpoint.createdAt))
  t.equal(maybeCheckpoint(s.db, key, policy, { now: new Date(t0.getTime() + 3_600_000) }), undefined, 'only its own checkpoint event since: never due')
  events(s, 3)
  t.equal(maybeCheckpoint(s.db, key, policy, { now: new Date(t0.getTime() + 60_000) }), undefined, '3 events, 1 minute: not due')
  const due = maybeCheckpoint(s.db, key, policy, { now: new Date(t0.getTime() + 5 * 60_000) })
  t.equal(due?.treeSize, 10, '5 minutes and the ledger grew: due')
  events(s, 9)
  t.equal(maybeCheckpoint(s.db, key, policy, { now: new Date(Date.parse(due!.createdAt)) }), undefined, '9 events and the checkpoint event: not 10')
  events(s, 1)
  t.equal(maybeCheckpoint(s.db, key, policy, { now: new Date(Date.parse(due!.createdAt)) })?.treeSize, 21, '10 events: due at once')
  t.equal(maybeCheckpoint(s.db, key, policy, { now: new Date(Date.parse(due!.createdAt) + 3_600_000) }), undefined, 'an hour later with nothing new: not due')
  t.notOk(writeCheckpoint(s.db, key).created, 'writeCheckpoint: nothing but checkpoint events since the latest, nothing new')
  const now = new Date('2026-01-01T00:10:00Z')
  t.equal(checkpointDue(undefined, 0, policy, now), false, 'empty ledger, no checkpoint')
  t.equal(checkpointDue(undefined, 1, policy, now), true, 'first events: due')
  t.equal(checkpointDue({ createdAt: '2026-01-01T00:09:00Z' }, 9, policy, now), false)
  t.equal(checkpointDue({ createdAt: '2026-01-01T00:09:00Z' }, 10, policy, now), true)
  t.equal(checkpointDue({ createdAt: '2026-01-01T00:05:00Z' }, 1, policy, now), true)
  t.equal(checkpointDue({ createdAt: '2026-01-01T00:05:00Z' }, 0, policy, now), false, 'old, but nothing grew')
  t.same(checkCheckpoints(s.db, key.publicKey), [])
})

t.test('the daemon timer: key made at start, checkpoints when due, a last one at stop', async (t) => {
  const s = station(t)
  events(s, 2)
  const cps = startCheckpoints(s.st, { policy: { checkpointEvery: 3, checkpointMinutes: 60 }, checkMs: 20 })
  t.ok(readStationPublicKey(s.dataDir), 'the key exists from the start')
  t.same(
    listCheckpoints(s.db).map((c) => c.treeSize),
    [3],
    'the first events (vault-created and 2) are checkpointed at once',
  )
  events(s, 2)
  await new Promise((r) => setTimeout(r, 120))
  t.same(
    listCheckpoints(s.db).map((c) => c.treeSize),
    [3],
    '2 new events < checkpointEvery: not yet',
  )
  events(s, 1)
  await new Promise((r) => setTimeout(r, 120))
  t.same(
    listCheckpoints(s.db).map((c) => c.treeSize),
    [3, 7],
    '3 new events (and the first checkpoint event): signed by the timer',
  )
  events(s, 1)
  cps.stop()
  t.same(
    listCheckpoints(s.db).map((c) => c.treeSize),
    [3, 7, 9],
    'and at stop',
  )
  t.same(checkStationCheckpoints(s.db, s.dataDir), [])
})

t.test('checkpoints stay consistent across restarts', async (t) => {
  const s = station(t)
  let key = loadOrCreateStationKey(s.dataDir, 'test-station')
  events(s, 7, 'a')
  const a = writeCheckpoint(s.db, key).checkpoint
  s.reopen() // a new connection, as after a restart: the tree is loaded afresh
  key = loadOrCreateStationKey(s.dataDir, 'test-station')
  events(s, 6, 'b')
  const b = writeCheckpoint(s.db, key).checkpoint
  t.same([a.treeSize, b.treeSize], [8, 15], 'vault-created and 7, then the checkpoint event and 6 more')
  const tree = LedgerTree.for(s.db)
  for (const c of [a, b]) t.ok(findValidSignature(parseSignedNote(c.note), key.publicKey), `checkpoint ${c.id} verifies`)
  t.ok(
    verifyConsistency(8, 15, tree.consistencyProof(8, 15), Buffer.from(a.rootHash, 'hex'), Buffer.from(b.rootHash, 'hex')),
    'consistency proof from the first to the second',
  )
  t.same(checkStationCheckpoints(s.db, s.dataDir), [])
  t.same(
    listCheckpoints(s.db).map((c) => c.treeSize),
    [8, 15],
  )
})

t.test('verify catches a history rewritten with every chain hash recomputed', async (t) => {
  const s = await withRecordings(t)
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  writeCheckpoint(s.db, key)
  t.same((await verifyVault(s.db, s.vault)).problems, [], 'clean')

  // The attacker changes who recorded recording 2, in the event and the row,
  // and recomputes every hash from there on so the chain is flawless.
  raw(s, (db) => {
    const rows = db.prepare('SELECT * FROM events ORDER BY seq').all() as {
      seq: number
      type: string
      at: string
      actor: string
      subject: string
      payload: string
      prev_hash: string
      hash: string
    }[]
    let prev = GENESIS_HASH
    for (const r of rows) {
      const payload = JSON.parse(r.payload) as Record<string, unknown>
      if (r.type === 'ingested' && payload.recordingId === 2) payload.officerId = '999999'
      const text = JSON.stringify(Object.fromEntries(Object.entries(payload).sort(([x], [y]) => (x < y ? -1 : 1))))
      const hash = chainHash(prev, { seq: r.seq, type: r.type, at: r.at, actor: r.actor, subject: r.subject, payload })
      db.prepare('UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(text, prev, hash, r.seq)
      prev = hash
    }
    db.prepare("UPDATE recordings SET officer_id = '999999' WHERE id = 2").run()
    db.prepare('UPDATE officers SET id = id WHERE 0').run()
  })
  const v = await verifyVault(s.db, s.vault)
  t.same(
    v.problems.filter((p) => p.kind !== 'checkpoint'),
    [],
    'the chain and the catalog alone look fine',
  )
  t.same(
    v.problems.map((p) => p.subject),
    ['checkpoint:1', 'checkpoint-log:1'],
    'the checkpoint row and its line in the checkpoint log',
  )
  t.match(v.problems[0], { kind: 'checkpoint', subject: 'checkpoint:1', detail: /no longer have the signed root.*history was rewritten/ })
  t.notOk(v.ok)
  t.throws(() => writeCheckpoint(s.db, key), { code: 'LEDGER_INCONSISTENT' }, 'and no new checkpoint is signed over it')
})

t.test('verify catches checkpoints deleted, edited, signed by another key, and a missing or replaced key', async (t) => {
  const s = station(t)
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  for (let i = 0; i < 3; i++) {
    events(s, 4, `r${i}`)
    writeCheckpoint(s.db, key)
  }
  t.same(checkStationCheckpoints(s.db, s.dataDir), [])
  const problems = (): string[] => checkStationCheckpoints(s.db, s.dataDir).map((p) => `${p.subject} ${p.detail}`)

  raw(s, (db) => db.prepare('DELETE FROM checkpoints WHERE id = 2').run())
  t.match(problems().join('\n'), /^checkpoint:3 checkpoints 2\.\.2 are missing/m)
  t.match(
    problems().join('\n'),
    /^checkpoint:2 ledger event 11 records checkpoint 2 \(10 events\) but the catalog has no such row: it was deleted/m,
    'its event says so too',
  )

  raw(s, (db) =>
    db.prepare("UPDATE checkpoints SET note = replace(note, char(10) || '15' || char(10), char(10) || '14' || char(10)), tree_size = 14 WHERE id = 3").run(),
  )
  t.match(problems().join('\n'), /checkpoint:3 signature does not verify with the station key/)

  const other = loadOrCreateStationKey(tempDir(t), 'test-station')
  const root13 = LedgerTree.build(s.db).rootAt(13)
  const forged = signCheckpoint(other, 13, root13)
  raw(s, (db) =>
    db
      .prepare('INSERT INTO checkpoints (tree_size, root_hash, origin, key_id, note, created_at) VALUES (13, ?, ?, ?, ?, ?)')
      .run(root13.toString('hex'), other.name, other.keyId.toString('hex'), forged, new Date().toISOString()),
  )
  t.match(problems().join('\n'), /checkpoint:4 signature does not verify with the station key .* signed by another key/)
  t.match(problems().join('\n'), /checkpoint:4 the checkpoint row has no checkpoint event in the ledger/, 'and a row without its event was added by hand')

  // The attacker removes, then replaces the station key file. The checkpoints are checked with the
  // public keys the ledger names (the chain of keys), so they keep their verdicts; the key file is a
  // problem of its own, and nothing is signed with it.
  const before = problems()
  const keyProblems = async (): Promise<string[]> =>
    (await verifyVault(s.db, s.vault)).problems.filter((p) => p.kind === 'key').map((p) => `${p.subject} ${p.detail}`)
  unlinkSync(stationKeyPath(s.dataDir))
  t.same(problems(), before, 'the checkpoints need no key file')
  t.match(await keyProblems(), [/^station-key the station key file .* is missing, but the ledger names key [0-9a-f]{16}… \(event 1, created\)/])
  loadOrCreateStationKey(s.dataDir, 'test-station')
  t.same(problems(), before, 'a new key file changes nothing')
  t.match(await keyProblems(), [/^station-key the station key file .* holds key [0-9a-f]{16}…, not the key the ledger names/])
  t.throws(() => writeCheckpoint(s.db, s.st.key()), { code: 'KEY_MISMATCH' }, 'and it signs nothing')
})

t.test('a catalog rebuilt from the ledger alone (reindex --from-s3): its checkpoint events need no rows, and still catch a rewrite', async (t) => {
  const s = station(t)
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  events(s, 3, 'a')
  writeCheckpoint(s.db, key)
  events(s, 2, 'b')
  writeCheckpoint(s.db, key)
  // As reindex does: the chain verbatim into an empty data dir (no checkpoint rows, no key, no log), then catalog-rebuilt.
  const r = station(t, undefined, { rebuildCatalog: true })
  restoreEvents(r.db, eventsAfter(s.db, 0, 1000))
  appendEvent(r.db, {
    type: 'catalog-rebuilt',
    actor: actors.station('test-station'),
    subject: subjects.station('test-station'),
    payload: {
      source: 's3',
      bucket: 'b',
      prefix: 'test-station/',
      events: 7,
      recordings: 0,
      manifests: 0,
      ledgerSegments: 1,
      chainProblems: 0,
      manifestsMissing: [],
      notRestored: [],
    },
  })
  t.equal(countEvents(r.db, ['checkpoint']), 2)
  t.same(checkStationCheckpoints(r.db, r.dataDir), [], 'without the key file (reindex does not restore it): checked with the chain of keys in the ledger')
  t.same(checkCheckpoints(r.db, key.publicKey), [], 'with it: the events match the tree, and no row is asked for')
  const next = writeCheckpoint(r.db, key).checkpoint
  t.equal(next.id, 1, 'the checkpoint ids start again')
  t.same(checkCheckpoints(r.db, key.publicKey), [], 'and a row 1 beside the old event of checkpoint 1 is no conflict')

  raw(r, (db) => {
    const rows = db.prepare('SELECT * FROM events ORDER BY seq').all() as {
      seq: number
      type: string
      at: string
      actor: string
      subject: string
      payload: string
    }[]
    let prev = GENESIS_HASH
    for (const row of rows) {
      const payload = JSON.parse(row.payload) as Record<string, unknown>
      if (row.type === 'test' && payload.tag === 'a' && payload.i === 0) payload.i = 99
      const text = JSON.stringify(Object.fromEntries(Object.entries(payload).sort(([x], [y]) => (x < y ? -1 : 1))))
      const hash = chainHash(prev, { seq: row.seq, type: row.type, at: row.at, actor: row.actor, subject: row.subject, payload })
      db.prepare('UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(text, prev, hash, row.seq)
      prev = hash
    }
    db.prepare('DELETE FROM checkpoints').run()
  })
  t.match(
    checkCheckpoints(r.db, key.publicKey).map((p) => `${p.subject} ${p.detail}`),
    [/^checkpoint:1 the checkpoint signed in ledger event \d+ \(\d+ events\) no longer matches the ledger: history was rewritten/],
    'a rewrite of the rebuilt chain is still caught from the checkpoint events before the rebuild',
  )
  t.match(
    checkCheckpoints(r.db, key.publicKey)
      .map((p) => p.detail)
      .join('\n'),
    new RegExp(`records checkpoint 1 \\(${next.treeSize} events\\) but the catalog has no such row: it was deleted`),
    'and the row of the checkpoint signed after the rebuild must stay',
  )
})

t.test('CLI: ingest signs a checkpoint; checkpoint and key show print them', async (t) => {
  const dir = tempDir(t)
  const cam = join(dir, 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20261120080000_0001.MP4'), Buffer.alloc(100_000, 1))
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
  const ing = cli(['ingest', cam, '--json'], env)
  t.equal(ing.code, 0, ing.stderr)
  const cp = cli(['checkpoint', '--json'], env)
  t.equal(cp.code, 0, cp.stderr)
  const c = JSON.parse(cp.stdout) as { id: number; treeSize: number; created: boolean; note: string; origin: string }
  t.same([c.id, c.created, c.origin], [1, false, 'bodyvault/station-01'], 'ingest already signed one covering its session')
  const k = JSON.parse(cli(['key', 'show', '--json'], env).stdout) as { publicKeyHex: string; vkey: string; fingerprint: string; pem: string; keyId: string }
  t.match(k, { publicKeyHex: /^[0-9a-f]{64}$/, fingerprint: /^[0-9a-f]{64}$/, keyId: /^[0-9a-f]{8}$/, pem: /BEGIN PUBLIC KEY/ })
  t.ok(findValidSignature(parseSignedNote(c.note), Buffer.from(k.publicKeyHex, 'hex')))
  t.match(cli(['key', 'show', '--pem'], env).stdout, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/)
  t.match(cli(['key', 'show'], env).stdout, /key name +bodyvault\/station-01\nkey id +[0-9a-f]{8}\nvkey/)
  t.match(cli(['key', 'turn'], env), { code: 2, stderr: /key takes one subcommand: show, rotate or replace/ })
  t.match(
    cli(['checkpoint'], env).stdout,
    /^checkpoint 1 \(signed .*\): \d+ events, root [0-9a-f]{64}, key [0-9a-f]{8}\nanchoring: log file \(checkpoint 1, \d+ events: log file\)\n\nbodyvault\/station-01\n\d+\n/,
  )
  const v = cli(['verify', '--json'], env)
  t.equal(v.code, 0, v.stdout)
  t.match(JSON.parse(v.stdout), { anchoring: { level: 'log file', latest: { id: 1 } } })
  t.match(cli(['verify'], env).stdout, /(^|\n)anchoring: log file \(checkpoint 1, \d+ events: log file\)\nok: /, 'verify prints the anchoring level')
  const doctor = JSON.parse(cli(['doctor', '--json'], env).stdout) as { checks: { check: string; ok: boolean; detail: string }[] }
  t.match(
    doctor.checks.find((c) => c.check === 'anchoring'),
    { ok: true, detail: /^log file \(checkpoint 1, \d+ events: log file\)$/ },
    'and so does doctor',
  )
})
