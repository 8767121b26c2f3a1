// verify's ledger part on a clean ledger compares the recordings with their `ingested` events by SQLite (the payload's
// values by json_extract against the row's columns by json_array, text for text: src/catalog/recordings-ledger.ts),
// trusted only when the audit (its workers here) finds every payload canonical. From the threat: a column whose value
// changes its spelling or only its JSON type, a payload whose duplicated key reads one way by SQLite and another by
// JSON.parse, a number spelled in a non-canonical form, one field apart in the first or last recording or at the edge
// of a worker's block, a value with escapes (stored canonical, or with a letter escaped that the canonical form
// writes as is): each must be found, or matched only as the JavaScript comparison would match it.
import t from 'tap'
import { auditLedger } from '../src/ledger/audit.js'
import { readSnapshot } from '../src/verify/vault.js'
import { ledgerFindings as findings, seedIngested as seed } from './ledger-support.js'
import { station, type TestStation } from './helpers.js'

const N = 1500

function tamper(s: TestStation, sql: string): void {
  s.db.pragma('foreign_keys = OFF')
  s.db.exec(sql)
  s.db.pragma('foreign_keys = ON')
}

const ids = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i)

t.test('on a clean ledger verify finds nothing and lists every object', async (t) => {
  const s = station(t)
  seed(s, ids(1, N))
  const snap = await readSnapshot(s.db, s.vault, undefined, { workers: 2, minRows: 1 })
  t.same(await findings(s), [], 'nothing found')
  t.same(
    [...snap.needed.keys()],
    ids(1, N).map((id) => id.toString(16).padStart(64, '0')),
    'the objects, in chain order',
  )
})

t.test('a column whose value changes its spelling or only its JSON type is found', async (t) => {
  const s = station(t)
  seed(s, ids(1, N))
  const cases: [string, string, string][] = [
    ['officer_id', "'012345 '", 'officerId is "012345 " in the catalog but "012345" in ledger event'],
    ['size', '1100.5', 'size is 1100.5 in the catalog but 1100 in ledger event'],
    ['category', "''", 'category is "" in the catalog but null in ledger event'],
    ['session_id', "'null'", 'sessionId is "null" in the catalog but null in ledger event'],
    ['sha256', "'f' || substr(sha256, 2)", 'sha256 is "f0'],
  ]
  for (const [column, value, want] of cases) {
    const id = 100
    const before = s.db.prepare(`SELECT ${column} FROM recordings WHERE id = ?`).pluck().get(id)
    tamper(s, `UPDATE recordings SET ${column} = ${value} WHERE id = ${id}`)
    const found = await findings(s)
    t.ok(found.length === 1 && found[0]!.startsWith(`catalog-mismatch recording:${id} ${want}`), `${column} = ${value}: ${found.join('; ')}`)
    s.db.prepare(`UPDATE recordings SET ${column} = ? WHERE id = ?`).run(before, id)
  }
  t.same(await findings(s), [], 'clean again')
})

t.test('a payload with a duplicated key: the comparison takes the value JSON.parse takes (the last)', async (t) => {
  const s = station(t)
  seed(s, ids(1, N))
  // Stored with officerId twice: first the catalog's value, last another; the ledger hashes the parsed (last) one.
  const seq = seed(s, [N + 1], {
    extra: { officerId: '099999' },
    text: (c) => c.replace('"officerId":"099999"', '"officerId":"012345","officerId":"099999"'),
  })
  const a = await auditLedger(s.db, { workers: 2, minRows: 1 })
  t.same(a.problems, [], 'the chain holds (the hash is over the parsed payload)')
  t.equal(a.slowPath, 1, 'the canonical-form scan refused it')
  const found = await findings(s)
  t.same(found, [`catalog-mismatch recording:${N + 1} officerId is "012345" in the catalog but "099999" in ledger event ${seq}`], found.join('; '))
})

