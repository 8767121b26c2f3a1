// verify's ledger part on a clean ledger compares the recordings with their `ingested` events by SQLite (the payload's
// values by json_extract against the row's columns by json_array, text for text: src/catalog/recordings-ledger.ts),
// trusted only when the audit (its workers here) finds every payload canonical. From the threat: a column whose value
// changes its spelling or only its JSON type, a payload whose duplicated key reads one way by SQLite and another by
// JSON.parse, a number spelled in a non-canonical form: each must be found, or matched only as the JavaScript
// comparison would match it.
import t from 'tap'
import { auditLedger } from '../src/ledger/audit.js'
import { canonicalBytes, chainHash } from '../src/ledger/canonical.js'
import { ledgerHead } from '../src/ledger/ledger.js'
import { readSnapshot } from '../src/verify/vault.js'
import { station, type TestStation } from './helpers.js'

const N = 1500

/** One `ingested` event per id, chained as appendEvent chains them, and its row; `text` stores the payload spelled otherwise (same parsed value). */
function seed(s: TestStation, ids: number[], opts: { officer?: string; text?: (canonical: string) => string; payload?: Record<string, unknown> } = {}): number {
  const db = s.db
  const ev = db.prepare('INSERT INTO events (seq, type, at, actor, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  const row = db.prepare(`INSERT INTO recordings (id, sha256, size, kind, source_path, station_id, device_id, officer_id, recorded_at, recorded_offset,
    recorded_source, important, category, case_number, profile_id, session_id, ingested_at, event_seq) VALUES (?, ?, ?, 'video', ?, 'station-01', 'A1B2C3D', ?, ?,
    '+08:00', 'filename', 0, NULL, NULL, 'gat947', NULL, ?, ?)`)
  let { seq, hash: prev } = ledgerHead(db)
  db.transaction(() => {
    for (const id of ids) {
      seq++
      const at = new Date(Date.UTC(2026, 10, 20) + seq * 1000).toISOString()
      const sha = id.toString(16).padStart(64, '0')
      const path = `DCIM/100MEDIA/A1B2C3D_012345_20261120080000_${id}.MP4`
      const payload = {
        caseNumber: null,
        category: null,
        deviceId: 'A1B2C3D',
        important: false,
        kind: 'video',
        officerId: '012345',
        profileId: 'gat947',
        recordedAt: at,
        recordedOffset: '+08:00',
        recordedSource: 'filename',
        recordingId: id,
        sessionId: null,
        sha256: sha,
        size: 1000 + id,
        sourcePath: path,
        stationId: 'station-01',
        ...opts.payload,
      }
      const body = { seq, type: 'ingested', at, actor: 'station:station-01', subject: `recording:${id}`, payload }
      // The ledger hashes the canonical form of the parsed payload (the audit's slow path), whatever the stored spelling.
      const hash = chainHash(prev, body)
      const canonical = canonicalBytes(payload).toString('utf8')
      ev.run(seq, body.type, at, body.actor, body.subject, opts.text ? opts.text(canonical) : canonical, prev, hash)
      row.run(id, sha, 1000 + id, path, opts.officer ?? '012345', at, at, seq)
      prev = hash
    }
  }).immediate()
  return seq
}

function tamper(s: TestStation, sql: string): void {
  s.db.pragma('foreign_keys = OFF')
  s.db.exec(sql)
  s.db.pragma('foreign_keys = ON')
}

async function findings(s: TestStation): Promise<string[]> {
  const snap = await readSnapshot(s.db, s.vault, undefined, { workers: 2, minRows: 1 })
  return snap.problems.filter((p) => p.kind === 'ledger' || p.kind.startsWith('catalog-')).map((p) => `${p.kind} ${p.subject} ${p.detail}`)
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
    payload: { officerId: '099999' },
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
