/**
 * Signed notes and checkpoints, as text. Pure: no I/O, no clocks; node:crypto
 * only for SHA-256 and Ed25519.
 *
 * C2SP signed-note (https://c2sp.org/signed-note):
 *   note      = text "\n" signature-line+
 *   text      = one or more lines, each ending in "\n" (UTF-8, no other control characters)
 *   signature-line = "— " key-name " " base64( key-id (4 bytes) || signature ) "\n"
 *   key-id    = SHA-256( key-name || 0x0A || 0x01 || 32-byte Ed25519 public key )[0:4]
 *   signature = Ed25519 over the text bytes (including its final newline)
 *   vkey      = key-name "+" hex(key-id) "+" base64( 0x01 || public key )
 * A key name is non-empty and has no spaces and no "+".
 *
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the text of a
 * checkpoint note is
 *   origin "\n" decimal tree size "\n" base64(root hash) "\n" [extension lines]
 * The em dash is U+2014.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto'

export const ED25519_ALG = 0x01
export const SIGNATURE_PREFIX = '\u2014 '

/** A format problem in a note, key or checkpoint; `code` is stable. */
export class NoteError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'NoteError'
    this.code = code
  }
}

export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u2014]/u.test(name) && !/[\x00-\x1f\x7f]/.test(name)
}

function checkKeyName(name: string): void {
  if (!isValidKeyName(name)) throw new NoteError('NOTE_KEY_NAME', `key name ${JSON.stringify(name)} is not valid: it must be non-empty, without spaces or "+"`)
}

function checkPublicKey(pub: Uint8Array): void {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) throw new NoteError('NOTE_KEY', 'an Ed25519 public key is 32 bytes')
}

/** C2SP key id of an Ed25519 key: the first 4 bytes of SHA-256(name || "\n" || 0x01 || key). */
export function keyId(name: string, publicKey: Uint8Array): Buffer {
  checkKeyName(name)
  checkPublicKey(publicKey)
  return createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, ED25519_ALG)).update(publicKey).digest().subarray(0, 4)
}

/** C2SP verifier key string: "<name>+<hex key id>+<base64(0x01 || key)>". */
export function vkeyString(name: string, publicKey: Uint8Array): string {
  return `${name}+${keyId(name, publicKey).toString('hex')}+${Buffer.concat([Uint8Array.of(ED25519_ALG), publicKey]).toString('base64')}`
}

export interface Vkey {
  name: string
  keyId: Buffer
  publicKey: Buffer
}

/** Parses a vkey string; checks that its key id matches its name and key. */
export function parseVkey(text: string): Vkey {
  const s = text.trim()
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(s)
  if (!m) throw new NoteError('NOTE_VKEY', 'not a verifier key: expected "<name>+<8 hex digits>+<base64>"')
  const raw = Buffer.from(m[3]!, 'base64')
  if (raw.length !== 33 || raw[0] !== ED25519_ALG) throw new NoteError('NOTE_VKEY', 'verifier key is not an Ed25519 key (algorithm byte 0x01 and 32 key bytes)')
  const publicKey = raw.subarray(1)
  const id = keyId(m[1]!, publicKey)
  if (id.toString('hex') !== m[2]) throw new NoteError('NOTE_VKEY', `verifier key id ${m[2]} does not match its name and key (expected ${id.toString('hex')})`)
  return { name: m[1]!, keyId: id, publicKey }
}

/** Node KeyObject for a raw 32-byte Ed25519 public key. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  checkPublicKey(raw)
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
}

/** An Ed25519 SubjectPublicKeyInfo in DER: these 12 bytes, then the 32 key bytes (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/**
 * Raw 32 bytes of an Ed25519 public KeyObject. Read from its DER form, not its JWK: Node 20's JWK export of an
 * Ed25519 key allocates while it holds the key's mutex, and a garbage collection then can finalize the generation
 * job that made the key, which takes the same mutex: the thread waits on itself for ever (seen 2026-12-01 in
 * test/vault-identity; generate, then export as JWK, in a loop hangs within seconds; the DER export does not lock).
 */
export function rawPublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw new NoteError('NOTE_KEY', `expected an Ed25519 key, got ${String(key.asymmetricKeyType)}`)
  if (key.type !== 'public') throw new NoteError('NOTE_KEY', 'expected the public half of an Ed25519 key')
  const der = key.export({ type: 'spki', format: 'der' })
  if (der.length !== 44 || !der.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) throw new NoteError('NOTE_KEY', 'Ed25519 key without its public part')
  return Buffer.from(der.subarray(12))
}

/** SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: what `openssl pkey -pubin -outform DER | sha256sum` prints. */
export function spkiFingerprint(raw: Uint8Array): string {
  const der = ed25519PublicKey(raw).export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('hex')
}

export function spkiPem(raw: Uint8Array): string {
  return ed25519PublicKey(raw).export({ type: 'spki', format: 'pem' }).toString()
}

// ---------------------------------------------------------------------------
// Signed notes

export interface NoteSignature {
  name: string
  keyId: Buffer
  /** 64-byte Ed25519 signature (for other algorithms: whatever followed the key id). */
  signature: Buffer
}

export interface SignedNote {
  /** The signed text, ending in "\n". */
  text: string
  signatures: NoteSignature[]
}