t.test('a number spelled in a non-canonical form is compared by its value', async (t) => {
  const s = station(t)
  seed(s, ids(1, N))
  // 1001.0e0 is 1001: the row (1001) matches; 1002.0e0 against a row of 1002 altered to 1003 does not.
  seed(s, [N + 1], { text: (c) => c.replace(`"size":${1001 + N}`, `"size":${1001 + N}.0e0`) })
  const seq = seed(s, [N + 2], { text: (c) => c.replace(`"size":${1002 + N}`, `"size":${1002 + N}.0e0`) })
  t.same(await findings(s), [], 'the same value, spelled otherwise: no finding')
  tamper(s, `UPDATE recordings SET size = ${1003 + N} WHERE id = ${N + 2}`)
  t.same(await findings(s), [`catalog-mismatch recording:${N + 2} size is ${1003 + N} in the catalog but ${1002 + N} in ledger event ${seq}`])
})

t.test("one field apart at the ends of the range and of the workers' blocks, and in a value with escapes", async (t) => {
  const s = station(t)
  seed(s, ids(1, N))
  // A value the canonical form writes with escapes (a quote, a backslash, a control character) and with characters it
  // writes as is (é, a line separator): its row holds the same value, so nothing is found.
  const odd = 'DCIM/100MEDIA/A "quoted" \\ caf\u00e9 \u2028 \u0001.MP4'
  const last = N + 1
  const seq = seed(s, [last], { extra: { sourcePath: odd } })
  s.db.prepare('UPDATE recordings SET source_path = ? WHERE id = ?').run(odd, last)
  t.same(await findings(s), [], 'clean, escapes and all')
  // The first and last recording, and both sides of the two workers' blocks (events 1 to 1,024 and from 1,025).
  const seqOf = s.db.prepare('SELECT event_seq FROM recordings WHERE id = ?').pluck()
  const idAt = s.db.prepare('SELECT id FROM recordings WHERE event_seq = ?').pluck()
  const edges = [1, idAt.get(1024) as number, idAt.get(1025) as number, N, last]
  t.equal(new Set(edges).size, 5, `the recordings looked at: ${edges.join(', ')}`)
  for (const id of edges) {
    tamper(s, `UPDATE recordings SET officer_id = '012346' WHERE id = ${id}`)
    const found = await findings(s)
    t.same(found, [`catalog-mismatch recording:${id} officerId is "012346" in the catalog but "012345" in ledger event ${seqOf.get(id)}`], `recording ${id}`)
    tamper(s, `UPDATE recordings SET officer_id = '012345' WHERE id = ${id}`)
  }
  // The escaped value one character apart (é for e, a quote dropped).
  for (const other of [odd.replace('\u00e9', 'e'), odd.replace('"quoted"', 'quoted"')]) {
    s.db.prepare('UPDATE recordings SET source_path = ? WHERE id = ?').run(other, last)
    const found = await findings(s)
    t.same(found, [
      `catalog-mismatch recording:${last} sourcePath is ${JSON.stringify(other)} in the catalog but ${JSON.stringify(odd)} in ledger event ${seq}`,
    ])
  }
  s.db.prepare('UPDATE recordings SET source_path = ? WHERE id = ?').run(odd, last)
  // The same letter stored escaped (\u00e9: not the canonical form, so compared the JavaScript way): the same value.
  const seq2 = seed(s, [last + 1], { extra: { sourcePath: 'caf\u00e9.MP4' }, text: (c) => c.replace('caf\u00e9', 'caf\\u00e9') })
  s.db.prepare('UPDATE recordings SET source_path = ? WHERE id = ?').run('caf\u00e9.MP4', last + 1)
  t.same(await findings(s), [], 'an escape spelled otherwise is the same value')
  s.db.prepare('UPDATE recordings SET source_path = ? WHERE id = ?').run('cafe.MP4', last + 1)
  t.same(await findings(s), [`catalog-mismatch recording:${last + 1} sourcePath is "cafe.MP4" in the catalog but "café.MP4" in ledger event ${seq2}`])
})
