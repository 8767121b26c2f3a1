// verify's ledger part on a large ledger, from the threat: one catalog row edited among 100,000, one row deleted and
// one added, one event's payload edited, a recording ingested twice, recordings ingested out of id order, any one
// field edited with the registry's keys in the payloads, a field only a later event sets edited, events that need
// escapes. The comparison is SQLite's on a clean ledger and streamed otherwise (src/verify/recordings-check.ts); each
// fault must still be found, with the audit's hashing in worker threads. 100,000 recordings; 25,000 when CI=true (the audit in two workers all the same: minRows 1).
import t from 'tap'
import { auditLedger } from '../src/ledger/audit.js'
import { canonicalBytes, chainHash } from '../src/ledger/canonical.js'
import { writeCheckpoint } from '../src/ledger/checkpoint.js'
import { loadOrCreateStationKey } from '../src/ledger/keys.js'
import { appendEvent, ledgerHead } from '../src/ledger/ledger.js'
import { LedgerTree } from '../src/ledger/tree.js'
import { readSnapshot, verifyVault } from '../src/verify/vault.js'
import { ledgerFindings as findings, seedIngested as seed } from './ledger-support.js'
import { station, type TestStation } from './helpers.js'

const N = process.env.CI === 'true' ? 25_000 : 100_000

/** Runs SQL as an attacker with the file would: the ledger's no-update triggers dropped and put back. */
function tamper(s: TestStation, sql: string): void {
  const triggers = s.db
    .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN ('events_no_update', 'events_no_delete')")
    .pluck()
    .all() as string[]
  s.db.pragma('foreign_keys = OFF')
  s.db.exec('DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;')
  s.db.exec(sql)
  for (const tr of triggers) s.db.exec(tr)
  s.db.pragma('foreign_keys = ON')
}

const ids = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i)

t.test(`one catalog row edited, deleted or added among ${N.toLocaleString('en')} is found`, async (t) => {
  const s = station(t)
  seed(s, ids(1, N))
  t.same(await findings(s), [], 'clean')
  const mid = Math.floor(N / 2)
  tamper(s, `UPDATE recordings SET officer_id = '099999' WHERE id = ${mid}`)
  const edited = await findings(s)
  t.equal(edited.length, 1, `one finding: ${edited.join('; ')}`)
  t.match(edited[0], new RegExp(`^catalog-mismatch recording:${mid} officerId is "099999" in the catalog but "012345" in ledger event \\d+$`))
  tamper(
    s,
    `UPDATE recordings SET officer_id = '012345' WHERE id = ${mid}; DELETE FROM recordings WHERE id = 7;
    INSERT INTO recordings (id, sha256, size, kind, source_path, station_id, recorded_at,
    recorded_offset, recorded_source, important, profile_id, ingested_at, event_seq) VALUES (${N + 5}, '${'e'.repeat(64)}', 1, 'video', 'x.MP4', 'station-01',
    '2026-11-20T00:00:00.000Z', '+08:00', 'filename', 0, 'gat947', '2026-11-20T00:00:00.000Z', 1)`,
  )
  const rows = await findings(s)
  t.same(
    rows.map((p) => p.split(' ').slice(0, 2).join(' ')),
    [`catalog-extra recording:${N + 5}`, 'catalog-missing recording:7'],
    `a row added and a row deleted: ${rows.join('; ')}`,
  )
})

t.test(`one event's payload edited among ${N.toLocaleString('en')} is found by the audit and by the comparison`, async (t) => {
  const s = station(t)
  seed(s, ids(1, N))
  const mid = Math.floor(N / 3)
  tamper(s, `UPDATE events SET payload = replace(payload, '"size":${1000 + mid}', '"size":${2000 + mid}') WHERE subject = 'recording:${mid}'`)
  const found = await findings(s)
  const seq = s.db.prepare(`SELECT seq FROM events WHERE subject = 'recording:${mid}'`).pluck().get() as number
  t.ok(
    found.some((p) => p.startsWith(`ledger event:${seq} hash does not match its content`)),
    `the audit: ${found.join('; ')}`,
  )
  t.ok(
    found.some((p) => p === `catalog-mismatch recording:${mid} size is ${1000 + mid} in the catalog but ${2000 + mid} in ledger event ${seq}`),
    'the comparison',
  )
  t.equal(found.length, 2, 'nothing else')
})

