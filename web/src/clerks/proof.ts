/**
 * Checks a recording's custody trail in the browser, trusting none of the
 * station's conclusions: only WebCrypto (SHA-256, Ed25519) and the bytes.
 * Pure functions over the proof material of GET /v1/recordings/:id/proof
 * (src/api/proof.ts); tested as tables, with the RFC 6962 vectors, in
 * test/web-proof.test.ts.
 *
 * - each event's chain hash: SHA-256(prev hash || RFC 8785 (JCS) bytes of
 *   {seq, type, at, actor, subject, payload}) (src/ledger/canonical.ts);
 * - its leaf hash SHA-256(0x00 || event hash) in the Merkle tree of the
 *   checkpoint, by its inclusion proof (RFC 9162 2.1.3.2; node hash
 *   SHA-256(0x01 || left || right));
 * - the checkpoint (C2SP tlog-checkpoint: origin, size, base64 root) signed
 *   by the station key (C2SP signed-note: key id = SHA-256(name || 0x0A ||
 *   0x01 || key)[0:4], Ed25519 over the text);
 * - the key's fingerprint, SHA-256 of its DER SubjectPublicKeyInfo, for the
 *   clerk to compare out of band with `bodyvault key show`: a key the page
 *   was handed proves nothing until someone compares it;
 * - each witness's co-signature of that checkpoint (C2SP tlog-cosignature,
 *   src/ledger/cosignature.ts: key id = SHA-256(name || 0x0A || 0x04 ||
 *   key)[0:4], Ed25519 over "cosignature/v1\ntime <t>\n" || checkpoint
 *   text), each with its own key's fingerprint to compare on that station.
 */
import canonicalize from 'canonicalize'

export interface ProofEvent {
  seq: number
  type: string
  at: string
  actor: string
  subject: string
  payload: Record<string, unknown>
  prevHash: string
  hash: string
}

export interface ProofMaterial {
  checkpoint: { id: number; treeSize: number; note: string; createdAt: string } | null
  keys: { name: string; publicKey: string }[]
  /** Co-signature lines of the checkpoint beside the keys the station's config names (absent from older stations). */
  witnesses?: { name: string; publicKey: string | null; line: string | null }[]
  events: { event: ProofEvent; leafIndex: number | null; proof: string[] | null }[]
}

/** Why an event is not verified: its bytes, its place in the tree, or the checkpoint's signature. */
export type Failure = 'event-hash' | 'inclusion' | 'checkpoint' | 'signature'
export type EventVerdict = { seq: number; status: 'verified' } | { seq: number; status: 'pending' } | { seq: number; status: 'failed'; why: Failure }

/**
 * One witness: `verified` (its co-signature checks with its key), `failed` (it does not: altered, or not by
 * that key), `missing` (no co-signature from it on this checkpoint yet), `unknown` (a co-signer the station
 * names no key for: nothing to check it against). `at`: the co-signature's own time, when it checked.
 */
export interface WitnessVerdict {
  name: string
  status: 'verified' | 'failed' | 'missing' | 'unknown'
  fingerprint: string | null
  at: string | null
}

export interface Verdict {
  /** The checkpoint as the browser read it (null: none, or unreadable). */
  checkpoint: { origin: string; treeSize: number; rootHex: string; createdAt: string } | null
  /** The signature checked out with this key; its fingerprint is what to compare out of band. */
  signed: boolean
  fingerprint: string | null
  events: EventVerdict[]
  witnesses: WitnessVerdict[]
  /**
   * verified: every event checked; pending: the rest await a checkpoint; failed: at least one did not check,
   * or a witness's co-signature of the checkpoint did not (a witness exists to catch a station that rewrote
   * its history: a co-signature that fails is no reassurance, and not a detail under a green badge).
   */
  overall: 'verified' | 'pending' | 'failed'
}

const enc = new TextEncoder()

export function fromHex(s: string): Uint8Array | null {
  if (!/^([0-9a-f]{2})*$/.test(s)) return null
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function toHex(b: Uint8Array): string {
  let s = ''
  for (const x of b) s += x.toString(16).padStart(2, '0')
  return s
}

export function fromBase64(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(data)))
}

