/**
 * The custody trail of an evidence package, offline: every event file is in
 * canonical form, hashes to what it says and links to the event before it;
 * its inclusion proof leads to the signed checkpoint root; every recording's
 * original, derivatives and ingested event agree with the manifest.
 */
import { canonicalBytes, canonicalEventBytes, chainHash, type EventBody } from '../ledger/canonical.js'
import { subjects } from '../ledger/events.js'
import { leafHash } from '../ledger/merkle.js'
import { verifyInclusion } from '../ledger/merkle-proofs.js'
import type { CheckpointBody } from '../ledger/note.js'
import { F, type ManifestRecording, type PackageManifest, type ProofFile } from './layout.js'
import { isHex, isInt, isObj, type Json, type PackageReader, type PackageReport } from './package-report.js'

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

/** Checks the events, proofs and recordings the (already shape-checked) manifest lists; `cp` is the signed checkpoint, if it could be read. */
export function checkTrail(r: PackageReader, m: PackageManifest, cp: CheckpointBody | undefined, report: PackageReport): void {
  const { entries, fail, text, bytesOf } = r
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
}