t.test('recordings ingested out of id order, and one ingested twice: the later event counts, as in the whole fold', async (t) => {
  const s = station(t)
  const n = Math.min(N, 20_000)
  // Blocks in reverse order and every pair swapped: the catalog cursor runs ahead of the ledger and behind it.
  const order: number[] = []
  for (let b = n / 1000 - 1; b >= 0; b--) for (let i = 0; i < 1000; i += 2) order.push(b * 1000 + i + 2, b * 1000 + i + 1)
  seed(s, order)
  t.same(await findings(s), [], `clean with ${n} recordings out of id order`)
  // Ingested again later with another officer: the catalog row (officer 012345) no longer matches the ledger.
  seed(s, [42], { rows: false, officer: () => '054321' })
  const again = await findings(s)
  const last = ledgerHead(s.db).seq
  t.same(
    again.map((p) => p.split(' ').slice(0, 3).join(' ')),
    ['officerId', 'recordedAt', 'ingestedAt', 'eventSeq'].map((f) => `catalog-mismatch recording:42 ${f}`),
    again.join('; '),
  )
  t.ok(again[0]!.endsWith(`"054321" in ledger event ${last}`), 'the later event is the one compared')
  tamper(
    s,
    `UPDATE recordings SET officer_id = '054321', ingested_at = (SELECT at FROM events WHERE seq = ${last}), event_seq = ${last}, recorded_at = (SELECT at FROM events WHERE seq = ${last}) WHERE id = 42`,
  )
  t.same(await findings(s), [], 'clean once the row follows the later event')
})

// SQLite compares the rows with their events (src/catalog/recordings-ledger.ts) when the audit finds every payload
// canonical; these faults leave the ledger clean, so that comparison is the one that must find them.
t.test(`with the registry's and the dock's keys in every payload, one field edited among ${N.toLocaleString('en')} rows is found, whichever`, async (t) => {
  const s = station(t)
  const extra = {
    deviceNumber: 'BWC-0042',
    fileCounter: 17,
    officerSource: 'file-name',
    sourceRaw: 'RENDTUEvMTAwTUVESUE=',
    unitCode: 'PCT-3',
    volume: 'usb:1234',
  }
  seed(s, ids(1, N), { extra })
  t.same(await findings(s), [], 'clean')
  const edits: [string, string, string][] = [
    ['sha256', `'${'f'.repeat(64)}'`, `sha256 is "${'f'.repeat(64)}" in the catalog`],
    ['size', '7', 'size is 7 in the catalog'],
    ['device_id', 'NULL', 'deviceId is null in the catalog'],
    ['session_id', '3', 'sessionId is 3 in the catalog but null'],
    ['important', '1', 'important is true in the catalog but false'],
    ['case_number', "'2026-0001'", 'caseNumber is "2026-0001" in the catalog but null'],
    ['status', "'purged'", 'status is "purged" in the catalog but "stored"'],
    ['ingested_at', "'2020-01-01T00:00:00.000Z'", 'ingestedAt is "2020-01-01T00:00:00.000Z" in the catalog'],
  ]
  for (const [i, [column, value, detail]] of edits.entries()) {
    const id = 1 + Math.floor(((i + 1) * N) / (edits.length + 2))
    const before = s.db.prepare(`SELECT ${column} FROM recordings WHERE id = ?`).pluck().get(id)
    tamper(s, `UPDATE recordings SET ${column} = ${value} WHERE id = ${id}`)
    const found = await findings(s)
    t.ok(found.length === 1 && found[0]!.startsWith(`catalog-mismatch recording:${id} ${detail}`), `${column} edited: ${found.join('; ')}`)
    s.db.prepare(`UPDATE recordings SET ${column} = ? WHERE id = ?`).run(before, id)
  }
  t.same(await findings(s), [], 'clean again')
})

t.test(`a field only a later event sets, edited in the catalog among ${N.toLocaleString('en')} rows, is found`, async (t) => {
  const s = station(t)
  seed(s, ids(1, N))
  const id = Math.floor(N / 4)
  const change = (to: string | null): void => {
    s.db.transaction(() => {
      appendEvent(s.db, {
        type: 'category-changed',
        actor: 'user:li.clerk',
        subject: `recording:${id}`,
        payload: { recordingId: id, from: null, to, reason: 'test' },
      })
      s.db.prepare('UPDATE recordings SET category = ? WHERE id = ?').run(to, id)
    })()
  }
  change('evidence')
  t.same(await findings(s), [], 'clean: the row follows the later event')
  tamper(s, `UPDATE recordings SET category = NULL WHERE id = ${id}`)
  const seqOf = (r: number): number => s.db.prepare('SELECT event_seq FROM recordings WHERE id = ?').pluck().get(r) as number
  t.same(
    await findings(s),
    [`catalog-mismatch recording:${id} category is null in the catalog but "evidence" in ledger event ${seqOf(id)}`],
    'the row put back to its ingested state',
  )
  tamper(s, `UPDATE recordings SET category = 'evidence' WHERE id = ${id}; UPDATE recordings SET category = 'evidence' WHERE id = ${id + 1}`)
  t.same(
    await findings(s),
    [`catalog-mismatch recording:${id + 1} category is "evidence" in the catalog but null in ledger event ${seqOf(id + 1)}`],
    'a neighbour given the change no event made',
  )
})