export const leafHash = (data: Uint8Array): Promise<Uint8Array> => sha256(concat(Uint8Array.of(0), data))
export const nodeHash = (l: Uint8Array, r: Uint8Array): Promise<Uint8Array> => sha256(concat(Uint8Array.of(1), l, r))

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])
const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

/**
 * RFC 9162 2.1.3.2: true iff `proof` shows `leaf` (a leaf hash) at
 * `index` in the tree of `size` leaves whose root is `root`. Every hash
 * must be 32 bytes; malformed input is false, never an exception.
 */
export async function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): Promise<boolean> {
  if (!isIndex(index) || !isIndex(size) || index >= size || leaf.length !== 32 || root.length !== 32 || proof.some((p) => p.length !== 32)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else r = await nodeHash(r, p)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && equal(r, root)
}

/** An event's chain hash, from its fields (src/ledger/canonical.ts). */
export async function eventHash(e: ProofEvent): Promise<string | null> {
  const prev = fromHex(e.prevHash)
  if (prev?.length !== 32) return null
  const text = canonicalize({ seq: e.seq, type: e.type, at: e.at, actor: e.actor, subject: e.subject, payload: e.payload })
  if (text === undefined) return null
  return toHex(await sha256(concat(prev, enc.encode(text))))
}

export interface Note {
  text: string
  origin: string
  treeSize: number
  root: Uint8Array
  signatures: { name: string; keyId: Uint8Array; signature: Uint8Array }[]
}

/** A C2SP checkpoint note, or null when it is not one. */
export function parseCheckpointNote(note: string): Note | null {
  const cut = note.lastIndexOf('\n\n')
  if (cut < 0 || !note.endsWith('\n')) return null
  const text = note.slice(0, cut + 1)
  const [origin, size, root] = text.slice(0, -1).split('\n')
  if (!origin || !size || !/^(0|[1-9][0-9]*)$/.test(size) || !root || !/^[A-Za-z0-9+/]{43}=$/.test(root)) return null
  const signatures: Note['signatures'] = []
  for (const line of note.slice(cut + 2, -1).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line)
    const raw = m ? fromBase64(m[2]!) : null
    if (!m || !raw || raw.length < 5) return null
    signatures.push({ name: m[1]!, keyId: raw.subarray(0, 4), signature: raw.subarray(4) })
  }
  return { text, origin, treeSize: Number(size), root: fromBase64(root)!, signatures }
}

export async function keyIdOf(name: string, publicKey: Uint8Array): Promise<Uint8Array> {
  return (await sha256(concat(enc.encode(name), Uint8Array.of(0x0a, 0x01), publicKey))).subarray(0, 4)
}

/** SHA-256 (hex) of an Ed25519 key's DER SubjectPublicKeyInfo: what `bodyvault key show` prints as the fingerprint. */
export async function spkiFingerprint(publicKey: Uint8Array): Promise<string> {
  const prefix = fromHex('302a300506032b6570032100')!
  return toHex(await sha256(concat(prefix, publicKey)))
}

/** Whether `note` carries a valid Ed25519 signature by `publicKey` under key name `name`. */
export async function noteSignedBy(note: Note, name: string, publicKey: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32) return false
  const id = await keyIdOf(name, publicKey)
  let key: Awaited<ReturnType<typeof crypto.subtle.importKey>>
  try {
    key = await crypto.subtle.importKey('raw', concat(publicKey), { name: 'Ed25519' }, false, ['verify'])
  } catch {
    return false
  }
  for (const s of note.signatures) {
    if (s.name !== name || !equal(s.keyId, id) || s.signature.length !== 64) continue
    if (await crypto.subtle.verify({ name: 'Ed25519' }, key, concat(s.signature), enc.encode(note.text))) return true
  }
  return false
}

export async function cosignerKeyIdOf(name: string, publicKey: Uint8Array): Promise<Uint8Array> {
  return (await sha256(concat(enc.encode(name), Uint8Array.of(0x0a, 0x04), publicKey))).subarray(0, 4)
}

