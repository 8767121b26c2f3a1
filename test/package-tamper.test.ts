// Every way of tampering with an evidence package that verify-package must
// name: a changed byte in an original, in manifest.json, in an evidence
// sheet; a dropped or edited event; a proof that does not lead to the
// checkpoint; a checkpoint signed by another key; a file added or removed;
// and a package re-signed throughout with another key (consistent with
// itself: only the independently trusted key catches it).
import { spawnSync } from 'node:child_process'
import { cpSync, createWriteStream, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import yazl from 'yazl'
import type { FailureCode, PackageReport } from '../src/export/package-report.js'
import { F, sha256Hex, sha256sums, type ManifestFile, type PackageManifest } from '../src/export/layout.js'
import { buildEvidencePackage } from '../src/export/package.js'
import { verifyEvidencePackage } from '../src/export/verify-package.js'
import { canonicalBytes, canonicalEventBytes, chainHash } from '../src/ledger/canonical.js'
import { signCheckpoint } from '../src/ledger/checkpoint.js'
import { loadOrCreateStationKey, type StationKey } from '../src/ledger/keys.js'
import { formatSignedNote, parseCheckpointBody, parseSignedNote } from '../src/ledger/note.js'
import { cli, station, tempDir } from './helpers.js'

const STATION = { id: 'test-station', name: 'Test Station', timezone: 'Asia/Shanghai' }
const hasPython = spawnSync('python3', ['--version']).status === 0

let key: StationKey
let pristine: string
let zipPath: string
let work: string

t.before(async () => {
  work = tempDir(t)
  const cam = join(work, 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (let i = 1; i <= 4; i++) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_2026112008000${i}_000${i}.MP4`), Buffer.alloc(150_000 + i, i))
  const s = station(t)
  const r = await s.ingest(cam)
  key = loadOrCreateStationKey(s.dataDir, STATION.id)
  zipPath = join(work, 'p.zip')
  await buildEvidencePackage({
    db: s.db,
    vault: s.vault,
    recordingIds: [r.ingested[1]!.id, r.ingested[2]!.id],
    requestedBy: 'a',
    approvedBy: 'b',
    reason: 'r',
    recipient: 'c',
    out: zipPath,
    station: STATION,
    key,
  })
  pristine = join(work, 'pristine')
  mkdirSync(pristine)
  const uz = spawnSync('unzip', ['-q', zipPath, '-d', pristine])
  if (uz.status !== 0) throw new Error('unzip failed')
})

let n = 0
/** A fresh copy of the unzipped package to tamper with. */
function copy(): string {
  const d = join(work, `case-${++n}`)
  cpSync(pristine, d, { recursive: true })
  return d
}
const read = (d: string, f: string): Buffer => readFileSync(join(d, f))
const manifestOf = (d: string): PackageManifest => JSON.parse(read(d, F.manifest).toString()) as PackageManifest
function flipByte(d: string, f: string, at?: number): void {
  const b = read(d, f)
  const i = at ?? Math.floor(b.length / 2)
  b[i] = b[i]! ^ 0x01
  writeFileSync(join(d, f), b)
}
/** What a careful forger also does: SHA256SUMS recomputed for whatever is there now. */
function resum(d: string): void {
  const files: ManifestFile[] = []
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(d, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) walk(p)
      else if (p !== F.sums) files.push({ path: p, sha256: sha256Hex(read(d, p)), size: read(d, p).length })
    }
  }
  walk('')
  writeFileSync(join(d, F.sums), sha256sums(files))
}
/** Rewrites manifest.json (inventory recomputed) and re-signs the package note with `k`. */
function remanifest(d: string, k: StationKey | undefined, edit: (m: PackageManifest) => void = () => undefined): void {
  const m = manifestOf(d)
  edit(m)
  m.files = m.files.filter((f) => existsIn(d, f.path)).map((f) => ({ path: f.path, sha256: sha256Hex(read(d, f.path)), size: read(d, f.path).length }))
  const bytes = Buffer.from(JSON.stringify(m, null, 2) + '\n')
  writeFileSync(join(d, F.manifest), bytes)
  if (k) {
    const body = `bodyvault-evidence-package/1\n${m.packageId}\n${sha256Hex(bytes)}\n`
    const sig = k.sign(Buffer.from(body))
    writeFileSync(join(d, F.packageBody), body)
    writeFileSync(join(d, F.packageSig), sig)
    writeFileSync(join(d, F.packageNote), formatSignedNote(body, [{ name: k.name, keyId: k.keyId, signature: sig }]))
  }
  resum(d)
}
function existsIn(d: string, f: string): boolean {
  try {
    readFileSync(join(d, f))
    return true
  } catch {
    return false
  }
}
/** Verifies with the station's key as the trusted key, or (null) with no trusted key. */
async function check(d: string, trusted: Buffer | null = key.publicKey): Promise<PackageReport> {
  return verifyEvidencePackage(d, trusted ? { trustedKey: trusted } : {})
}
const codes = (r: PackageReport): FailureCode[] => [...new Set(r.failures.map((f) => f.code))].sort()
const hasFailure = (r: PackageReport, code: FailureCode, file?: RegExp | string): boolean =>
  r.failures.some((f) => f.code === code && (file === undefined || (typeof file === 'string' ? f.file === file : file.test(f.file ?? ''))))

t.test('the untouched package verifies', async (t) => {
  const r = await check(pristine)
  t.same(r.failures, [])
  t.ok(r.ok)
})

t.test('a changed byte in an original', async (t) => {
  const d = copy()
  const orig = manifestOf(d).recordings[0]!.file
  flipByte(d, orig)
  const r = await check(d)
  t.notOk(r.ok)
  t.ok(hasFailure(r, 'file-changed', orig), 'named as a changed file')
  t.ok(hasFailure(r, 'recording-mismatch', orig), 'and as a recording that is not its recorded SHA-256')
  t.ok(hasFailure(r, 'sums-mismatch', orig))
  resum(d)
  const r2 = await check(d)
  t.ok(hasFailure(r2, 'file-changed', orig), 'still caught with SHA256SUMS recomputed: the signed manifest disagrees')
  if (hasPython)
    t.match(spawnSync('python3', ['tools/check_package.py'], { cwd: d, encoding: 'utf8' }), { status: 1, stdout: /FAIL recording \d+: originals\// })
  // And the same damage inside a zip.
  const z = join(work, 'changed.zip')
  const zf = new yazl.ZipFile()
  for (const f of manifestOf(d)
    .files.map((x) => x.path)
    .concat([F.manifest, F.sums, F.packageNote, F.packageBody, F.packageSig]))
    zf.addBuffer(read(d, f), f)
  zf.end()
  await new Promise<void>((resolve, reject) => zf.outputStream.pipe(createWriteStream(z)).on('close', resolve).on('error', reject))
  const c = cli(['verify-package', z])
  t.equal(c.code, 1)
  t.match(c.stdout, new RegExp(`FAIL file-changed ${orig.replace(/\./g, '\\.')}: .* the file was changed`))
})

t.test('a changed byte in manifest.json', async (t) => {
  const d = copy()
  const m = read(d, F.manifest).toString()
  writeFileSync(join(d, F.manifest), m.replace('"reason": "r"', '"reason": "s"'))
  const r = await check(d)
  t.ok(hasFailure(r, 'manifest-changed', F.manifest), 'the signed package note names another manifest')
  resum(d)
  t.ok(hasFailure(await check(d), 'manifest-changed', F.manifest), 'also with SHA256SUMS recomputed')
})

t.test('a changed byte in an evidence sheet', async (t) => {
  const d = copy()
  const sheet = manifestOf(d).recordings[0]!.sheet
  writeFileSync(join(d, sheet), read(d, sheet).toString().replace('012345', '012346'))
  const r = await check(d)
  t.ok(hasFailure(r, 'file-changed', sheet))
  t.same(codes(r), ['file-changed', 'sums-mismatch'])
})

t.test('a changed custody report PDF (another hash in the list a clerk prints)', async (t) => {
  const d = copy()
  t.ok(existsIn(d, F.custodyPdf), 'the package carries the PDF report')
  flipByte(d, F.custodyPdf)
  resum(d)
  const r = await check(d)
  t.ok(hasFailure(r, 'file-changed', F.custodyPdf), 'its hash is checked against the signed manifest')
  t.same(codes(r), ['file-changed'])
})

t.test('a dropped event', async (t) => {
  const d = copy()
  const m = manifestOf(d)
  const victim = m.events.find((e) => e.type === 'ingest-session-ended')!
  for (const f of [victim.file, victim.canonical, victim.proof]) rmSync(join(d, f))
  const r = await check(d)
  t.ok(hasFailure(r, 'event-missing', victim.file), 'named as a missing event')
  t.ok(hasFailure(r, 'file-missing', victim.canonical))
  // The careful forger also removes it from the manifest and SHA256SUMS: the package signature breaks.
  remanifest(d, undefined, (mm) => {
    mm.events = mm.events.filter((e) => e.seq !== victim.seq)
    for (const rec of mm.recordings) rec.events = rec.events.filter((s) => s !== victim.seq)
  })
  const r2 = await check(d)
  t.same(codes(r2), ['manifest-changed'], 'a manifest without the event is not the one the station signed')
})

t.test('an edited event', async (t) => {
  const d = copy()
  const m = manifestOf(d)
  const e = m.events.find((x) => x.type === 'ingested')!
  // Plainly edited: its hash no longer matches.
  const ev = JSON.parse(read(d, e.file).toString()) as Record<string, unknown> & { payload: Record<string, unknown>; prev_hash: string }
  ev.payload.officerId = '999999'
  writeFileSync(join(d, e.file), canonicalBytes(ev))
  const r = await check(d)
  t.ok(hasFailure(r, 'event-edited', e.file))
  // Edited with everything recomputed (canonical bytes, hash, manifest, sums): the proof no longer reaches the signed root.
  const body = {
    seq: ev.seq as number,
    type: ev.type as string,
    at: ev.at as string,
    actor: ev.actor as string,
    subject: ev.subject as string,
    payload: ev.payload,
  }
  const hash = chainHash(ev.prev_hash, body)
  writeFileSync(join(d, e.file), canonicalBytes({ ...ev, hash }))
  writeFileSync(join(d, e.canonical), canonicalEventBytes(body))
  remanifest(d, undefined, (mm) => {
    for (const x of mm.events) if (x.seq === e.seq) x.hash = hash
    for (const rec of mm.recordings) if (rec.eventSeq === e.seq) rec.officerId = '999999'
  })
  const r2 = await check(d)
  t.ok(hasFailure(r2, 'proof-invalid', e.proof), 'the edited event is not in the signed tree')
  t.notOk(hasFailure(r2, 'event-edited'), 'its hash is self-consistent now')
  t.ok(hasFailure(r2, 'manifest-changed'))
  if (hasPython)
    t.match(spawnSync('python3', ['tools/check_package.py'], { cwd: d, encoding: 'utf8' }), {
      status: 1,
      stdout: /FAIL event \d+: inclusion proof does not lead to the signed checkpoint root/,
    })
})

t.test('a proof that does not lead to the checkpoint', async (t) => {
  const d = copy()
  const m = manifestOf(d)
  const e = m.events[0]!
  const proof = JSON.parse(read(d, e.proof).toString()) as { path: string[] }
  proof.path[0] = proof.path[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'))
  writeFileSync(join(d, e.proof), canonicalBytes(proof))
  remanifest(d, key) // even re-signed by the station's own key: the proof is still wrong
  const r = await check(d)
  t.same(codes(r), ['proof-invalid'])
  t.match(r.failures[0]!.detail, /does not lead to the signed checkpoint root/)

  const d2 = copy()
  const [a, b] = manifestOf(d2).events
  writeFileSync(join(d2, a!.proof), read(d2, b!.proof)) // another event's (valid) proof
  remanifest(d2, key)
  t.ok(hasFailure(await check(d2), 'proof-invalid', a!.proof), 'a proof of another event')
})

t.test('a checkpoint signed by another key', async (t) => {
  const d = copy()
  const other = loadOrCreateStationKey(tempDir(t), STATION.id)
  const cp = parseCheckpointBody(parseSignedNote(read(d, F.checkpointNote).toString()).text)
  const note = signCheckpoint(other, cp.treeSize, cp.rootHash)
  writeFileSync(join(d, F.checkpointNote), note)
  writeFileSync(join(d, F.checkpointSig), parseSignedNote(note).signatures[0]!.signature)
  remanifest(d, key)
  const r = await check(d)
  t.ok(hasFailure(r, 'checkpoint-signature', F.checkpointNote))
  t.match(r.failures.find((f) => f.code === 'checkpoint-signature')!.detail, /not signed by the package key/)
  const o = spawnSync(
    'openssl',
    ['pkeyutl', '-verify', '-pubin', '-inkey', 'station.pub.pem', '-rawin', '-in', 'checkpoint.body', '-sigfile', 'checkpoint.sig'],
    { cwd: d, encoding: 'utf8' },
  )
  t.not(o.status, 0, 'openssl, as VERIFY.md says, rejects it too')
})

t.test('a file added, a file removed', async (t) => {
  const d = copy()
  writeFileSync(join(d, 'originals', 'extra.mp4'), 'not evidence')
  const r = await check(d)
  t.ok(hasFailure(r, 'file-extra', 'originals/extra.mp4'))
  t.ok(hasFailure(r, 'sums-mismatch', 'originals/extra.mp4'))
  resum(d)
  t.same(codes(await check(d)), ['file-extra'], 'listed in SHA256SUMS: still not in the signed manifest')

  const d2 = copy()
  rmSync(join(d2, F.verify))
  const sheet = manifestOf(d2).recordings[1]!.sheet
  rmSync(join(d2, sheet))
  const r2 = await check(d2)
  t.ok(hasFailure(r2, 'file-missing', F.verify))
  t.ok(hasFailure(r2, 'file-missing', sheet))
  const orig = manifestOf(d2).recordings[0]!.file
  rmSync(join(d2, orig))
  t.ok(hasFailure(await check(d2), 'file-missing', orig), 'a missing original')
})

t.test('a package re-signed throughout with another key: only the trusted key catches it', async (t) => {
  const d = copy()
  const mallory = loadOrCreateStationKey(tempDir(t), STATION.id)
  // Forge: the package key, the checkpoint and the package note all by mallory; an original swapped.
  const cp = parseCheckpointBody(parseSignedNote(read(d, F.checkpointNote).toString()).text)
  const note = signCheckpoint(mallory, cp.treeSize, cp.rootHash)
  writeFileSync(join(d, F.checkpointNote), note)
  writeFileSync(join(d, F.checkpointBody), parseSignedNote(note).text)
  writeFileSync(join(d, F.checkpointSig), parseSignedNote(note).signatures[0]!.signature)
  writeFileSync(join(d, F.pubPem), mallory.pem)
  writeFileSync(join(d, F.vkey), `${mallory.vkey}\n`)
  remanifest(d, mallory, (m) => {
    m.stationKey = {
      ...m.stationKey,
      keyId: mallory.keyId.toString('hex'),
      vkey: mallory.vkey,
      publicKeyHex: mallory.publicKey.toString('hex'),
      fingerprint: mallory.fingerprint,
    }
  })
  const alone = await check(d, null)
  t.same(alone.failures, [], 'consistent with the key it carries')
  t.match(alone.warnings, [/checked against the key inside the package only/])
  const trusted = await check(d)
  t.same(codes(trusted), ['key-untrusted'], 'the station key, obtained independently, does not match')
  t.equal(trusted.trustedKey, 'mismatch')
  const c = cli(['verify-package', d, '--key-hex', key.publicKey.toString('hex')])
  t.equal(c.code, 1)
  t.match(c.stdout, /FAIL key-untrusted/)
  t.match(c.stdout, /\(NOT the trusted key\)/)
})

t.test('zip-level damage: a truncated zip, an unsafe entry name', async (t) => {
  const buf = readFileSync(zipPath)
  const trunc = join(work, 'trunc.zip')
  writeFileSync(trunc, buf.subarray(0, buf.length - 100))
  const r = await verifyEvidencePackage(trunc)
  t.ok(hasFailure(r, 'zip-invalid'))
  const c = cli(['verify-package', trunc, '--json'])
  t.equal(c.code, 1)
  t.match(JSON.parse(c.stdout), { ok: false, failures: [{ code: 'zip-invalid' }] })

  const bad = join(work, 'names.zip')
  const zf = new yazl.ZipFile()
  zf.addBuffer(Buffer.from('x'), 'a b/c d.txt')
  zf.end()
  await new Promise<void>((resolve) => zf.outputStream.pipe(createWriteStream(bad)).on('close', resolve))
  const r2 = await verifyEvidencePackage(bad)
  t.ok(hasFailure(r2, 'zip-invalid', 'a b/c d.txt'), 'an entry name outside the package alphabet')
  t.ok(hasFailure(r2, 'file-missing', F.manifest))
})
