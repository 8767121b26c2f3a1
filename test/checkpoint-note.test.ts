// Signed-note and checkpoint text formats (src/ledger/note.ts): the Go
// reference vector, our own signatures parsed back and verified with
// node:crypto and with openssl, and malformed notes rejected.
import { spawnSync } from 'node:child_process'
import { createHash, createPrivateKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { packageRoot } from '../src/common/paths.js'
import { emptyRoot } from '../src/ledger/merkle.js'
import {
  ed25519PublicKey,
  findValidSignature,
  formatCheckpointBody,
  formatSignedNote,
  keyId,
  parseCheckpointBody,
  parseSignedNote,
  parseVkey,
  rawPublicKey,
  spkiFingerprint,
  spkiPem,
  vkeyString,
} from '../src/ledger/note.js'
import { tempDir } from './helpers.js'

// The example key and note of the Go reference implementation
// (golang.org/x/mod/sumdb/note, note_test.go; BSD-style licence).
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`

/** Ed25519 private key from a 32-byte seed (PKCS#8 DER prefix + seed). */
function fromSeed(seed: Buffer) {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
}

t.test('the Go sumdb/note vector: key id, vkey, note bytes, signature', async (t) => {
  const v = parseVkey(GO_VKEY)
  t.equal(v.name, 'PeterNeumann')
  t.equal(v.keyId.toString('hex'), 'c74f20a3')
  // key id = SHA-256(name || "\n" || 0x01 || key)[:4], computed independently here
  t.equal(createHash('sha256').update('PeterNeumann\n').update(Uint8Array.of(1)).update(v.publicKey).digest().subarray(0, 4).toString('hex'), 'c74f20a3')
  t.equal(keyId('PeterNeumann', v.publicKey).toString('hex'), 'c74f20a3')
  t.equal(vkeyString('PeterNeumann', v.publicKey), GO_VKEY)

  const note = parseSignedNote(GO_NOTE)
  t.equal(note.text, GO_TEXT)
  t.equal(note.signatures.length, 1)
  t.ok(findValidSignature(note, v.publicKey), 'the published signature verifies')
  t.ok(findValidSignature(note, v.publicKey, 'PeterNeumann'))
  t.notOk(findValidSignature(note, v.publicKey, 'Someone'), 'not under another key name')
  t.notOk(findValidSignature(parseSignedNote(GO_NOTE.replace('cryptography', 'cryptographY')), v.publicKey), 'an edited text does not verify')

  // Ed25519 is deterministic: signing with the published private key gives the published note.
  const seed = Buffer.from(GO_SKEY.split('+').slice(4).join('+'), 'base64') // the base64 itself may hold '+'
  t.equal(seed[0], 1)
  const priv = fromSeed(seed.subarray(1))
  t.ok(rawPublicKey(ed25519PublicKey(v.publicKey)).equals(v.publicKey))
  const sig = sign(null, Buffer.from(GO_TEXT), priv)
  t.equal(formatSignedNote(GO_TEXT, [{ name: 'PeterNeumann', keyId: v.keyId, signature: sig }]), GO_NOTE, 'our formatter reproduces the note byte for byte')

  t.throws(() => parseVkey(GO_VKEY.replace('c74f20a3', 'c74f20a4')), { code: 'NOTE_VKEY' }, 'a vkey whose id does not match')
  t.throws(() => parseVkey('PeterNeumann+c74f20a3+AhpcJQ=='), { code: 'NOTE_VKEY' })
})

t.test('a checkpoint we sign parses back and verifies with node:crypto and with openssl', async (t) => {
  const dir = tempDir(t)
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const pub = rawPublicKey(publicKey)
  const name = 'bodyvault/station-01'
  const root = createHash('sha256').update('some root').digest()
  const body = formatCheckpointBody({ origin: name, treeSize: 1234, rootHash: root })
  t.equal(body, `bodyvault/station-01\n1234\n${root.toString('base64')}\n`, 'C2SP tlog-checkpoint body: origin, size, base64 root')
  const sig = sign(null, Buffer.from(body), privateKey)
  const note = formatSignedNote(body, [{ name, keyId: keyId(name, pub), signature: sig }])
  t.match(note, /^bodyvault\/station-01\n1234\n[A-Za-z0-9+/]{43}=\n\n\u2014 bodyvault\/station-01 [A-Za-z0-9+/]{91}=\n$/)

  const parsed = parseSignedNote(note)
  const cp = parseCheckpointBody(parsed.text)
  t.same([cp.origin, cp.treeSize, cp.rootHash.toString('hex'), cp.extensions], [name, 1234, root.toString('hex'), []])
  const s = parsed.signatures[0]!
  t.equal(s.keyId.toString('hex'), keyId(name, pub).toString('hex'))
  t.ok(verify(null, Buffer.from(parsed.text), publicKey, s.signature), 'node:crypto verifies the parsed signature')
  t.ok(findValidSignature(parsed, pub))
  const other = rawPublicKey(generateKeyPairSync('ed25519').publicKey)
  t.notOk(findValidSignature(parsed, other), 'not with another key')

  // openssl, with the files an evidence package ships.
  writeFileSync(join(dir, 'station.pub.pem'), spkiPem(pub))
  writeFileSync(join(dir, 'checkpoint.body'), parsed.text)
  writeFileSync(join(dir, 'checkpoint.sig'), s.signature)
  const ok = spawnSync(
    'openssl',
    ['pkeyutl', '-verify', '-pubin', '-inkey', 'station.pub.pem', '-rawin', '-in', 'checkpoint.body', '-sigfile', 'checkpoint.sig'],
    { cwd: dir, encoding: 'utf8' },
  )
  t.equal(ok.status, 0, ok.stderr)
  t.match(ok.stdout, /Signature Verified Successfully/)
  writeFileSync(join(dir, 'checkpoint.body'), parsed.text.replace('1234', '1235'))
  const bad = spawnSync(
    'openssl',
    ['pkeyutl', '-verify', '-pubin', '-inkey', 'station.pub.pem', '-rawin', '-in', 'checkpoint.body', '-sigfile', 'checkpoint.sig'],
    { cwd: dir, encoding: 'utf8' },
  )
  t.not(bad.status, 0, 'openssl rejects an edited body')
  const fp = spawnSync('sh', ['-c', 'openssl pkey -pubin -in station.pub.pem -outform DER | sha256sum'], { cwd: dir, encoding: 'utf8' })
  t.equal(fp.stdout.split(' ')[0], spkiFingerprint(pub), 'the fingerprint VERIFY.md tells to compute')

  t.equal(formatCheckpointBody({ origin: 'o', treeSize: 0, rootHash: emptyRoot() }), `o\n0\n${emptyRoot().toString('base64')}\n`, 'the empty tree')
})

t.test('malformed notes and checkpoints are rejected with NoteError codes', async (t) => {
  const good = `o\n1\n${Buffer.alloc(32).toString('base64')}\n`
  const sigLine = `\u2014 o ${Buffer.alloc(68).toString('base64')}\n`
  t.ok(parseSignedNote(`${good}\n${sigLine}`))
  for (const [what, note] of [
    ['no blank line', `${good}${sigLine}`],
    ['no signature', `${good}\n`],
    ['hyphen instead of em dash', `${good}\n- o ${Buffer.alloc(68).toString('base64')}\n`],
    ['no final newline', `${good}\n${sigLine.slice(0, -1)}`],
    ['bad base64', `${good}\n\u2014 o ####\n`],
    ['key name with +', `${good}\n\u2014 o+x ${Buffer.alloc(68).toString('base64')}\n`],
    ['control character in text', `o\u0001\n1\n${Buffer.alloc(32).toString('base64')}\n\n${sigLine}`],
  ] as const)
    t.throws(() => parseSignedNote(note), { code: 'NOTE_FORMAT' }, what)
  for (const [what, body] of [
    ['two lines', 'o\n1\n'],
    ['size with a leading zero', `o\n01\n${Buffer.alloc(32).toString('base64')}\n`],
    ['negative size', `o\n-1\n${Buffer.alloc(32).toString('base64')}\n`],
    ['short root', `o\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['empty origin', `\n1\n${Buffer.alloc(32).toString('base64')}\n`],
  ] as const)
    t.throws(() => parseCheckpointBody(body), { code: /NOTE_FORMAT|CHECKPOINT_FORMAT/ }, what)
  t.same(parseCheckpointBody(`o\n1\n${Buffer.alloc(32).toString('base64')}\next one\n`).extensions, ['ext one'], 'extension lines are kept')
  t.throws(() => keyId('has space', Buffer.alloc(32)), { code: 'NOTE_KEY_NAME' })
})

t.test('a key made and its public half read, over and over, never hangs the process (Node 20: JWK export under the key mutex)', async (t) => {
  // A child process, so that a hang is a failed check and not a stuck suite: keys made, their raw public half read, for 6 s.
  const note = pathToFileURL(join(packageRoot(), 'dist', 'src', 'ledger', 'note.js')).href
  const loop = `import { generateKeyPairSync, createPublicKey } from 'node:crypto'
const { rawPublicKey } = await import(${JSON.stringify(note)})
const t0 = Date.now(); let n = 0; const junk = []
while (Date.now() - t0 < 6000) {
  const { privateKey } = generateKeyPairSync('ed25519')
  if (rawPublicKey(createPublicKey(privateKey)).length !== 32) throw new Error('not 32 bytes')
  junk.push('x'.repeat(100)); if (junk.length > 1000) junk.length = 0
  n++
}
console.log(n)`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', loop], { encoding: 'utf8', timeout: 40_000 })
  t.equal(r.signal, null, `the loop ended by itself (${r.signal ? `killed by ${r.signal} after 40 s: it hung` : 'in time'})`)
  t.equal(r.status, 0, r.stderr)
  t.ok(Number(r.stdout) > 1000, `${r.stdout.trim()} keys made and read in 6 s`)
  console.log(`# rawPublicKey under GC: ${r.signal ? 'HUNG' : `${r.stdout.trim()} keys in 6 s`}`)
})