/** The time (POSIX seconds) of a valid co-signature `line` by `publicKey` under `name` on `note`, else null. */
export async function cosignedBy(note: Note, line: string, name: string, publicKey: Uint8Array): Promise<number | null> {
  const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})\n?$/.exec(line)
  const raw = m ? fromBase64(m[2]!) : null
  if (!m || m[1] !== name || !raw || raw.length !== 4 + 8 + 64 || publicKey.length !== 32) return null
  if (!equal(raw.subarray(0, 4), await cosignerKeyIdOf(name, publicKey))) return null
  const time = new DataView(raw.buffer, raw.byteOffset + 4, 8).getBigUint64(0)
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) return null
  try {
    const key = await crypto.subtle.importKey('raw', concat(publicKey), { name: 'Ed25519' }, false, ['verify'])
    const signed = enc.encode(`cosignature/v1\ntime ${time}\n${note.text}`)
    return (await crypto.subtle.verify({ name: 'Ed25519' }, key, concat(raw.subarray(12)), signed)) ? Number(time) : null
  } catch {
    return null
  }
}

async function checkWitnesses(note: Note | null, ws: ProofMaterial['witnesses']): Promise<WitnessVerdict[]> {
  const out: WitnessVerdict[] = []
  for (const w of ws ?? []) {
    const pub = w.publicKey === null ? null : fromBase64(w.publicKey)
    const fingerprint = pub?.length === 32 ? await spkiFingerprint(pub) : null
    if (w.line === null) out.push({ name: w.name, status: 'missing', fingerprint, at: null })
    else if (!pub || !fingerprint) out.push({ name: w.name, status: 'unknown', fingerprint: null, at: null })
    else {
      const time = note ? await cosignedBy(note, w.line, w.name, pub) : null
      out.push({ name: w.name, status: time === null ? 'failed' : 'verified', fingerprint, at: time === null ? null : new Date(time * 1000).toISOString() })
    }
  }
  return out
}

/** Checks everything the material claims; the verdict says per event what held. */
export async function verifyMaterial(m: ProofMaterial): Promise<Verdict> {
  const note = m.checkpoint ? parseCheckpointNote(m.checkpoint.note) : null
  let signer: Uint8Array | null = null
  if (note)
    for (const k of m.keys) {
      const pub = fromBase64(k.publicKey)
      if (pub && k.name === note.origin && (await noteSignedBy(note, k.name, pub))) {
        signer = pub
        break
      }
    }
  const events: EventVerdict[] = []
  for (const { event, leafIndex, proof } of m.events) {
    const seq = event.seq
    if ((await eventHash(event)) !== event.hash) events.push({ seq, status: 'failed', why: 'event-hash' })
    else if (proof === null || leafIndex === null) events.push({ seq, status: 'pending' })
    else if (!note) events.push({ seq, status: 'failed', why: 'checkpoint' })
    else if (!signer) events.push({ seq, status: 'failed', why: 'signature' })
    else {
      const hashes = proof.map(fromHex)
      const ok =
        leafIndex === seq - 1 &&
        hashes.every((h) => h !== null) &&
        (await verifyInclusion(leafIndex, note.treeSize, await leafHash(fromHex(event.hash)!), hashes as Uint8Array[], note.root))
      events.push(ok ? { seq, status: 'verified' } : { seq, status: 'failed', why: 'inclusion' })
    }
  }
  const witnesses = await checkWitnesses(note, m.witnesses)
  const failed = events.some((e) => e.status === 'failed') || (m.checkpoint !== null && (!note || !signer)) || witnesses.some((w) => w.status === 'failed')
  return {
    checkpoint: note && m.checkpoint ? { origin: note.origin, treeSize: note.treeSize, rootHex: toHex(note.root), createdAt: m.checkpoint.createdAt } : null,
    signed: signer !== null,
    fingerprint: signer ? await spkiFingerprint(signer) : null,
    events,
    witnesses,
    overall: failed ? 'failed' : events.some((e) => e.status === 'pending') || events.length === 0 ? 'pending' : 'verified',
  }
}

/** A fingerprint as people read it aloud: groups of four hex digits. */
export const groupedFingerprint = (hex: string): string => hex.replace(/(.{4})(?=.)/g, '$1 ')
