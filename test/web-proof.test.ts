// The browser's own proof checker (web/src/clerks/proof.ts: WebCrypto
// only) against the RFC 6962 / RFC 9162 inclusion vectors of
// test/fixtures/rfc6962 (transparency-dev/merkle testdata): every file must
// get the verdict its `wantErr` asks for, as the station's own verifier
// does (test/merkle-vectors.test.ts). A checker that accepts a bad proof
// would show "verified" on the clerk's page for a rewritten history.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { fromBase64, groupedFingerprint, parseCheckpointNote, verifyInclusion } from '../web/src/clerks/proof.js'

const root = fileURLToPath(new URL('./fixtures/rfc6962/inclusion/', import.meta.url))

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : []))
    .sort()
}

const bytes = (v: unknown): Uint8Array => (typeof v === 'string' ? (fromBase64(v) ?? new Uint8Array(0)) : new Uint8Array(0))
const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN)

t.test('inclusion vectors: the browser checker agrees with every wantErr', async (t) => {
  const files = jsonFiles(root)
  t.ok(files.length > 50, `${files.length} vectors`)
  let wrong = 0
  for (const file of files) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    const proof = Array.isArray(c.proof) ? c.proof.map(bytes) : []
    const ok = await verifyInclusion(num(c.leafIdx), num(c.treeSize), bytes(c.leafHash), proof, bytes(c.root))
    if (ok === c.wantErr) {
      wrong++
      t.fail(`${file.slice(root.length)}: ${ok ? 'accepted' : 'rejected'}`)
    }
  }
  t.equal(wrong, 0, 'no vector misjudged')
})

t.test('checkpoint notes: what parses and what does not', async (t) => {
  const sig = `\u2014 bodyvault/s1 ${Buffer.alloc(68, 1).toString('base64')}\n`
  const rootB64 = Buffer.alloc(32, 2).toString('base64')
  const good = `bodyvault/s1\n12\n${rootB64}\n\n${sig}`
  const n = parseCheckpointNote(good)
  t.same([n?.origin, n?.treeSize, n?.signatures.length, n?.text], ['bodyvault/s1', 12, 1, `bodyvault/s1\n12\n${rootB64}\n`])
  const bad: [string, string][] = [
    ['no blank line', `bodyvault/s1\n12\n${rootB64}\n${sig}`],
    ['a size with a leading zero', `bodyvault/s1\n012\n${rootB64}\n\n${sig}`],
    ['a short root', `bodyvault/s1\n12\nAAAA\n\n${sig}`],
    ['a signature line without the em dash', `bodyvault/s1\n12\n${rootB64}\n\n- bodyvault/s1 ${Buffer.alloc(68).toString('base64')}\n`],
    ['no final newline', good.slice(0, -1)],
  ]
  for (const [what, note] of bad) t.equal(parseCheckpointNote(note), null, what)
  t.equal(groupedFingerprint('0123456789abcdef'), '0123 4567 89ab cdef')
})
