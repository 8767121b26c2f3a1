// The pure parts of the anchors: co-signatures (C2SP tlog-cosignature/v1),
// the witness protocol's messages (C2SP tlog-witness add-checkpoint), the
// restore statement, and the verdict on an outside checkpoint, as tables.
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import t from 'tap'
import { formatAddCheckpoint, parseAddCheckpoint, parseSizeBody } from '../src/anchor/protocol.js'
import { judge, reconcileOutside, type OutsideCopy } from '../src/anchor/reconcile.js'
import { witnessPeers } from '../src/anchor/settings.js'
import {
  asCosignature,
  cosign,
  cosignedMessage,
  cosignerKeyId,
  cosignerVkey,
  findCosignature,
  parseWitnessVkey,
  signatureLine,
} from '../src/ledger/cosignature.js'
import { formatCheckpointBody, formatSignedNote, keyId, parseSignedNote, rawPublicKey, vkeyString } from '../src/ledger/note.js'
import { parseRestoreStatement, restoreStatementText, rolledBackBy, type RestoreRecord } from '../src/ledger/restore.js'
import { MerkleTree, leafHash } from '../src/ledger/merkle.js'

function signer(name: string): { name: string; publicKey: Buffer; sign(d: Uint8Array): Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { name, publicKey: rawPublicKey(publicKey), sign: (d) => sign(null, d, privateKey) }
}

function checkpointNote(log: ReturnType<typeof signer>, size: number, root: Buffer): string {
  const text = formatCheckpointBody({ origin: log.name, treeSize: size, rootHash: root })
  return formatSignedNote(text, [{ name: log.name, keyId: keyId(log.name, log.publicKey), signature: log.sign(Buffer.from(text)) }])
}

t.test('co-signatures: key id with algorithm 0x04, the signed message, the line, verification', async (t) => {
  const log = signer('bodyvault/station-a')
  const w = signer('bodyvault/station-b')
  const note = checkpointNote(log, 7, Buffer.alloc(32, 3))
  const text = parseSignedNote(note).text
  // The key id: SHA-256(name || "\n" || 0x04 || key)[0:4], not the log key id (0x01).
  const want = createHash('sha256').update('bodyvault/station-b\n').update(Uint8Array.of(4)).update(w.publicKey).digest().subarray(0, 4)
  t.same(cosignerKeyId(w.name, w.publicKey), want)
  t.not(cosignerKeyId(w.name, w.publicKey).toString('hex'), keyId(w.name, w.publicKey).toString('hex'))
  t.equal(cosignedMessage(text, 1679315147).toString(), `cosignature/v1\ntime 1679315147\n${text}`)

  const line = cosign(text, w, 1679315147)
  t.equal(line.signature.length, 72, '8-byte timestamp and 64-byte signature')
  t.equal(line.signature.readBigUInt64BE(0), 1679315147n, 'big-endian timestamp first')
  const cosigned = parseSignedNote(note + signatureLine(line))
  t.equal(cosigned.signatures.length, 2)
  t.match(findCosignature(cosigned, w.publicKey), { name: w.name, timestamp: 1679315147 })
  t.match(findCosignature(cosigned, w.publicKey, w.name), { timestamp: 1679315147 })
  t.equal(findCosignature(cosigned, w.publicKey, 'bodyvault/other'), undefined, 'another name')
  t.equal(findCosignature(cosigned, log.publicKey), undefined, "the log's own signature is not a co-signature")
  t.equal(findCosignature(cosigned, signer('x').publicKey), undefined, 'another key')

  // A co-signature over another checkpoint, another time, or flipped bits does not verify.
  const other = parseSignedNote(checkpointNote(log, 8, Buffer.alloc(32, 3)) + signatureLine(line))
  t.equal(findCosignature(other, w.publicKey), undefined, 'moved to another checkpoint')
  const c = asCosignature(line)!
  const later = signatureLine({ name: w.name, keyId: line.keyId, signature: Buffer.concat([Buffer.from([0, 0, 0, 0, 100, 24, 80, 204]), c.signature]) })
  t.equal(findCosignature(parseSignedNote(note + later), w.publicKey), undefined, 'timestamp changed')
  const flipped = Buffer.from(line.signature)
  flipped[20]! ^= 1
  t.equal(findCosignature(parseSignedNote(note + signatureLine({ ...line, signature: flipped })), w.publicKey), undefined, 'a flipped bit')
  t.equal(asCosignature({ ...line, signature: line.signature.subarray(8) }), undefined, 'a plain 64-byte signature is not a co-signature')
})

