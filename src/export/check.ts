/**
 * Offline checks of an evidence package, on its files' hashes and (for the
 * small ones) contents. Pure: the caller reads the zip or folder (see
 * verify-package.ts). Every failure names its file and says what is wrong;
 * codes are stable (./package-report.ts):
 *
 *   file-missing, file-extra, file-changed, file-unreadable, sums-mismatch,
 *   key-invalid, key-untrusted, package-signature, manifest-changed,
 *   manifest-invalid, checkpoint-invalid, checkpoint-signature,
 *   checkpoint-mismatch, event-missing, event-invalid, event-edited,
 *   event-chain, proof-invalid, recording-mismatch, cosignature-invalid,
 *   cosignature-missing
 * Here: the keys, the signed notes, the manifest, SHA256SUMS and the
 * inventory; the events, proofs and recordings in ./check-trail.ts; the
 * witnesses' co-signatures in ./check-cosignatures.ts.
 */
import { createPublicKey } from 'node:crypto'
import {
  findValidSignature,
  keyId,
  NoteError,
  parseCheckpointBody,
  parseSignedNote,
  parseVkey,
  rawPublicKey,
  spkiFingerprint,
  type CheckpointBody,
  type SignedNote,
} from '../ledger/note.js'
import { checkCosignatures, type WitnessKey } from './check-cosignatures.js'
import { checkTrail } from './check-trail.js'
import { F, parsePackageNoteText, parseSha256sums, PACKAGE_FORMAT, UNLISTED, type PackageManifest } from './layout.js'
import { isHex, isInt, isObj, type FailureCode, type PackageEntry, type PackageFailure, type PackageReport } from './package-report.js'

/** Shape check of manifest.json: enough for the checks below to read it safely. */
function manifestProblem(m: unknown): string | undefined {
  if (!isObj(m)) return 'not a JSON object'
  if (m.format !== PACKAGE_FORMAT) return `format is ${JSON.stringify(m.format)}, expected ${PACKAGE_FORMAT}`
  if (typeof m.packageId !== 'string') return 'packageId missing'
  if (!isObj(m.checkpoint) || typeof m.checkpoint.origin !== 'string' || !isInt(m.checkpoint.treeSize) || !isHex(m.checkpoint.rootHash, 64))
    return 'checkpoint missing or malformed'
  if (!isObj(m.stationKey) || !isHex(m.stationKey.publicKeyHex, 64)) return 'stationKey missing or malformed'
  if (!Array.isArray(m.files) || !m.files.every((f) => isObj(f) && typeof f.path === 'string' && isHex(f.sha256, 64) && isInt(f.size)))
    return 'files missing or malformed'
  if (
    !Array.isArray(m.events) ||
    !m.events.every(
      (e) =>
        isObj(e) &&
        isInt(e.seq) &&
        e.seq > 0 &&
        isHex(e.hash, 64) &&
        typeof e.file === 'string' &&
        typeof e.canonical === 'string' &&
        typeof e.proof === 'string',
    )
  )
    return 'events missing or malformed'
  if (
    !Array.isArray(m.recordings) ||
    !m.recordings.every(
      (r) =>
        isObj(r) &&
        isInt(r.id) &&
        isHex(r.sha256, 64) &&
        isInt(r.size) &&
        typeof r.file === 'string' &&
        isInt(r.eventSeq) &&
        Array.isArray(r.events) &&
        r.events.every(isInt) &&
        Array.isArray(r.derivatives),
    )
  )
    return 'recordings missing or malformed'
  return undefined
}