function checkText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new NoteError('NOTE_FORMAT', 'note text must be non-empty and end with a newline')
  if (text.includes('\n\n') || text.startsWith('\n')) throw new NoteError('NOTE_FORMAT', 'note text must not contain empty lines')
  if (/[\x00-\x09\x0b-\x1f\x7f]/.test(text)) throw new NoteError('NOTE_FORMAT', 'note text must not contain control characters other than newline')
}

export function formatSignedNote(text: string, signatures: readonly NoteSignature[]): string {
  checkText(text)
  if (signatures.length === 0) throw new NoteError('NOTE_FORMAT', 'a signed note needs at least one signature')
  let out = `${text}\n`
  for (const s of signatures) {
    checkKeyName(s.name)
    if (s.keyId.length !== 4) throw new NoteError('NOTE_FORMAT', 'a key id is 4 bytes')
    out += `${SIGNATURE_PREFIX}${s.name} ${Buffer.concat([s.keyId, s.signature]).toString('base64')}\n`
  }
  return out
}

/** Splits a signed note into its text and signature lines; throws NoteError on any malformation. */
export function parseSignedNote(note: string): SignedNote {
  const cut = note.lastIndexOf('\n\n')
  if (cut < 0) throw new NoteError('NOTE_FORMAT', 'not a signed note: no blank line between the text and the signatures')
  const text = note.slice(0, cut + 1)
  checkText(text)
  const sigPart = note.slice(cut + 2)
  if (!sigPart.endsWith('\n')) throw new NoteError('NOTE_FORMAT', 'signature lines must end with a newline')
  const signatures: NoteSignature[] = []
  for (const line of sigPart.slice(0, -1).split('\n')) {
    if (!line.startsWith(SIGNATURE_PREFIX))
      throw new NoteError('NOTE_FORMAT', `signature line does not start with "\u2014 ": ${JSON.stringify(line.slice(0, 40))}`)
    const rest = line.slice(SIGNATURE_PREFIX.length)
    const sp = rest.indexOf(' ')
    if (sp <= 0) throw new NoteError('NOTE_FORMAT', 'signature line needs "<key name> <base64>"')
    const name = rest.slice(0, sp)
    const b64 = rest.slice(sp + 1)
    if (!isValidKeyName(name)) throw new NoteError('NOTE_FORMAT', `bad key name in a signature line: ${JSON.stringify(name)}`)
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new NoteError('NOTE_FORMAT', 'signature is not standard padded base64')
    const raw = Buffer.from(b64, 'base64')
    if (raw.length < 5) throw new NoteError('NOTE_FORMAT', 'signature too short')
    signatures.push({ name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) })
  }
  if (signatures.length === 0) throw new NoteError('NOTE_FORMAT', 'no signature lines')
  return { text, signatures }
}

/**
 * The signature by `publicKey` on a parsed note, if there is a valid one:
 * a line whose key id equals keyId(its name, publicKey) and whose Ed25519
 * signature verifies over the text (and, when `name` is given, whose key
 * name is that name). Never throws.
 */
export function findValidSignature(note: SignedNote, publicKey: Uint8Array, name?: string): NoteSignature | undefined {
  try {
    const key = ed25519PublicKey(publicKey)
    for (const s of note.signatures) {
      if (!isValidKeyName(s.name) || s.signature.length !== 64) continue
      if (name !== undefined && s.name !== name) continue
      if (!keyId(s.name, publicKey).equals(s.keyId)) continue
      if (cryptoVerify(null, Buffer.from(note.text, 'utf8'), key, s.signature)) return s
    }
  } catch {
    return undefined
  }
  return undefined
}

// ---------------------------------------------------------------------------
// Checkpoints

export interface CheckpointBody {
  origin: string
  treeSize: number
  /** 32-byte root hash. */
  rootHash: Buffer
  /** Optional extension lines (none are written by bodyvault). */
  extensions: string[]
}

export function formatCheckpointBody(c: Omit<CheckpointBody, 'extensions'> & { extensions?: string[] }): string {
  if (c.origin.length === 0 || c.origin.includes('\n')) throw new NoteError('CHECKPOINT_FORMAT', 'checkpoint origin must be one non-empty line')
  if (!Number.isSafeInteger(c.treeSize) || c.treeSize < 0) throw new NoteError('CHECKPOINT_FORMAT', 'tree size must be a non-negative integer')
  if (c.rootHash.length !== 32) throw new NoteError('CHECKPOINT_FORMAT', 'root hash must be 32 bytes')
  const ext = c.extensions ?? []
  for (const e of ext) if (e.length === 0 || e.includes('\n')) throw new NoteError('CHECKPOINT_FORMAT', 'extension lines must be non-empty single lines')
  return `${c.origin}\n${c.treeSize}\n${c.rootHash.toString('base64')}\n${ext.map((e) => `${e}\n`).join('')}`
}

export function parseCheckpointBody(text: string): CheckpointBody {
  checkText(text)
  const lines = text.slice(0, -1).split('\n')
  if (lines.length < 3) throw new NoteError('CHECKPOINT_FORMAT', 'a checkpoint has at least three lines: origin, tree size, root hash')
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]]
  if (origin.length === 0) throw new NoteError('CHECKPOINT_FORMAT', 'empty origin line')
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new NoteError('CHECKPOINT_FORMAT', `tree size line is not a decimal number: ${JSON.stringify(size)}`)
  if (!/^[A-Za-z0-9+/]{43}=$/.test(root)) throw new NoteError('CHECKPOINT_FORMAT', 'root hash line is not 32 bytes of standard base64')
  return { origin, treeSize: Number(size), rootHash: Buffer.from(root, 'base64'), extensions }
}