t.test('events whose strings need escapes are hashed the JavaScript way: the same verdicts', async (t) => {
  const s = station(t)
  seed(s, ids(1, 2000))
  // Actors and payloads that JSON escapes: a quote, a backslash, control characters, non-ASCII.
  for (const actor of ['user:o"brien', 'user:back\\slash', 'user:tab\there\u0001', 'user:李警官']) {
    appendEvent(s.db, { type: 'category-changed', actor, subject: 'recording:5', payload: { recordingId: 5, from: null, to: null, reason: `"why"\n${actor}` } })
  }
  const audit = async (): Promise<string[]> => (await auditLedger(s.db, { workers: 2, minRows: 1 })).problems.map((p) => `${p.seq} ${p.detail}`)
  t.same(await audit(), [], 'clean')
  const seq = ledgerHead(s.db).seq - 1
  tamper(s, `UPDATE events SET actor = 'user:tab' || char(9) || 'there' || char(2) WHERE seq = ${seq}`)
  const found = await audit()
  t.ok(found.length === 1 && found[0]!.startsWith(`${seq} hash does not match its content`), `an escaped actor edited: ${found.join('; ')}`)
})

t.test("the audit's tree, assembled from its workers' blocks, is the tree built from the event hashes", async (t) => {
  const s = station(t)
  seed(s, ids(1, 5000))
  const built = LedgerTree.build(s.db)
  for (const workers of [2, 3, 4]) {
    const a = await auditLedger(s.db, { workers, minRows: 1 })
    t.ok(a.tree, `${workers} workers hand back a tree`)
    const tree = LedgerTree.fromAudit(s.db, { tree: a.tree!, lastSeq: a.lastSeq, lastHash: a.lastHash })
    t.equal(tree.size, built.size, 'same size')
    t.same(tree.root(), built.root(), 'same root')
    const sizes = [1, 2, 3, 1023, 1024, 1025, 2500, built.size - 1]
    t.ok(
      sizes.every((m) => tree.rootAt(m).equals(built.rootAt(m)) && Buffer.concat(tree.consistencyProof(m)).equals(Buffer.concat(built.consistencyProof(m)))),
      `same roots and consistency proofs at ${sizes.join(', ')}`,
    )
    t.ok(
      tree.inclusionProof(777).every((h, i) => h.equals(built.inclusionProof(777)[i]!)),
      'same inclusion proof',
    )
  }
  seed(s, [5001])
  const snap = await readSnapshot(s.db, s.vault, undefined, { workers: 2, minRows: 1 })
  t.ok(snap.tree, "verify's ledger part keeps the audit's tree")
  t.same(snap.tree!.root(), LedgerTree.build(s.db).root(), 'the tree of the whole ledger')
})

t.test("a history rewritten with every chain hash recomputed is caught by the checkpoint, against the audit's tree", async (t) => {
  const s = station(t)
  seed(s, ids(1, 5000))
  const key = loadOrCreateStationKey(s.dataDir, 'test-station')
  writeCheckpoint(s.db, key)
  const checkpoints = async (): Promise<string[]> =>
    (await verifyVault(s.db, s.vault, { quick: true, ledger: { workers: 2, minRows: 1 } })).problems
      .filter((p) => p.kind === 'checkpoint' || p.kind === 'ledger' || p.kind.startsWith('catalog-'))
      .map((p) => `${p.kind} ${p.subject} ${p.detail}`)
  t.same(await checkpoints(), [], 'clean')
  // The attacker changes one recording's size in its event and its row, and recomputes every hash from there on.
  const rows = s.db.prepare('SELECT seq, type, at, actor, subject, payload FROM events WHERE seq >= ? ORDER BY seq').all(ledgerHead(s.db).seq - 3000) as {
    seq: number
    type: string
    at: string
    actor: string
    subject: string
    payload: string
  }[]
  let prev = s.db
    .prepare('SELECT hash FROM events WHERE seq = ?')
    .pluck()
    .get(rows[0]!.seq - 1) as string
  const sql: string[] = []
  for (const r of rows) {
    const payload = JSON.parse(r.payload) as Record<string, unknown>
    if (r.subject === 'recording:2500') payload.size = 1
    const hash = chainHash(prev, { ...r, payload })
    sql.push(`UPDATE events SET payload = '${canonicalBytes(payload).toString('utf8')}', prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${r.seq};`)
    prev = hash
  }
  tamper(s, `${sql.join('\n')} UPDATE recordings SET size = 1 WHERE id = 2500`)
  const found = await checkpoints()
  t.same(
    found.filter((p) => !p.startsWith('checkpoint ')),
    [],
    'the chain and the catalog alone look fine',
  )
  t.ok(
    found.some((p) => /^checkpoint checkpoint:1 .*no longer have the signed root.*history was rewritten/.test(p)),
    found.join('; '),
  )
})