export function checkPackage(
  entries: ReadonlyMap<string, PackageEntry>,
  opts: { trustedKey?: Uint8Array; witnessKeys?: readonly WitnessKey[] } = {},
): PackageReport {
  const failures: PackageFailure[] = []
  const warnings: string[] = []
  const reportedMissing = new Set<string>()
  const fail = (code: FailureCode, detail: string, file?: string): void => {
    if (code === 'file-missing' && file !== undefined) {
      if (reportedMissing.has(file)) return
      reportedMissing.add(file)
    }
    failures.push(file === undefined ? { code, detail } : { code, file, detail })
  }
  const report: PackageReport = {
    ok: false,
    packageId: null,
    checkpoint: null,
    stationKey: null,
    trustedKey: opts.trustedKey ? 'mismatch' : 'not-given',
    checked: { files: entries.size, recordings: 0, events: 0, bytes: [...entries.values()].reduce((a, e) => a + e.size, 0) },
    witnesses: [],
    failures,
    warnings,
  }
  const text = (name: string): string | undefined => {
    const e = entries.get(name)
    if (!e) {
      fail('file-missing', `${name} is missing from the package`, name)
      return undefined
    }
    if (!e.bytes) {
      fail('file-unreadable', `${name} was not read (too large?)`, name)
      return undefined
    }
    return e.bytes.toString('utf8')
  }
  const bytesOf = (name: string): Buffer | undefined => entries.get(name)?.bytes

  // -- the key in the package --------------------------------------------------
  let key: Buffer | undefined
  const pem = text(F.pubPem)
  if (pem !== undefined) {
    try {
      key = rawPublicKey(createPublicKey(pem))
    } catch (err) {
      fail('key-invalid', `${F.pubPem} is not an Ed25519 public key: ${err instanceof Error ? err.message : String(err)}`, F.pubPem)
    }
  }
  if (key) {
    report.stationKey = { name: null, keyId: null, fingerprint: spkiFingerprint(key) }
    if (opts.trustedKey) {
      if (Buffer.from(opts.trustedKey).equals(key)) report.trustedKey = 'matched'
      else
        fail(
          'key-untrusted',
          `the package is signed by key ${spkiFingerprint(key)} but the key you trust is ${safeFingerprint(opts.trustedKey)}: it was not made (or was re-signed) by someone else than that station`,
          F.pubPem,
        )
    } else {
      warnings.push(
        `checked against the key inside the package only (fingerprint ${spkiFingerprint(key)}): anyone can make a package that is consistent with its own key. Compare that fingerprint with the station's, or pass --key with the station key obtained independently.`,
      )
    }
    const vk = text(F.vkey)
    if (vk !== undefined) {
      try {
        const v = parseVkey(vk)
        if (!v.publicKey.equals(key)) fail('key-invalid', `${F.vkey} names a different key than ${F.pubPem}`, F.vkey)
        else report.stationKey = { name: v.name, keyId: v.keyId.toString('hex'), fingerprint: spkiFingerprint(key) }
      } catch (err) {
        fail('key-invalid', `${F.vkey}: ${err instanceof Error ? err.message : String(err)}`, F.vkey)
      }
    }
  }

  // -- signed notes: the package note and the checkpoint -----------------------
  const note = (noteFile: string, bodyFile: string, sigFile: string, sigCode: FailureCode): SignedNote | undefined => {
    const t = text(noteFile)
    if (t === undefined) return undefined
    let n: SignedNote
    try {
      n = parseSignedNote(t)
    } catch (err) {
      fail(sigCode, `${noteFile} is not a signed note: ${err instanceof NoteError ? err.message : String(err)}`, noteFile)
      return undefined
    }
    const body = bytesOf(bodyFile)
    if (body === undefined) text(bodyFile)
    else if (!body.equals(Buffer.from(n.text, 'utf8'))) fail(sigCode, `${bodyFile} is not the text of ${noteFile}`, bodyFile)
    if (key) {
      const s = findValidSignature(n, key)
      if (!s)
        fail(
          sigCode,
          `${noteFile} is not signed by the package key (${F.pubPem}): signed by [${n.signatures.map((x) => `${x.name} ${x.keyId.toString('hex')}`).join(', ')}]; it was altered or signed by another key`,
          noteFile,
        )
      else {
        const sig = bytesOf(sigFile)
        if (sig === undefined) text(sigFile)
        else if (!sig.equals(s.signature)) fail(sigCode, `${sigFile} is not the signature in ${noteFile}`, sigFile)
        if (report.stationKey && report.stationKey.name === null)
          report.stationKey = { ...report.stationKey, name: s.name, keyId: keyId(s.name, key).toString('hex') }
      }
    }
    return n
  }

  let manifestSha: string | undefined
  const pn = note(F.packageNote, F.packageBody, F.packageSig, 'package-signature')
  if (pn) {
    const p = parsePackageNoteText(pn.text)
    if (!p) fail('package-signature', `${F.packageNote} does not name a package and a manifest hash`, F.packageNote)
    else {
      report.packageId = p.packageId
      manifestSha = p.manifestSha256
    }
  }

  let cp: CheckpointBody | undefined
  const cn = note(F.checkpointNote, F.checkpointBody, F.checkpointSig, 'checkpoint-signature')
  if (cn) {
    try {
      cp = parseCheckpointBody(cn.text)
      report.checkpoint = { origin: cp.origin, treeSize: cp.treeSize, rootHash: cp.rootHash.toString('hex') }
    } catch (err) {
      fail('checkpoint-invalid', `${F.checkpointNote}: ${err instanceof Error ? err.message : String(err)}`, F.checkpointNote)
    }
  }

  // -- manifest ----------------------------------------------------------------
  let m: PackageManifest | undefined
  const mEntry = entries.get(F.manifest)
  if (mEntry && manifestSha !== undefined && mEntry.sha256 !== manifestSha) {
    fail(
      'manifest-changed',
      `${F.manifest} has SHA-256 ${mEntry.sha256} but the signed package note names ${manifestSha}: the manifest was changed`,
      F.manifest,
    )
  }
  const mText = text(F.manifest)
  if (mText !== undefined) {
    try {
      const parsed: unknown = JSON.parse(mText)
      const problem = manifestProblem(parsed)
      if (problem) fail('manifest-invalid', `${F.manifest}: ${problem}`, F.manifest)
      else m = parsed as PackageManifest
    } catch (err) {
      fail('manifest-invalid', `${F.manifest} is not JSON: ${err instanceof Error ? err.message : String(err)}`, F.manifest)
    }
  }

  // -- SHA256SUMS --------------------------------------------------------------
  const sumsText = text(F.sums)
  if (sumsText !== undefined) {
    const sums = parseSha256sums(sumsText)
    if (!sums) fail('sums-mismatch', `${F.sums} is not in sha256sum format`, F.sums)
    else {
      for (const [name, e] of entries) {
        if (name === F.sums) continue
        const want = sums.get(name)
        if (want === undefined) fail('sums-mismatch', `${name} is not listed in ${F.sums}`, name)
        else if (want !== e.sha256) fail('sums-mismatch', `${name} has SHA-256 ${e.sha256}, ${F.sums} says ${want}`, name)
      }
      for (const name of sums.keys()) if (!entries.has(name)) fail('file-missing', `${name} is listed in ${F.sums} but missing from the package`, name)
    }
  }

  if (!m) {
    report.ok = failures.length === 0
    return report
  }

  // -- inventory: every file is the one the (signed) manifest lists -----------
  if (report.packageId !== null && m.packageId !== report.packageId)
    fail('manifest-invalid', `manifest names package ${m.packageId}, the signed note ${report.packageId}`, F.manifest)
  if (key && m.stationKey.publicKeyHex !== key.toString('hex'))
    fail('key-invalid', `manifest names station key ${m.stationKey.publicKeyHex}, the package holds ${key.toString('hex')}`, F.manifest)
  if (cp && (m.checkpoint.origin !== cp.origin || m.checkpoint.treeSize !== cp.treeSize || m.checkpoint.rootHash !== cp.rootHash.toString('hex'))) {
    fail(
      'checkpoint-mismatch',
      `manifest names checkpoint ${m.checkpoint.origin} ${m.checkpoint.treeSize} ${m.checkpoint.rootHash.slice(0, 16)}…, ${F.checkpointNote} says ${cp.origin} ${cp.treeSize} ${cp.rootHash.toString('hex').slice(0, 16)}…`,
      F.checkpointNote,
    )
  }
  const listed = new Map(m.files.map((f) => [f.path, f]))
  for (const f of m.files) {
    const e = entries.get(f.path)
    if (!e) fail('file-missing', `${f.path} is listed in the manifest but missing from the package`, f.path)
    else if (e.sha256 !== f.sha256 || e.size !== f.size)
      fail('file-changed', `${f.path} has SHA-256 ${e.sha256} (${e.size} bytes), the manifest says ${f.sha256} (${f.size} bytes): the file was changed`, f.path)
  }
  for (const name of entries.keys()) {
    if (!listed.has(name) && !UNLISTED.has(name)) fail('file-extra', `${name} is in the package but not in the manifest: it was added`, name)
  }

  checkTrail({ entries, fail, text, bytesOf }, m, cp, report)
  checkCosignatures({ fail, bytesOf }, m, cn, report, opts.witnessKeys ?? [])
  report.ok = failures.length === 0
  return report
}

function safeFingerprint(raw: Uint8Array): string {
  try {
    return spkiFingerprint(raw)
  } catch {
    return Buffer.from(raw).toString('hex')
  }
}