t.test('witness keys: the station vkey (0x01) or a co-signer vkey (0x04); a wrong key id is refused', async (t) => {
  const w = signer('bodyvault/station-b')
  t.same(parseWitnessVkey(vkeyString(w.name, w.publicKey)), { name: w.name, publicKey: w.publicKey })
  t.same(parseWitnessVkey(cosignerVkey(w.name, w.publicKey)), { name: w.name, publicKey: w.publicKey })
  const bad = vkeyString(w.name, w.publicKey).replace(/\+([0-9a-f]{8})\+/, (_m, id: string) => `+${id === '00000000' ? '00000001' : '00000000'}+`)
  t.throws(() => parseWitnessVkey(bad), { code: 'NOTE_VKEY', message: /does not match its name and key/ })
  t.throws(() => parseWitnessVkey('bodyvault/x'), { code: 'NOTE_VKEY' })
  const peers = witnessPeers([{ vkey: vkeyString(w.name, w.publicKey), url: 'http://127.0.0.1:9/' }])
  t.match(peers, [{ name: w.name, url: 'http://127.0.0.1:9' }], 'trailing slash dropped')
  t.throws(() => witnessPeers([{ vkey: bad }]), { code: 'CONFIG_INVALID', message: /witnesses\.0\.vkey/ })
  t.throws(() => witnessPeers([{ vkey: vkeyString(w.name, w.publicKey) }], w.name), { message: /this station itself/ })
  t.throws(() => witnessPeers([{ vkey: vkeyString(w.name, w.publicKey) }, { vkey: vkeyString(w.name, w.publicKey) }]), { message: /listed twice/ })
})

t.test('add-checkpoint bodies: format and parse; malformed ones refused', async (t) => {
  const proof = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)]
  const note = 'bodyvault/a\n5\n' + Buffer.alloc(32).toString('base64') + '\n\n\u2014 bodyvault/a AAAA\n'
  const body = formatAddCheckpoint({ oldSize: 3, proof, note })
  t.equal(body, `old 3\n${proof[0]!.toString('base64')}\n${proof[1]!.toString('base64')}\n\n${note}`)
  t.same(parseAddCheckpoint(body), { oldSize: 3, proof, note })
  t.same(parseAddCheckpoint(formatAddCheckpoint({ oldSize: 0, proof: [], note })), { oldSize: 0, proof: [], note })
  for (const [bad, why] of [
    [`old 03\n\n${note}`, 'leading zero'],
    [`old -1\n\n${note}`, 'negative'],
    [`old 3\nnot-a-hash\n\n${note}`, 'a proof line that is not a hash'],
    [`old 3\n${note}`, 'no empty line'],
    [`old 3\n${Array.from({ length: 64 }, () => proof[0]!.toString('base64')).join('\n')}\n\n${note}`, '64 proof lines'],
    [`size 3\n\n${note}`, 'no "old"'],
  ] as const)
    t.throws(() => parseAddCheckpoint(bad), { code: 'WITNESS_FORMAT' }, why)
  t.equal(parseSizeBody('42\n'), 42)
  t.equal(parseSizeBody('042\n'), undefined)
  t.equal(parseSizeBody('42'), undefined)
})

t.test('restore statements: text form, parsed back', async (t) => {
  const s = {
    origin: 'bodyvault/a',
    from: { treeSize: 20, rootHash: 'ab'.repeat(32) },
    to: { treeSize: 12, rootHash: 'cd'.repeat(32) },
    at: '2026-03-01T10:00:00.000Z',
  }
  const text = restoreStatementText(s)
  t.equal(
    text,
    `bodyvault-restore/1\nbodyvault/a\nfrom 20 ${Buffer.from('ab'.repeat(32), 'hex').toString('base64')}\nto 12 ${Buffer.from('cd'.repeat(32), 'hex').toString('base64')}\nat 2026-03-01T10:00:00.000Z\n`,
  )
  t.same(parseRestoreStatement(text), s)
  t.throws(() => parseRestoreStatement(text.replace('from 20', 'from 020')), { code: 'RESTORE_FORMAT' })
  t.throws(() => parseRestoreStatement(`${text}extra\n`), { code: 'RESTORE_FORMAT' })
})

