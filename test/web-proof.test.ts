// The browser's own proof checker (web/src/clerks/proof.ts: WebCrypto
// only) against the RFC 6962 / RFC 9162 inclusion vectors of
// test/fixtures/rfc6962 (transparency-dev/merkle testdata): every file must
// get the verdict its `wantErr` asks for, as the station's own verifier
// does (test/merkle-vectors.test.ts). A checker that accepts a bad proof
// would show "verified" on the clerk's page for a rewritten history.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { cosignedBy, cosignerKeyIdOf, fromBase64, groupedFingerprint, parseCheckpointNote, toHex, verifyInclusion } from '../web/src/clerks/proof.js'
import { packageRoot } from '../src/common/paths.js'

const root = join(packageRoot(), 'test/fixtures/rfc6962/inclusion/')

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

t.test('witness co-signatures: the browser checks each line itself (C2SP tlog-cosignature, as the station writes them)', async (t) => {
  // The station's own co-signer (src/ledger/cosignature.ts) writes the lines; the page's checker must accept
  // exactly those, and nothing altered: a co-signature shown as checked that was not is a witness that never was.
  const { generateKeyPairSync, sign } = await import('node:crypto')
  const { cosign, signatureLine } = await import('../src/ledger/cosignature.js')
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  const signer = { name: 'bodyvault/witness-1', publicKey: raw, sign: (d: Uint8Array) => sign(null, d, privateKey) }
  const text = `bodyvault/s1\n12\n${Buffer.alloc(32, 2).toString('base64')}\n`
  const note = parseCheckpointNote(`${text}\n\u2014 bodyvault/s1 ${Buffer.alloc(68, 1).toString('base64')}\n`)!
  const line = signatureLine(cosign(text, signer, 1_764_000_000))
  t.equal(await cosignedBy(note, line, signer.name, raw), 1_764_000_000, 'a real co-signature checks, with its time')
  const b = Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64')
  const flip = (i: number): string => {
    const c = Buffer.from(b)
    c[i] = (c[i] ?? 0) ^ 1
    return `\u2014 ${signer.name} ${c.toString('base64')}\n`
  }
  const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  const bad: [string, Promise<number | null>][] = [
    ['one bit of the signature', cosignedBy(note, flip(40), signer.name, raw)],
    ['one bit of the time', cosignedBy(note, flip(11), signer.name, raw)],
    ['one bit of the key id', cosignedBy(note, flip(0), signer.name, raw)],
    ['another witness key', cosignedBy(note, line, signer.name, other)],
    ['another name', cosignedBy(note, line, 'bodyvault/witness-2', raw)],
    ['another checkpoint', cosignedBy({ ...note, text: text.replace('\n12\n', '\n13\n') }, line, signer.name, raw)],
    [
      'a station signature line (68 bytes), not a co-signature',
      cosignedBy(note, `\u2014 ${signer.name} ${Buffer.alloc(68).toString('base64')}\n`, signer.name, raw),
    ],
  ]
  for (const [what, got] of bad) t.equal(await got, null, what)
  t.equal(toHex(await cosignerKeyIdOf(signer.name, raw)), b.subarray(0, 4).toString('hex'), 'the co-signer key id is the one the station writes')
})
