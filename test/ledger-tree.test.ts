// The ledger's Merkle tree (src/ledger/tree.ts) over real catalog events,
// checked against an independent, deliberately naive RFC 6962 implementation
// written here with its own hashing; the fast ledger audit
// (src/ledger/audit.ts) against walkChain; and the canonical-JSON scanner it
// relies on against the canonicalize library.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import canonicalize from 'canonicalize'
import t from 'tap'
import { openCatalog, type Db } from '../src/catalog/db.js'
import { auditLedger, auditLedgerSync } from '../src/ledger/audit.js'
import { chainHash } from '../src/ledger/canonical.js'
import { isCanonicalJson, isCanonicalJsonBytes } from '../src/ledger/fastcanon.js'
import { walkChain, type ChainProblem } from '../src/ledger/ledger.js'
import { verifyConsistency, verifyInclusion } from '../src/ledger/merkle-proofs.js'
import { LedgerTree } from '../src/ledger/tree.js'
import { tempDir } from './helpers.js'
import { appendForeignEvent } from './ledger-support.js'

const MAX = 64

// ---- reference (RFC 6962 2.1, recursive, on arrays) ---------------------------
function sha(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}
const refLeaf = (d: Uint8Array): Buffer => sha(Uint8Array.of(0), d)
const refNode = (l: Uint8Array, r: Uint8Array): Buffer => sha(Uint8Array.of(1), l, r)
function k(n: number): number {
  let p = 1
  while (p * 2 < n) p *= 2
  return p
}
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha()
  if (d.length === 1) return d[0]!
  const s = k(d.length)
  return refNode(mth(d.slice(0, s)), mth(d.slice(s)))
}
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return []
  const s = k(d.length)
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))]
}
function subproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  const n = d.length
  if (m === n) return b ? [] : [mth(d)]
  const s = k(n)
  return m <= s ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))]
}
const hex = (bs: readonly Uint8Array[]): string[] => bs.map((b) => Buffer.from(b).toString('hex'))

function ev(db: Db, i: number): string {
  return appendForeignEvent(db, {
    type: 'test',
    actor: 'station:t',
    subject: `thing:${i}`,
    payload: { i, note: `event ${i}`, nested: { z: [i, null, true], a: 'ü' } },
  }).hash
}

t.test('LedgerTree: every proof of trees of 1..64 events, maintained incrementally', async (t) => {
  const db = openCatalog(join(tempDir(t), 'c.db'))
  t.teardown(() => db.close())
  const tree = LedgerTree.for(db)
  t.equal(tree.size, 0)
  const leaves: Buffer[] = []
  const roots: Buffer[] = [mth([])]
  const failures: string[] = []
  for (let n = 1; n <= MAX; n++) {
    leaves.push(refLeaf(Buffer.from(ev(db, n), 'hex')))
    roots.push(mth(leaves))
    const same = LedgerTree.for(db)
    if (same !== tree) failures.push(`size ${n}: a new tree object (rebuilt, not appended)`)
    if (tree.size !== n) failures.push(`size ${n}: tree has ${tree.size}`)
    if (!tree.root().equals(roots[n]!)) failures.push(`size ${n}: root`)
    // Every leaf, at every earlier size too: the proofs a checkpoint of that size needs.
    for (let size = 1; size <= n; size++) {
      for (let seq = 1; seq <= size; seq++) {
        const p = tree.inclusionProof(seq, size)
        if (hex(p).join() !== hex(path(seq - 1, leaves.slice(0, size))).join()) failures.push(`size ${n}: inclusion ${seq}@${size} differs from PATH`)
        if (!verifyInclusion(seq - 1, size, leaves[seq - 1]!, p, roots[size]!)) failures.push(`size ${n}: inclusion ${seq}@${size} does not verify`)
      }
      if (!tree.rootAt(size).equals(roots[size]!)) failures.push(`size ${n}: rootAt(${size})`)
      const c = tree.consistencyProof(size, n)
      if (hex(c).join() !== hex(subproof(size, leaves, true)).join()) failures.push(`size ${n}: consistency from ${size} differs from PROOF`)
      if (!verifyConsistency(size, n, c, roots[size]!, roots[n]!)) failures.push(`size ${n}: consistency from ${size} does not verify`)
    }
  }
  t.same(failures, [], 'proofs equal the reference and verify, for every leaf and size')
  t.equal(tree.indexOf(5), 4, 'leaf index = seq - 1')
  t.throws(() => tree.inclusionProof(65), { code: 'LEDGER_NO_EVENT' })
  t.throws(() => tree.inclusionProof(10, 9), { code: 'LEDGER_NO_EVENT' }, 'event after the tree size')
  const fresh = LedgerTree.build(db)
  t.not(fresh, tree, 'build() makes an independent tree')
  t.ok(fresh.root().equals(tree.root()), 'and it has the same root')
})

