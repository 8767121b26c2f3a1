/**
 * The chain of station keys, as the ledger records it: the key that made
 * the vault (`vault-created`, event 1) or that a vault from before the
 * marker had when it was marked (`vault-marked`), then each rotation
 * (`key-rotated`: the new key announced with the old one at hand, its
 * statement signed by both) and each replacement (`key-replaced`: the old
 * key lost; the chain is broken there and says so for ever after).
 *
 * The chain decides three things:
 * - which key file may sign (signingKey): the chain's current key, else
 *   KEY_MISMATCH; a missing or different key file is never replaced in
 *   silence;
 * - which public key a checkpoint of a given size must verify with
 *   (signersAt): a key signs checkpoints from the event that introduced it
 *   up to the event that retired it;
 * - what verify and doctor show: problems in the chain itself and its breaks.
 *
 * A vault not yet marked (opened only by older versions) has no chain: then
 * the stored checkpoints name the key (by key id), as before.
 */
import { verify as cryptoVerify } from 'node:crypto'
import { latestCheckpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import { canonicalBytes } from './canonical.js'
import type { EventType, KeyFacts } from './events.js'
import { eventAt, storedEventsOfType, type LedgerEvent } from './ledger.js'
import { loadNextKey, loadStationKey, promoteNextKey, stationKeyPath, type StationKey, type StationPublicKey } from './keys.js'
import { ed25519PublicKey, spkiFingerprint } from './note.js'

export const KEY_EVENT_TYPES = ['vault-created', 'vault-marked', 'key-rotated', 'key-replaced'] as const satisfies readonly EventType[]

export interface ChainKey {
  /** 32 raw bytes; null for a vault marked after its key was lost. */
  publicKey: Buffer | null
  fingerprint: string | null
  /** The event that introduced it, when, and how. */
  seq: number
  at: string
  how: 'created' | 'marked' | 'rotated' | 'replaced'
  /** The smallest and the largest tree size it may sign a checkpoint of (signsTo null: it is the current key). */
  signsFrom: number
  signsTo: number | null
}

/** Where a replacement broke the chain: the new key is not vouched for by the old one. */
export interface KeyBreak {
  seq: number
  at: string
  actor: string
  reason: string
  previousFingerprint: string | null
  fingerprint: string
}

export interface KeyChain {
  /** The event that made or marked the vault; undefined for a vault not yet marked. */
  identity: { seq: number; type: 'vault-created' | 'vault-marked'; stationId: string } | undefined
  keys: ChainKey[]
  current: ChainKey | undefined
  breaks: KeyBreak[]
  /** Events of the chain that do not hold together (a rotation the old key did not sign, ...). */
  problems: { seq: number; detail: string }[]
}

/** A public key as a ledger payload names it. */
export function keyFacts(key: StationPublicKey): KeyFacts {
  return { publicKey: key.publicKey.toString('hex'), keyFingerprint: key.fingerprint, keyId: key.keyId.toString('hex') }
}

/**
 * The bytes both keys sign for a rotation (the new key alone for a
 * replacement): the change, where in the ledger it happens (its seq and the
 * hash of the event before it, so a statement cannot be replayed elsewhere),
 * the two fingerprints and the reason, in canonical JSON.
 */
export function keyChangeStatement(s: {
  change: 'rotation' | 'replacement'
  seq: number
  after: string
  from: string | null
  to: string
  reason: string
}): Buffer {
  return canonicalBytes({ statement: `bodyvault key ${s.change}`, seq: s.seq, after: s.after, from: s.from, to: s.to, reason: s.reason })
}

function verifies(publicKey: Buffer | null, data: Buffer, signatureB64: unknown): boolean {
  if (!publicKey || typeof signatureB64 !== 'string') return false
  try {
    return cryptoVerify(null, data, ed25519PublicKey(publicKey), Buffer.from(signatureB64, 'base64'))
  } catch {
    return false
  }
}

function short(fingerprint: string | null | undefined): string {
  return fingerprint ? `${fingerprint.slice(0, 16)}…` : '(unknown)'
}

/** The key a payload names, checked against its own fingerprint; null when the payload names none. */
function payloadKey(p: Record<string, unknown>): { publicKey: Buffer | null; fingerprint: string | null; problem?: string } {
  if (p.publicKey === null || p.publicKey === undefined) return { publicKey: null, fingerprint: null }
  const raw = Buffer.from(String(p.publicKey), 'hex')
  try {
    const fingerprint = spkiFingerprint(raw)
    if (fingerprint !== p.keyFingerprint)
      return { publicKey: raw, fingerprint, problem: `its keyFingerprint ${short(String(p.keyFingerprint))} is not its key's ${short(fingerprint)}` }
    return { publicKey: raw, fingerprint }
  } catch {
    return { publicKey: null, fingerprint: null, problem: 'its public key is not an Ed25519 key' }
  }
}

/** Folds the key events (in chain order, with their prevHash) into the chain (pure). */
export function foldKeyChain(events: Iterable<LedgerEvent>): KeyChain {
  const chain: KeyChain = { identity: undefined, keys: [], current: undefined, breaks: [], problems: [] }
  const problem = (seq: number, detail: string): void => void chain.problems.push({ seq, detail })
  const introduce = (k: ChainKey): void => {
    chain.keys.push(k)
    chain.current = k
  }
  for (const ev of events) {
    const p = ev.payload
    const key = payloadKey(p)
    if (key.problem) problem(ev.seq, `${ev.type}: ${key.problem}`)
    switch (ev.type) {
      case 'vault-created':
      case 'vault-marked': {
        if (chain.identity) {
          problem(ev.seq, `a second ${ev.type} event: the vault was already made or marked by event ${chain.identity.seq}`)
          break
        }
        if (ev.type === 'vault-created' && ev.seq !== 1) problem(ev.seq, 'vault-created is not the first event of the ledger')
        chain.identity = { seq: ev.seq, type: ev.type, stationId: String(p.stationId) }
        introduce({ ...key, seq: ev.seq, at: ev.at, how: ev.type === 'vault-created' ? 'created' : 'marked', signsFrom: 0, signsTo: null })
        break
      }
      case 'key-rotated':
      case 'key-replaced': {
        const prev = chain.current
        const rotation = ev.type === 'key-rotated'
        const from = (p.previousFingerprint as string | null) ?? null
        const statement = keyChangeStatement({
          change: rotation ? 'rotation' : 'replacement',
          seq: ev.seq,
          after: ev.prevHash,
          from,
          to: String(p.keyFingerprint),
          reason: String(p.reason),
        })
        if (!prev) problem(ev.seq, `${ev.type} before the vault was made or marked`)
        else if (prev.fingerprint !== from)
          problem(ev.seq, `${ev.type} names the previous key ${short(from)}, but the chain's key then was ${short(prev.fingerprint)}`)
        if (rotation && !verifies(prev?.publicKey ?? null, statement, p.signature))
          problem(ev.seq, "key-rotated: the old key's signature over the new key does not verify: the rotation was not made with the old key at hand")
        if (!verifies(key.publicKey, statement, p.newKeySignature)) problem(ev.seq, `${ev.type}: the new key's own signature does not verify`)
        if (prev) prev.signsTo = rotation ? ev.seq : ev.seq - 1
        if (!rotation)
          chain.breaks.push({
            seq: ev.seq,
            at: ev.at,
            actor: ev.actor,
            reason: String(p.reason),
            previousFingerprint: from,
            fingerprint: String(p.keyFingerprint),
          })
        introduce({ ...key, seq: ev.seq, at: ev.at, how: rotation ? 'rotated' : 'replaced', signsFrom: ev.seq, signsTo: null })
        break
      }
    }
  }
  return chain
}

/** The chain of keys of this catalog's ledger. */
export function readKeyChain(db: Db): KeyChain {
  const events: LedgerEvent[] = []
  for (const e of storedEventsOfType(db, KEY_EVENT_TYPES)) {
    const full = eventAt(db, e.seq)
    if (full) events.push(full)
  }
  return foldKeyChain(events)
}

/**
 * The public keys that may have signed a checkpoint of `treeSize` events;
 * null when the key of that stretch is not known (lost before the vault was
 * marked): its signature cannot be checked.
 */
export function signersAt(chain: KeyChain, treeSize: number): Buffer[] | null {
  const keys = chain.keys.filter((k) => k.signsFrom <= treeSize && (k.signsTo === null || treeSize <= k.signsTo))
  const known = keys.flatMap((k) => (k.publicKey ? [k.publicKey] : []))
  return known.length === 0 && keys.length > 0 ? null : known
}

/** What the key file holds against what the ledger names: the key when they agree, else what is wrong. */
export interface KeyFileCheck {
  /** The station key, when the file holds the key the ledger names (or nothing names one yet and there is a file). */
  key?: StationKey
  /** Why the file may not sign (missing, another key, the ledger's key lost); undefined when it may. */
  problem?: string
  /** True when nothing names a key yet and there is no key file (a vault not yet marked, never checkpointed). */
  none?: boolean
  /** What to do, when it is not KEY_REMEDY. */
  remedy?: string
}

/**
 * Compares the key file with the chain's current key (or, for a vault not
 * yet marked, with the key id of the latest checkpoint). `finish`: a
 * rotation whose event committed but whose staged key was not yet renamed
 * into place (a crash in between) is finished now.
 */
export function checkKeyFile(db: Db, dataDir: string, stationId: string, o: { chain?: KeyChain; finish?: boolean } = {}): KeyFileCheck {
  const chain = o.chain ?? readKeyChain(db)
  const path = stationKeyPath(dataDir)
  let file = loadStationKey(dataDir, stationId)
  if (chain.identity) {
    // A chain that does not hold together (a rotation the old key did not sign: someone wrote it into the catalog) names no key to trust.
    const broken = chain.problems[0]
    if (broken) return { problem: `the chain of keys does not hold together at event ${broken.seq} (${broken.detail})`, remedy: CHAIN_REMEDY }
    const want = chain.current
    if (!want?.fingerprint)
      return {
        problem: `the ledger names no usable station key since event ${want?.seq ?? chain.identity.seq} (the vault was marked after its key was lost)`,
      }
    if (file?.fingerprint !== want.fingerprint && o.finish) {
      const next = loadNextKey(dataDir, stationId)
      if (next?.fingerprint === want.fingerprint) {
        promoteNextKey(dataDir)
        file = loadStationKey(dataDir, stationId)
      }
    }
    if (!file)
      return { problem: `the station key file ${path} is missing, but the ledger names key ${short(want.fingerprint)} (event ${want.seq}, ${want.how})` }
    if (file.fingerprint !== want.fingerprint)
      return {
        problem: `the station key file ${path} holds key ${short(file.fingerprint)}, not the key the ledger names: ${short(want.fingerprint)} (event ${want.seq}, ${want.how})`,
      }
    return { key: file }
  }
  const latest = latestCheckpoint(db)
  if (!latest) return file ? { key: file } : { none: true }
  if (!file) return { problem: `the station key file ${path} is missing, but checkpoint ${latest.id} was signed by key id ${latest.keyId}` }
  if (file.keyId.toString('hex') !== latest.keyId)
    return {
      problem: `the station key file ${path} holds key id ${file.keyId.toString('hex')}, but checkpoint ${latest.id} was signed by key id ${latest.keyId}`,
    }
  return { key: file }
}

/** What to do about a key that may not sign. */
export const KEY_REMEDY =
  "restore this station's key file from a backup; if it is lost for good, run bodyvault key replace --reason TEXT --by NAME (the ledger then records that the chain of keys was broken). Nothing is signed until then"

const CHAIN_REMEDY =
  'key events were written into the catalog outside bodyvault: restore catalog.db from a backup of this station and run bodyvault verify. Nothing is signed until then'

/**
 * Refuses (KEY_MISMATCH) a key the ledger no longer names: call it inside the
 * write transaction that signs, where no rotation by another process can come
 * between (one loaded before a rotation committed must not sign after it).
 * A vault not yet marked has no chain to ask.
 */
export function assertCurrentKey(db: Db, key: Pick<StationKey, 'fingerprint'>): void {
  const chain = readKeyChain(db)
  if (chain.identity && chain.current?.fingerprint !== key.fingerprint)
    throw new BodyvaultError(
      'KEY_MISMATCH',
      `key ${short(key.fingerprint)} is not the station key the ledger names now (${short(chain.current?.fingerprint)}, event ${chain.current?.seq}): nothing was signed with it`,
    )
}

/** The station key, ready to sign: the key file the ledger names (finishing a rotation cut short), else KEY_MISMATCH. Never makes a key. */
export function signingKey(db: Db, dataDir: string, stationId: string): StationKey {
  const c = checkKeyFile(db, dataDir, stationId, { finish: true })
  if (c.key) return c.key
  throw new BodyvaultError('KEY_MISMATCH', `${c.problem ?? `there is no station key (${stationKeyPath(dataDir)})`}: ${c.remedy ?? KEY_REMEDY}`)
}