t.test('the verdict on an outside checkpoint, as a table', async (t) => {
  const tree = new MerkleTree()
  for (let i = 0; i < 10; i++) tree.append(leafHash(Buffer.from([i])))
  const root = (n: number): string => tree.rootAt(n).toString('hex')
  const other = 'ee'.repeat(32)
  const restore: RestoreRecord = {
    seq: 9,
    payload: {} as RestoreRecord['payload'],
    statement: { origin: 'bodyvault/a', from: { treeSize: 30, rootHash: other }, to: { treeSize: 8, rootHash: root(8) }, at: '2026-03-01T10:00:00.000Z' },
  }
  const copy = (treeSize: number, rootHash: string, at: string | null = '2026-03-01T09:00:00.000Z', o: Partial<OutsideCopy> = {}): OutsideCopy => ({
    source: 'log',
    where: 'checkpoint-log:1',
    origin: 'bodyvault/a',
    treeSize,
    rootHash,
    at,
    signed: true,
    ...o,
  })
  const cases: [string, OutsideCopy, RestoreRecord[], string][] = [
    ['same size, same root', copy(10, root(10)), [], 'matches'],
    ['an older checkpoint still matching', copy(4, root(4)), [], 'matches'],
    ['the empty tree', copy(0, other), [], 'matches'],
    ['another root at a size the ledger has', copy(6, other), [], 'rewritten'],
    ['larger than the ledger', copy(12, other), [], 'ahead'],
    ['larger, but a restore went back from 30 to 8, and it is older than the statement', copy(12, other), [restore], 'rolled-back'],
    ['another root at 9 (between to and from), older than the statement', copy(9, other), [restore], 'rolled-back'],
    ['another root at 9, but made after the statement (the new branch rewritten)', copy(9, other, '2026-03-01T11:00:00.000Z'), [restore], 'rewritten'],
    ['another root at 6, below the restore point', copy(6, other), [restore], 'rewritten'],
    ['larger than the restore said it went back from', copy(31, other), [restore], 'ahead'],
    ['no time known', copy(12, other, null), [restore], 'ahead'],
    ['a restore event whose statement did not verify', copy(12, other), [{ ...restore, statement: undefined }], 'ahead'],
    ['not signed by the station key', copy(10, root(10), undefined, { signed: false }), [], 'unsigned'],
    ['another origin', copy(10, root(10), undefined, { origin: 'bodyvault/b' }), [], 'other-origin'],
  ]
  for (const [name, c, restores, want] of cases) t.equal(judge(tree, restores, c, 'bodyvault/a'), want, name)
  t.equal(rolledBackBy([restore], 8, '2026-03-01T09:00:00.000Z'), restore, 'to <= size')
  t.equal(rolledBackBy([restore], 7, '2026-03-01T09:00:00.000Z'), undefined)

  // The report: known outside but missing inside; several of one kind summed up.
  const rows = [{ treeSize: 4, rootHash: root(4), origin: 'bodyvault/a' }]
  t.same(reconcileOutside(tree, rows, [], [copy(4, root(4))], 'bodyvault/a'), [], 'in the catalog too')
  t.match(reconcileOutside(tree, rows, [], [copy(10, root(10))], 'bodyvault/a'), [
    { subject: 'checkpoint-log:1', detail: /is not in the catalog: checkpoint rows were deleted/ },
  ])
  const many = [5, 6, 7, 8, 9].map((n) => copy(n, other, undefined, { where: `checkpoint-log:${n}` }))
  t.match(reconcileOutside(tree, rows, [], many, 'bodyvault/a'), [
    { subject: 'checkpoint-log:5', detail: /first 5 events no longer have the root signed in checkpoint-log:5 .*history was rewritten/ },
    { subject: 'checkpoint-log:6' },
    { subject: 'checkpoint-log:7' },
    { subject: 'checkpoint-log:8', detail: 'and 2 more like these in the same place' },
  ])
  t.match(
    reconcileOutside(
      tree,
      rows,
      [{ ...restore, statement: undefined, payload: { from: { treeSize: 30 }, to: { treeSize: 8 } } as RestoreRecord['payload'] }],
      [],
      'bodyvault/a',
    ),
    [{ subject: 'event:9', detail: /not signed by the station key: a rollback nobody said out loud/ }],
  )
})