t.test('LedgerTree sees events appended by another connection, and rebuilds when its last leaf is gone', async (t) => {
  const file = join(tempDir(t), 'c.db')
  const a = openCatalog(file)
  const b = openCatalog(file)
  t.teardown(() => {
    a.close()
    b.close()
  })
  for (let i = 1; i <= 5; i++) ev(a, i)
  const tree = LedgerTree.for(a)
  t.equal(tree.size, 5)
  for (let i = 6; i <= 9; i++) ev(b, i)
  t.equal(LedgerTree.for(a).size, 9, "synced the other writer's events")
  t.ok(LedgerTree.for(a).root().equals(LedgerTree.build(b).root()))

  // A rolled-back transaction: the tree saw an event that then vanished.
  const c = openCatalog(join(tempDir(t), 'd.db'))
  t.teardown(() => c.close())
  for (let i = 1; i <= 3; i++) ev(c, i)
  const before = LedgerTree.for(c).root()
  try {
    c.transaction(() => {
      ev(c, 4)
      t.equal(LedgerTree.for(c).size, 4, 'inside the transaction it sees event 4')
      throw new Error('roll back')
    })()
  } catch {
    /* expected */
  }
  ev(c, 99) // another event 4, different hash
  const after = LedgerTree.for(c)
  t.equal(after.size, 4)
  t.ok(after.root().equals(LedgerTree.build(c).root()), 'rebuilt: the rolled-back leaf is not in the tree')
  t.notOk(after.rootAt(3).equals(Buffer.alloc(32)))
  t.ok(after.rootAt(3).equals(before))
})

