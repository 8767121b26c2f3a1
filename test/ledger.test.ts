import { createHash } from 'node:crypto'
import t from 'tap'
import Database from 'better-sqlite3'
import { openCatalog } from '../src/catalog/db.js'
import { canonicalEventBytes, chainHash, GENESIS_HASH } from '../src/ledger/canonical.js'
import { walkChain, type ChainProblem } from '../src/ledger/ledger.js'
import { tempDir } from './helpers.js'
import { appendForeignEvent } from './ledger-support.js'

t.test('canonical form is RFC 8785: sorted keys, no spaces, fixed order of fields', async (t) => {
  const ev = {
    seq: 1,
    type: 'ingested',
    at: '2026-11-20T00:00:00.000Z',
    actor: 'station:s',
    subject: 'recording:1',
    payload: { z: 1, a: 'é', m: [true, null] },
  }
  const text = canonicalEventBytes(ev).toString('utf8')
  t.equal(
    text,
    '{"actor":"station:s","at":"2026-11-20T00:00:00.000Z","payload":{"a":"é","m":[true,null],"z":1},"seq":1,"subject":"recording:1","type":"ingested"}',
  )
  // hash = SHA-256(prev 32 raw bytes || canonical bytes), computed independently here
  const expected = createHash('sha256').update(Buffer.alloc(32)).update(Buffer.from(text, 'utf8')).digest('hex')
  t.equal(chainHash(GENESIS_HASH, ev), expected)
  t.throws(() => chainHash('xyz', ev), /64 lower-case hex/)
})

t.test('append links each event to the previous hash; triggers refuse UPDATE and DELETE', async (t) => {
  const dir = tempDir(t)
  const db = openCatalog(`${dir}/c.db`)
  const a = appendForeignEvent(db, { type: 'x', actor: 'test', subject: 's:1', payload: { n: 1 } })
  const b = appendForeignEvent(db, { type: 'y', actor: 'test', subject: 's:2', payload: { n: 2 } })
  t.equal(a.seq, 1)
  t.equal(a.prevHash, GENESIS_HASH)
  t.equal(b.prevHash, a.hash)
  t.equal(b.hash, chainHash(a.hash, b))
  t.throws(() => db.prepare("UPDATE events SET actor = 'mallory' WHERE seq = 1").run(), /append-only/)
  t.throws(() => db.prepare('DELETE FROM events WHERE seq = 2').run(), /append-only/)
  const problems: ChainProblem[] = []
  t.equal([...walkChain(db, problems)].length, 2)
  t.same(problems, [])
  db.close()
})

t.test('walkChain reports an edited, a deleted and a reordered event', async (t) => {
  const dir = tempDir(t)
  const path = `${dir}/c.db`
  const db = openCatalog(path)
  for (let i = 1; i <= 6; i++) appendForeignEvent(db, { type: 'x', actor: 'test', subject: `s:${i}`, payload: { n: i } })
  db.close()
  const raw = new Database(path)
  raw.exec('DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;')
  raw.prepare(`UPDATE events SET payload = '{"n":99}' WHERE seq = 2`).run()
  raw.prepare('DELETE FROM events WHERE seq = 4').run()
  // swap 5 and 6
  raw.exec('UPDATE events SET seq = -5 WHERE seq = 5; UPDATE events SET seq = 5 WHERE seq = 6; UPDATE events SET seq = 6 WHERE seq = -5;')
  raw.close()
  const db2 = openCatalog(path)
  const problems: ChainProblem[] = []
  for (const _ of walkChain(db2, problems)) void _
  const bySeq = (s: number): string =>
    problems
      .filter((p) => p.seq === s)
      .map((p) => p.detail)
      .join('; ')
  t.match(bySeq(2), /edited/)
  t.match(bySeq(5), /missing|link/)
  t.match(bySeq(6), /link/)
  t.equal(problems.filter((p) => p.seq === 1 || p.seq === 3).length, 0, 'untouched events are not blamed')
  db2.close()
})
