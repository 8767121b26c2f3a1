// The one re-hash loop of verify (src/vault/rehash.ts), run for the
// originals (src/verify/vault.ts) and the derivatives (src/media/check.ts).
// What would make it lie: an altered object, or one of another size, taken
// as good; an object missing from the vault taken as evicted (or the other
// way round); an unreadable one dropped; the same object judged otherwise
// by the thread pool than in this thread; more objects read at once than
// asked (memory bounded by lanes x chunk, whatever the vault holds).
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import t from 'tap'
import type { CopyResult } from '../src/vault/hash.js'
import { hashFile } from '../src/vault/hash.js'
import { HashPool } from '../src/vault/hash-pool.js'
import { rehashObjects } from '../src/vault/rehash.js'
import { station } from './helpers.js'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

t.test('each object judged once, the same by the thread pool and in this thread, never more at once than the lanes', async (t) => {
  const s = station(t)
  const put = (b: Buffer): string => {
    const h = sha(b)
    mkdirSync(dirname(s.vault.objectPath(h)), { recursive: true })
    writeFileSync(s.vault.objectPath(h), b)
    return h
  }
  const good = Array.from({ length: 12 }, () => randomBytes(50_000 + Math.floor(Math.random() * 50_000)))
  const list = new Map<string, { size: number; who: string }>(good.map((b, i) => [put(b), { size: b.length, who: `good ${i}` }]))
  const altered = randomBytes(70_000)
  const alteredSha = sha(altered)
  put(altered)
  const bad = Buffer.from(altered)
  bad[100] = bad[100]! ^ 0xff
  writeFileSync(s.vault.objectPath(alteredSha), bad)
  list.set(alteredSha, { size: altered.length, who: 'altered' })
  const resized = randomBytes(1000)
  list.set(put(resized), { size: 999, who: 'recorded one byte short' })
  const evicted = sha(randomBytes(10))
  list.set(evicted, { size: 10, who: 'evicted' })
  const lost = sha(randomBytes(10))
  list.set(lost, { size: 10, who: 'lost' })
  const unreadable = sha(randomBytes(10))
  mkdirSync(s.vault.objectPath(unreadable), { recursive: true }) // a folder where the file should be: EISDIR
  list.set(unreadable, { size: 10, who: 'unreadable' })

  const pool = new HashPool({ threads: 2, chunk: 16 << 10 })
  t.teardown(() => pool.close())
  const run = async (hash: (path: string) => Promise<CopyResult>, lanes: number) => {
    let now = 0
    let most = 0
    const done: number[] = []
    const r = await rehashObjects(s.vault, list, {
      hash: async (path) => {
        most = Math.max(most, ++now)
        try {
          return await hash(path)
        } finally {
          now--
        }
      },
      lanes,
      subject: (x) => `object:${x}`,
      usedBy: (u) => u.who,
      altered: 'the object was altered',
      mayBeAbsent: (x) => x === evicted,
      onObject: (n) => done.push(n),
    })
    const sorted = (ps: { subject: string; detail: string }[]) => ps.map((p) => `${p.subject} ${p.detail}`).sort()
    return { r: { ...r, problems: sorted(r.problems), missing: sorted(r.missing) }, most, done }
  }
  const inPool = await run((p) => pool.hash(p), 3)
  const inThread = await run((p) => hashFile(p, 16 << 10), 3)
  t.same(inPool.r, inThread.r, 'the thread pool and this thread judge every object alike')
  const { r } = inPool
  t.equal(r.objects, list.size, 'every object looked at once')
  t.same(
    inPool.done,
    Array.from({ length: list.size }, (_, i) => i + 1),
    'progress counts each once, in order',
  )
  t.equal(r.bytes, good.reduce((n, b) => n + b.length, 0) + altered.length + resized.length, 'the bytes of the files read')
  t.equal(r.absent, 1, 'the evicted one: absent on the record, not a problem')
  t.same(r.missing, [`object:${lost} missing from the vault; used by lost`], 'the lost one: missing, apart (verify asks the ledger again)')
  t.equal(r.problems.length, 3, 'three problems')
  t.match(r.problems.join('\n'), new RegExp(`object:${alteredSha} content hashes to [0-9a-f]{64} \\(70000 bytes\\): the object was altered; used by altered`))
  t.match(r.problems.join('\n'), /size 1000 differs from the recorded 999; used by recorded one byte short/)
  t.match(r.problems.join('\n'), new RegExp(`object:${unreadable} unreadable: .*EISDIR.*; used by unreadable`))
  t.ok(inPool.most <= 3 && inThread.most <= 3, `never more than 3 at once (pool ${inPool.most}, thread ${inThread.most})`)
  t.ok(inPool.most > 1, 'and more than one at once: the lanes are used')
  t.equal((await run((p) => pool.hash(p), 1)).most, 1, 'one lane: one at a time')
})