// ---- canonical-JSON scanner ----------------------------------------------------

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = s
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('isCanonicalJson: true only for texts canonicalize() leaves unchanged', async (t) => {
  const rand = rng(8785)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const strings = [
    '',
    'a',
    'é',
    '😀',
    'line\nbreak',
    'tab\t',
    'q"uote',
    'back\\slash',
    '\u0001',
    '\u001f',
    '\u007f',
    '\u2028',
    '/',
    'A',
    '\ud83d',
    'b',
    'aa',
    'Z',
    '1',
    '€',
  ]
  const numbers = [0, -0, 1, -1, 42, 1e15, 1e16, 123456789012345, 9007199254740991, 1e21, 1.5, -2.25, 0.1, 1e-7, 5e-324, 2 ** 60]
  const value = (depth: number): unknown => {
    const r = rand()
    if (depth > 3 || r < 0.4) return pick<unknown>([...strings, ...numbers, true, false, null])
    if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1))
    const o: Record<string, unknown> = {}
    for (let i = Math.floor(rand() * 5); i > 0; i--) o[pick(strings)] = value(depth + 1)
    return o
  }
  // Texts that are near misses of canonical ones.
  const variants = (s: string): string[] => [
    s,
    JSON.stringify(JSON.parse(s)),
    JSON.stringify(JSON.parse(s), null, 1),
    s.replace(/:/, ': '),
    s.replace(/"([a-z])"/, '"\\u00$1"'),
    s.replace(/\\n/, '\\u000a'),
    s.replace('/', '\\/'),
    s.replace(/(\d)(?=[,\]}])/, '$1.0'),
    s.replace(/(\d)(?=[,\]}])/, '$1e0'),
    s.replace(/\{"(\w+)":([^,{}]+),"(\w+)"/, '{"$3":$2,"$1"'),
    s.replace(/^\{/, '{"a":1,'),
    s + ' ',
    s.replace(/"é"/, '"\\u00e9"'),
    s.replace(/\\u001f/, '\\u001F'),
    s.replace(/-0\b/, '-0'),
    s.replace(/\d+/, '0$&'),
  ]
  let accepted = 0
  let checked = 0
  const unsound: string[] = []
  const incomplete: string[] = []
  const bytesDiffer: string[] = []
  for (let i = 0; i < 4000; i++) {
    const v = value(0)
    let canon: string
    try {
      canon = canonicalize(v) as string
    } catch {
      continue // lone surrogate
    }
    if (!isCanonicalJson(canon) && !/\\u[dD][89abAB]|\\\\|\\"/.test(canon) && !/"[^"]*\\[^"]*":/.test(canon)) incomplete.push(canon)
    for (const text of variants(canon)) {
      checked++
      // The byte scanner (the audit's) gives the string scanner's verdict on the text's UTF-8 (its keys here are ASCII or below U+E000).
      if (!text.includes('\ud83d') && isCanonicalJsonBytes(Buffer.from(text)) !== isCanonicalJson(text)) bytesDiffer.push(text)
      if (!isCanonicalJson(text)) continue
      accepted++
      let ok = false
      try {
        ok = canonicalize(JSON.parse(text)) === text
      } catch {
        /* not canonicalizable */
      }
      if (!ok) unsound.push(text)
    }
  }
  t.same(unsound, [], `never accepts a non-canonical text (${accepted} of ${checked} texts accepted)`)
  t.same(incomplete.slice(0, 5), [], 'accepts the canonical form of values without escapes in keys')
  t.same(bytesDiffer.slice(0, 5), [], 'isCanonicalJsonBytes agrees with isCanonicalJson on the UTF-8 of every text')
  for (const [text, want] of [
    ['{"a":1,"b":[true,false,null],"c":{"d":"x"}}', true],
    ['{}', true],
    ['[]', true],
    ['{"b":1,"a":2}', false],
    ['{"a":1,"a":2}', false],
    ['{"a":1.0}', false],
    ['{"a":1e21}', false],
    ['{"a":1e+21}', true],
    ['{"a":-0}', false],
    ['{"a":"\\u0041"}', false],
    ['{"a":"\\/"}', false],
    ['{"a":"\\u001f"}', true],
    ['{"a":"\\u001F"}', false],
    ['{"a":"\\u000a"}', false],
    ['{"a":"\\n"}', true],
    ['{"a":"\u0001"}', false],
    ['{"a":"\ud800"}', false],
    ['{"a":"\ud83d\ude00"}', true],
    ['{"a":01}', false],
    ['{"a":1} ', false],
    ['{"a" :1}', false],
    ['{"a":12345678901234567890}', false],
  ] as const)
    t.equal(isCanonicalJson(text), want, text)
  // Keys by bytes are in code-point order; canonical order is UTF-16's, which differs where U+E000..U+FFFF meets
  // a character above U+FFFF: there the byte scanner does not decide (false), never accepts the wrong order.
  for (const [text, strWant, bytesWant] of [
    ['{"\u{1f600}":1,"\uff21":2}', true, false],
    ['{"\uff21":1,"\u{1f600}":2}', false, false],
    ['{"\u00e9":1,"\u20ac":2,"\u{1f600}":3}', true, true],
    ['{"\u20ac":1,"\u00e9":2}', false, false],
    ['{"a":"\u00e9\u{1f600}\u00a0"}', true, true],
    ['{"ab":1,"a":2}', false, false],
    ['{"a":1,"ab":2}', true, true],
    ['{"a":[{},[],{"b":[1,{"c":null}]}],"b":true}', true, true],
    ['{"a":[1,]}', false, false],
    ['{"a":tru}', false, false],
    ['{"a":"x"', false, false],
  ] as const) {
    t.equal(isCanonicalJson(text), strWant, `string: ${text}`)
    t.equal(isCanonicalJsonBytes(Buffer.from(text)), bytesWant, `bytes: ${text}`)
  }
  const nested = (d: number): string => (d === 0 ? '1' : `[${nested(d - 1)}]`)
  t.equal(isCanonicalJsonBytes(Buffer.from(nested(200))), true, 'bytes: 200 levels deep')
  t.equal(isCanonicalJsonBytes(Buffer.from(nested(201))), false, 'bytes: 201 levels deep: undecided')
  // Only [from, to) is judged.
  const framed = Buffer.from('x{"a":1}y')
  t.ok(isCanonicalJsonBytes(framed, 1, 8) && !isCanonicalJsonBytes(framed, 1, 7) && !isCanonicalJsonBytes(framed, 1, 9), 'bytes: judges its range only')
})

// ---- the fast audit against walkChain ----------------------------------------------

/** Edits a catalog as an attacker with the file would: raw connection, triggers dropped and recreated. */
function raw(file: string, fn: (db: Database.Database) => void): void {
  const db = new Database(file)
  const triggers = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'").all() as { sql: string }[]
  db.exec('DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;')
  fn(db)
  for (const tr of triggers) db.exec(tr.sql)
  db.close()
}

function walk(db: Db): { problems: ChainProblem[]; n: number } {
  const problems: ChainProblem[] = []
  let n = 0
  for (const _ of walkChain(db, problems)) n++
  return { problems, n }
}

