/**
 * Offline checks of an evidence package, on its files' hashes and (for the
 * small ones) contents. Pure: the caller reads the zip or folder (see
 * verify-package.ts). Every failure names its file and says what is wrong;
 * codes are stable:
 *
 *   file-missing, file-extra, file-changed, file-unreadable, sums-mismatch,
 *   key-invalid, key-untrusted, package-signature, manifest-changed,
 *   manifest-invalid, checkpoint-invalid, checkpoint-signature,
 *   checkpoint-mismatch, event-missing, event-invalid, event-edited,
 *   event-chain, proof-invalid, recording-mismatch
 */
import { createPublicKey } from 'node:crypto'
import { canonicalBytes, canonicalEventBytes, chainHash, type EventBody } from '../ledger/canonical.js'
import { subjects } from '../ledger/events.js'
import { leafHash, verifyInclusion } from '../ledger/merkle.js'
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
import { F, parsePackageNoteText, parseSha256sums, PACKAGE_FORMAT, UNLISTED, type ManifestRecording, type PackageManifest, type ProofFile } from './layout.js'

export interface PackageEntry {
  sha256: string
  size: number
  /** Contents, for files the checks read (everything but originals/ and derivatives/). */
  bytes?: Buffer
}

export type FailureCode =
  | 'file-missing'
  | 'file-extra'
  | 'file-changed'
  | 'file-unreadable'
  | 'sums-mismatch'
  | 'key-invalid'
  | 'key-untrusted'
  | 'package-signature'
  | 'manifest-changed'
  | 'manifest-invalid'
  | 'checkpoint-invalid'
  | 'checkpoint-signature'
  | 'checkpoint-mismatch'
  | 'event-missing'
  | 'event-invalid'
  | 'event-edited'
  | 'event-chain'
  | 'proof-invalid'
  | 'recording-mismatch'
  | 'zip-invalid'

export interface PackageFailure {
  code: FailureCode
  file?: string
  detail: string
}

export interface PackageReport {
  ok: boolean
  packageId: string | null
  checkpoint: { origin: string; treeSize: number; rootHash: string } | null
  stationKey: { name: string | null; keyId: string | null; fingerprint: string } | null
  /** Whether the package key equals the key given with --key ("not-given": only self-consistency was checked). */
  trustedKey: 'matched' | 'mismatch' | 'not-given'
  checked: { files: number; recordings: number; events: number; bytes: number }
  failures: PackageFailure[]
  warnings: string[]
}

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const isHex = (v: unknown, n: number): v is string => typeof v === 'string' && v.length === n && /^[0-9a-f]+$/.test(v)
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

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

const EVENT_KEYS = ['actor', 'at', 'hash', 'payload', 'prev_hash', 'seq', 'subject', 'type']

/** Facts of a recording that its `ingested` event must say the same about. */
const INGEST_FACTS: (keyof ManifestRecording)[] = [
  'sha256',
  'size',
  'kind',
  'sourcePath',
  'stationId',
  'deviceId',
  'officerId',
  'recordedAt',
  'recordedOffset',
  'recordedSource',
  'important',
]

