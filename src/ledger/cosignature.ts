/**
 * Witness co-signatures, as text. Pure: no I/O, no clocks (the caller passes
 * the time); node:crypto only for SHA-256 and Ed25519.
 *
 * C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), the Ed25519
 * "cosignature/v1" type: a co-signature is one more signature line on a
 * checkpoint note,
 *   "— " name " " base64( key id (4) || timestamp (8, big-endian) || Ed25519 signature (64) )
 *   key id  = SHA-256( name || 0x0A || 0x04 || 32-byte public key )[0:4]
 *   signed  = "cosignature/v1\n" "time " decimal timestamp "\n" || checkpoint text
 * and says: at that time, this was the largest consistent tree the co-signer
 * had seen for the checkpoint's origin.
 *
 * A bodyvault station co-signs with its station key (./keys.ts) under its
 * station key name: the "cosignature/v1" header keeps the co-signed message
 * apart from anything the key signs as a log (checkpoints begin with their
 * origin "bodyvault/...", packages with "bodyvault-evidence-package/1").
 */
import { createHash, verify as cryptoVerify } from 'node:crypto'
import { ed25519PublicKey, isValidKeyName, keyId as logKeyId, NoteError, type NoteSignature, type SignedNote } from './note.js'

export const COSIGNATURE_ALG = 0x04
const HEADER = 'cosignature/v1\n'

/** Key id of an Ed25519 co-signer: SHA-256(name || "\n" || 0x04 || key)[0:4]. */
export function cosignerKeyId(name: string, publicKey: Uint8Array): Buffer {
  if (!isValidKeyName(name)) throw new NoteError('NOTE_KEY_NAME', `co-signer name ${JSON.stringify(name)} is not a valid key name`)
  if (publicKey.length !== 32) throw new NoteError('NOTE_KEY', 'an Ed25519 public key is 32 bytes')
  return createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, COSIGNATURE_ALG)).update(publicKey).digest().subarray(0, 4)
}

/** The co-signer's vkey: "<name>+<hex key id>+<base64(0x04 || key)>". */
export function cosignerVkey(name: string, publicKey: Uint8Array): string {
  return `${name}+${cosignerKeyId(name, publicKey).toString('hex')}+${Buffer.concat([Uint8Array.of(COSIGNATURE_ALG), publicKey]).toString('base64')}`
}

/** The bytes a co-signer signs for checkpoint text `text` at `timestamp` (POSIX seconds). */
export function cosignedMessage(text: string, timestamp: number): Buffer {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    throw new NoteError('COSIGNATURE_TIME', 'a co-signature timestamp is a non-negative whole number of seconds')
  return Buffer.from(`${HEADER}time ${timestamp}\n${text}`, 'utf8')
}

/** A co-signature line's parts: its signer's name and key id, its time and its 64-byte signature. */
export interface Cosignature {
  name: string
  keyId: Buffer
  /** POSIX seconds. */
  timestamp: number
  signature: Buffer
}

/** The note signature (a line to append to the checkpoint) of a co-signature. */
export function cosignatureLine(c: Cosignature): NoteSignature {
  const ts = Buffer.alloc(8)
  ts.writeBigUInt64BE(BigInt(c.timestamp))
  return { name: c.name, keyId: c.keyId, signature: Buffer.concat([ts, c.signature]) }
}

/** Reads a note signature as a co-signature (undefined when it is not shaped like one: 8 + 64 bytes). */
export function asCosignature(s: NoteSignature): Cosignature | undefined {
  if (s.signature.length !== 72) return undefined
  const t = s.signature.readBigUInt64BE(0)
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) return undefined
  return { name: s.name, keyId: s.keyId, timestamp: Number(t), signature: s.signature.subarray(8) }
}

/** Signs a co-signature of checkpoint text `text` with `sign` (an Ed25519 signer of that public key). */
export function cosign(text: string, signer: { name: string; publicKey: Uint8Array; sign(data: Uint8Array): Buffer }, timestamp: number): NoteSignature {
  const keyId = cosignerKeyId(signer.name, signer.publicKey)
  return cosignatureLine({ name: signer.name, keyId, timestamp, signature: signer.sign(cosignedMessage(text, timestamp)) })
}

/**
 * The valid co-signature of `publicKey` on a parsed checkpoint note, if any:
 * a line whose key id is the co-signer key id of its name and `publicKey`
 * (and whose name is `name`, when given), and whose signature verifies over
 * the co-signed message. Never throws.
 */
export function findCosignature(note: SignedNote, publicKey: Uint8Array, name?: string): Cosignature | undefined {
  try {
    const key = ed25519PublicKey(publicKey)
    for (const s of note.signatures) {
      if (name !== undefined && s.name !== name) continue
      if (!isValidKeyName(s.name) || !cosignerKeyId(s.name, publicKey).equals(s.keyId)) continue
      const c = asCosignature(s)
      if (c && cryptoVerify(null, cosignedMessage(note.text, c.timestamp), key, c.signature)) return c
    }
  } catch {
    return undefined
  }
  return undefined
}

/**
 * A witness's key as configured or given on the command line: a vkey of its
 * station key ("<name>+<key id>+<base64(0x01 || key)>", what `bodyvault key
 * show` prints) or of a co-signer ("...base64(0x04 || key)"). The key id
 * must match the name and key.
 */
export function parseWitnessVkey(text: string): { name: string; publicKey: Buffer } {
  const s = text.trim()
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(s)
  if (!m) throw new NoteError('NOTE_VKEY', 'not a verifier key: expected "<name>+<8 hex digits>+<base64>"')
  const name = m[1]!
  const raw = Buffer.from(m[3]!, 'base64')
  if (raw.length !== 33 || (raw[0] !== 0x01 && raw[0] !== COSIGNATURE_ALG))
    throw new NoteError('NOTE_VKEY', 'verifier key is not an Ed25519 key (algorithm byte 0x01 or 0x04 and 32 key bytes)')
  const publicKey = raw.subarray(1)
  const want = raw[0] === COSIGNATURE_ALG ? cosignerKeyId(name, publicKey) : logKeyId(name, publicKey)
  if (want.toString('hex') !== m[2])
    throw new NoteError('NOTE_VKEY', `verifier key id ${m[2]} does not match its name and key (expected ${want.toString('hex')})`)
  return { name, publicKey }
}

/** One signature line of a note, "— <name> <base64(key id || signature)>\n" (to answer add-checkpoint with). */
export function signatureLine(s: NoteSignature): string {
  return `\u2014 ${s.name} ${Buffer.concat([s.keyId, s.signature]).toString('base64')}\n`
}
