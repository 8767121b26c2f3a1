// RFC 6962 / RFC 9162 proof vectors (test/fixtures/rfc6962, from
// transparency-dev/merkle testdata, Apache-2.0): every file must get the
// verdict its `wantErr` asks for.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { verifyConsistency, verifyInclusion } from '../src/ledger/merkle-proofs.js'
import { packageRoot } from '../src/common/paths.js'

const root = join(packageRoot(), 'test/fixtures/rfc6962/')

function jsonFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...jsonFiles(p))
    else if (e.isFile() && e.name.endsWith('.json')) out.push(p)
  }
  return out.sort()
}

type Case = Record<string, unknown>

function readCase(file: string): Case {
  const v: unknown = JSON.parse(readFileSync(file, 'utf8'))
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: not a JSON object`)
  return v as Case
}

/** A size or index: a number as given; anything else becomes NaN (which the verifiers reject). */
function num(v: unknown): number {
  return typeof v === 'number' ? v : Number.NaN
}

/** A base64 hash; null or absent means no bytes. */
function hash(v: unknown): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0)
  if (typeof v !== 'string') throw new Error(`expected a base64 string, got ${JSON.stringify(v)}`)
  return Buffer.from(v, 'base64')
}

/** A list of base64 hashes; null or absent means the empty proof. */
function hashes(v: unknown): Buffer[] {
  if (v === null || v === undefined) return []
  if (!Array.isArray(v)) throw new Error(`expected an array, got ${JSON.stringify(v)}`)
  return v.map(hash)
}

function wantErr(c: Case, file: string): boolean {
  if (typeof c.wantErr !== 'boolean') throw new Error(`${file}: wantErr missing`)
  return c.wantErr
}

t.test('inclusion vectors', async (t) => {
  const files = jsonFiles(join(root, 'inclusion'))
  t.ok(files.length > 0, 'found inclusion vectors')
  for (const file of files) {
    const c = readCase(file)
    const ok = verifyInclusion(num(c.leafIdx), num(c.treeSize), hash(c.leafHash), hashes(c.proof), hash(c.root))
    const want = !wantErr(c, file)
    t.equal(ok, want, `${relative(root, file)}: ${String(c.desc)} -> ${want ? 'accept' : 'reject'}`)
  }
})

t.test('consistency vectors', async (t) => {
  const files = jsonFiles(join(root, 'consistency'))
  t.ok(files.length > 0, 'found consistency vectors')
  for (const file of files) {
    const c = readCase(file)
    const ok = verifyConsistency(num(c.size1), num(c.size2), hashes(c.proof), hash(c.root1), hash(c.root2))
    const want = !wantErr(c, file)
    t.equal(ok, want, `${relative(root, file)}: ${String(c.desc)} -> ${want ? 'accept' : 'reject'}`)
  }
})