export function checkPackage(entries: ReadonlyMap<string, PackageEntry>, opts: { trustedKey?: Uint8Array } = {}): PackageReport {
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

  // -- events and proofs -------------------------------------------------------
  const events = new Map<number, EventBody & { prev_hash: string; hash: string }>()
  for (const e of m.events) {
    const evText = entries.has(e.file) ? text(e.file) : undefined
    if (evText === undefined) {
      fail('event-missing', `event ${e.seq} (${e.file}) is listed in the manifest but missing`, e.file)
      continue
    }
    let ev: Json
    try {
      const parsed: unknown = JSON.parse(evText)
      if (!isObj(parsed)) throw new Error('not an object')
      ev = parsed
    } catch (err) {
      fail('event-invalid', `${e.file} is not a JSON object: ${err instanceof Error ? err.message : String(err)}`, e.file)
      continue
    }
    const keys = Object.keys(ev).sort()
    if (
      keys.join() !== EVENT_KEYS.join() ||
      !isInt(ev.seq) ||
      typeof ev.type !== 'string' ||
      typeof ev.at !== 'string' ||
      typeof ev.actor !== 'string' ||
      typeof ev.subject !== 'string' ||
      !isObj(ev.payload) ||
      !isHex(ev.prev_hash, 64) ||
      !isHex(ev.hash, 64)
    ) {
      fail('event-invalid', `${e.file} does not have exactly the fields ${EVENT_KEYS.join(', ')} with their types`, e.file)
      continue
    }
    const body: EventBody = { seq: ev.seq, type: ev.type, at: ev.at, actor: ev.actor, subject: ev.subject, payload: ev.payload }
    let canonical: Buffer
    try {
      canonical = canonicalEventBytes(body)
      if (!canonicalBytes(ev).equals(Buffer.from(evText, 'utf8'))) fail('event-invalid', `${e.file} is not in canonical form (RFC 8785)`, e.file)
    } catch (err) {
      fail('event-invalid', `${e.file} cannot be canonicalized: ${err instanceof Error ? err.message : String(err)}`, e.file)
      continue
    }
    if (ev.seq !== e.seq) fail('event-edited', `${e.file} holds event ${ev.seq}, the manifest says ${e.seq}`, e.file)
    const cBytes = bytesOf(e.canonical)
    if (cBytes === undefined) text(e.canonical)
    else if (!cBytes.equals(canonical)) fail('event-edited', `${e.canonical} is not the canonical form of ${e.file}: one of them was edited`, e.canonical)
    const recomputed = chainHash(ev.prev_hash, body)
    if (recomputed !== ev.hash)
      fail('event-edited', `event ${ev.seq} hashes to ${recomputed.slice(0, 16)}… but says ${ev.hash.slice(0, 16)}…: the event was edited`, e.file)
    if (ev.hash !== e.hash) fail('event-edited', `event ${ev.seq} has hash ${ev.hash.slice(0, 16)}…, the manifest says ${e.hash.slice(0, 16)}…`, e.file)
    events.set(e.seq, { ...body, prev_hash: ev.prev_hash, hash: ev.hash })

    // Inclusion: the hash the event file states must lead to the signed root.
    const pText = entries.has(e.proof) ? text(e.proof) : undefined
    if (pText === undefined) {
      fail('proof-invalid', `the inclusion proof of event ${e.seq} (${e.proof}) is missing`, e.proof)
      continue
    }
    let proof: ProofFile
    try {
      proof = JSON.parse(pText) as ProofFile
      if (!isObj(proof) || !isInt(proof.leafIndex) || !isInt(proof.treeSize) || !Array.isArray(proof.path) || !proof.path.every((x) => isHex(x, 64)))
        throw new Error('malformed')
    } catch (err) {
      fail('proof-invalid', `${e.proof} is not an inclusion proof: ${err instanceof Error ? err.message : String(err)}`, e.proof)
      continue
    }
    if (!cp) continue
    const leaf = leafHash(Buffer.from(ev.hash, 'hex'))
    if (proof.seq !== e.seq || proof.leafIndex !== e.seq - 1 || proof.treeSize !== cp.treeSize) {
      fail(
        'proof-invalid',
        `${e.proof} is for leaf ${proof.leafIndex} of ${proof.treeSize}, expected leaf ${e.seq - 1} of the checkpoint's ${cp.treeSize}`,
        e.proof,
      )
    } else if (
      !verifyInclusion(
        proof.leafIndex,
        proof.treeSize,
        leaf,
        proof.path.map((x) => Buffer.from(x, 'hex')),
        cp.rootHash,
      )
    ) {
      fail('proof-invalid', `the inclusion proof of event ${e.seq} does not lead to the signed checkpoint root: the event or the proof was altered`, e.proof)
    }
  }
  for (const [seq, ev] of events) {
    const before = events.get(seq - 1)
    if (before && ev.prev_hash !== before.hash)
      fail('event-chain', `event ${seq}'s prev_hash does not link to event ${seq - 1}'s hash`, m.events.find((x) => x.seq === seq)?.file)
  }
  report.checked.events = events.size

  // -- recordings --------------------------------------------------------------
  const manifestSeqs = new Set(m.events.map((e) => e.seq))
  for (const r of m.recordings) {
    const subject = `recording ${r.id}`
    const e = entries.get(r.file)
    if (!r.file.startsWith(`originals/${r.sha256}.`)) fail('recording-mismatch', `${subject}: its file ${r.file} is not named after its SHA-256`, r.file)
    if (!e) fail('file-missing', `${subject}: its original ${r.file} is missing`, r.file)
    else if (e.sha256 !== r.sha256 || e.size !== r.size)
      fail('recording-mismatch', `${subject}: ${r.file} has SHA-256 ${e.sha256} (${e.size} bytes), recorded ${r.sha256} (${r.size} bytes)`, r.file)
    for (const seq of r.events) {
      if (!manifestSeqs.has(seq)) fail('event-missing', `${subject}: event ${seq} of its custody trail is not in the package`, F.manifest)
    }
    if (!r.events.includes(r.eventSeq)) fail('event-missing', `${subject}: its ingested event ${r.eventSeq} is not in its custody trail`, F.manifest)
    const ing = events.get(r.eventSeq)
    if (!ing) {
      if (manifestSeqs.has(r.eventSeq)) fail('recording-mismatch', `${subject}: its ingested event ${r.eventSeq} could not be checked`, F.manifest)
      else fail('event-missing', `${subject}: its ingested event ${r.eventSeq} is not in the package`, F.manifest)
    } else {
      const p = ing.payload
      if (ing.type !== 'ingested' || ing.subject !== subjects.recording(r.id) || p.recordingId !== r.id)
        fail('recording-mismatch', `${subject}: event ${r.eventSeq} is not its ingested event`, F.manifest)
      for (const k of INGEST_FACTS) {
        if ((p[k] ?? null) !== (r[k] ?? null))
          fail(
            'recording-mismatch',
            `${subject}: ${k} is ${JSON.stringify(r[k])} in the manifest but ${JSON.stringify(p[k])} in its ingested event ${r.eventSeq}`,
            F.manifest,
          )
      }
      if (ing.at !== r.ingestedAt) fail('recording-mismatch', `${subject}: ingestedAt differs from its ingested event`, F.manifest)
    }
    if (typeof r.sheet === 'string' && !entries.has(r.sheet)) fail('file-missing', `${subject}: its evidence sheet ${r.sheet} is missing`, r.sheet)
    for (const d of r.derivatives) {
      const de = entries.get(d.file)
      if (!de) fail('file-missing', `${subject}: derivative ${d.file} is missing`, d.file)
      else if (de.sha256 !== d.sha256 || de.size !== d.size)
        fail('recording-mismatch', `${subject}: derivative ${d.file} does not have its recorded SHA-256`, d.file)
      if (d.eventSeq !== null) {
        const dev = events.get(d.eventSeq)
        if (!dev) fail('event-missing', `${subject}: derivative ${d.file}: its event ${d.eventSeq} is not in the package`, F.manifest)
        else if (dev.payload.sha256 !== d.sha256)
          fail('recording-mismatch', `${subject}: derivative ${d.file}: event ${d.eventSeq} records another SHA-256`, d.file)
      }
    }
  }
  report.checked.recordings = m.recordings.length
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