t.test('auditLedger agrees with walkChain and LedgerTree, in one thread and in workers', async (t) => {
  const dir = tempDir(t)
  const cases: [string, (db: Database.Database) => void][] = [
    ['clean', () => undefined],
    ['payload edited', (db) => db.prepare("UPDATE events SET payload = replace(payload, 'event 7', 'event 8') WHERE seq = 7").run()],
    ['event deleted', (db) => db.prepare('DELETE FROM events WHERE seq = 40').run()],
    ['link broken', (db) => db.prepare('UPDATE events SET prev_hash = ? WHERE seq = 33').run('ab'.repeat(32))],
    [
      'non-canonical payload, hash recomputed the walkChain way',
      (db) => {
        const r = db.prepare('SELECT * FROM events WHERE seq = 20').get() as {
          seq: number
          type: string
          at: string
          actor: string
          subject: string
          payload: string
          prev_hash: string
        }
        const payload = JSON.parse(r.payload) as Record<string, unknown>
        const text = JSON.stringify({ nested: payload.nested, i: payload.i, note: payload.note }) // keys out of order
        const h = chainHash(r.prev_hash, { seq: r.seq, type: r.type, at: r.at, actor: r.actor, subject: r.subject, payload })
        // Only the first event is rewritten; later links break, as they would.
        db.prepare('UPDATE events SET payload = ?, hash = ? WHERE seq = 20').run(text, h)
      },
    ],
    [
      'non-canonical payload with a hash over its raw text',
      (db) => {
        const r = db.prepare('SELECT * FROM events WHERE seq = 21').get() as {
          seq: number
          type: string
          at: string
          actor: string
          subject: string
          payload: string
          prev_hash: string
        }
        const text = r.payload.replace('{', '{ ')
        const bytes = `{"actor":${JSON.stringify(r.actor)},"at":${JSON.stringify(r.at)},"payload":${text},"seq":${r.seq},"subject":${JSON.stringify(r.subject)},"type":${JSON.stringify(r.type)}}`
        db.prepare('UPDATE events SET payload = ?, hash = ? WHERE seq = 21').run(
          text,
          createHash('sha256').update(Buffer.from(r.prev_hash, 'hex')).update(bytes).digest('hex'),
        )
      },
    ],
  ]
  cases.push([
    // JavaScript reads stored bytes that are not UTF-8 as U+FFFD, so walkChain's canonical bytes differ from them: a
    // hash over the raw bytes must not pass (as it would in an audit that hashed the stored bytes as they are).
    'payload with bytes that are not UTF-8, hash over those bytes',
    (db) => {
      const r = db.prepare('SELECT seq, type, at, actor, subject, payload, prev_hash FROM events WHERE seq = 22').get() as {
        seq: number
        type: string
        at: string
        actor: string
        subject: string
        payload: string
        prev_hash: string
      }
      const cut = r.payload.indexOf('event 22')
      const payload = Buffer.concat([Buffer.from(r.payload.slice(0, cut)), Buffer.from([0xff, 0xed, 0xa0, 0x80]), Buffer.from(r.payload.slice(cut))])
      const bytes = Buffer.concat([
        Buffer.from(`{"actor":${JSON.stringify(r.actor)},"at":${JSON.stringify(r.at)},"payload":`),
        payload,
        Buffer.from(`,"seq":${r.seq},"subject":${JSON.stringify(r.subject)},"type":${JSON.stringify(r.type)}}`),
      ])
      const h = createHash('sha256').update(Buffer.from(r.prev_hash, 'hex')).update(bytes).digest('hex')
      db.prepare('UPDATE events SET payload = CAST(? AS TEXT), hash = ? WHERE seq = 22').run(payload, h)
    },
  ])
  for (const [name, tamper] of cases) {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.db`)
    const db0 = openCatalog(file)
    for (let i = 1; i <= 100; i++) ev(db0, i)
    db0.close()
    raw(file, tamper)
    const db = openCatalog(file)
    const want = walk(db)
    const sync = auditLedgerSync(db)
    const par = await auditLedger(db, { workers: 3, minRows: 1 })
    const fmt = (ps: ChainProblem[]): string[] => ps.map((p) => `${p.seq} ${p.detail.split(':')[0]}`).sort()
    t.same(fmt(sync.problems), fmt(want.problems), `${name}: one thread reports what walkChain reports`)
    t.equal(sync.events, want.n)
    t.ok(par.workers >= 2, 'worker threads were used')
    // Across a worker boundary a broken link is reported once, where walkChain may also
    // report the next hash; the verdict and the first problem are the same.
    t.equal(par.problems.length === 0, want.problems.length === 0, `${name}: workers give the same verdict`)
    if (want.problems.length) t.equal(par.problems[0]!.seq, want.problems[0]!.seq)
    const tree = LedgerTree.build(db)
    t.ok(sync.root.equals(tree.root()) && par.root.equals(tree.root()), `${name}: same root as the ledger tree`)
    db.close()
  }
})
