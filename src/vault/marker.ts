/**
 * The vault marker: data/vault.json, written once when a vault is made (or,
 * for a vault made before the marker existed, when this version first opens
 * it), fsynced, mode 0444, never rewritten. It says which vault the data dir
 * is: the station, the key that started its chain of keys, the hash of its
 * first ledger event (the genesis) and when it was made. With it and the
 * objects present, a missing, emptied or substituted catalog is refused
 * instead of replaced by a new one (src/station/vault-identity.ts decides).
 *
 * Its content follows from the ledger event that made or marked the vault
 * (`vault-created`, `vault-marked`), so two processes writing it write the
 * same bytes, and a marker lost on its own can be written again from the
 * catalog it names.
 */
import { constants as C, closeSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'

export const MARKER_FILE = 'vault.json'
export const MARKER_FORMAT = 'bodyvault-vault/1'

export interface VaultMarker {
  format: typeof MARKER_FORMAT
  stationId: string
  /** SHA-256 (hex) of the DER public key that started the chain of keys; null when a vault marked by this version had lost its key. */
  keyFingerprint: string | null
  /** The hash of ledger event 1. */
  genesisHash: string
  /** When the vault was made: ledger event 1's time. */
  createdAt: string
  /** The seq of the `vault-created` or `vault-marked` event the marker is written from. */
  identityEvent: number
}

export function markerPath(dataDir: string): string {
  return join(dataDir, MARKER_FILE)
}

const HEX64 = /^[0-9a-f]{64}$/
const MARKER_WAY_OUT =
  "restore it from a backup, or move it aside: the next command writes it again from the catalog's vault-created or vault-marked event (check with bodyvault verify that the catalog is this station's)"

function parseMarker(text: string, path: string): VaultMarker {
  let m: Partial<VaultMarker>
  try {
    m = JSON.parse(text) as Partial<VaultMarker>
  } catch (err) {
    throw new BodyvaultError('VAULT_MARKER', `the vault marker ${path} is not JSON (${errorMessage(err)}): ${MARKER_WAY_OUT}`)
  }
  const ok =
    m !== null &&
    typeof m === 'object' &&
    m.format === MARKER_FORMAT &&
    typeof m.stationId === 'string' &&
    (m.keyFingerprint === null || (typeof m.keyFingerprint === 'string' && HEX64.test(m.keyFingerprint))) &&
    typeof m.genesisHash === 'string' &&
    HEX64.test(m.genesisHash) &&
    typeof m.createdAt === 'string' &&
    Number.isInteger(m.identityEvent)
  if (!ok) throw new BodyvaultError('VAULT_MARKER', `the vault marker ${path} is not a ${MARKER_FORMAT} marker: ${MARKER_WAY_OUT}`)
  return m as VaultMarker
}

/** The marker of the vault in `dataDir`, or undefined when there is none; a damaged one is VAULT_MARKER. */
export function readMarker(dataDir: string): VaultMarker | undefined {
  const path = markerPath(dataDir)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw new BodyvaultError('VAULT_MARKER', `the vault marker ${path} cannot be read (${errorMessage(err)}): make it readable by the station's user`)
  }
  return parseMarker(text, path)
}

/**
 * The marker as the ledger gives it: from the event that made or marked the
 * vault and the ledger's first event (pure: whoever writes it writes the same bytes).
 */
export function markerFromEvents(identity: { seq: number; type: string; payload: Record<string, unknown> }, first: { hash: string; at: string }): VaultMarker {
  const p = identity.payload
  return {
    format: MARKER_FORMAT,
    stationId: String(p.stationId),
    keyFingerprint: typeof p.keyFingerprint === 'string' ? p.keyFingerprint : null,
    genesisHash: identity.type === 'vault-marked' && typeof p.genesisHash === 'string' ? p.genesisHash : first.hash,
    createdAt: first.at,
    identityEvent: identity.seq,
  }
}

export function markerText(m: VaultMarker): string {
  const { format, stationId, keyFingerprint, genesisHash, createdAt, identityEvent } = m
  return `${JSON.stringify({ format, stationId, keyFingerprint, genesisHash, createdAt, identityEvent }, null, 2)}\n`
}

/**
 * Writes the marker once: a fully written, fsynced temporary file (0444)
 * hard-linked into place, then the folder fsynced. A marker already there
 * with the same content is fine (another process wrote it first); one with
 * other content is never overwritten (VAULT_MARKER).
 */
export function writeMarker(dataDir: string, m: VaultMarker): 'written' | 'present' {
  const path = markerPath(dataDir)
  const text = markerText(m)
  const tmp = join(dataDir, `.${MARKER_FILE}.${process.pid}.tmp`)
  const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o444)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  let result: 'written' | 'present' = 'written'
  try {
    linkSync(tmp, path)
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err
    result = 'present'
  } finally {
    unlinkSync(tmp)
  }
  if (result === 'present') {
    const there = readMarker(dataDir)
    if (!there || markerText(there) !== text)
      throw new BodyvaultError(
        'VAULT_MARKER',
        `the vault marker ${path} names another vault (genesis ${there?.genesisHash.slice(0, 12)}…) than this catalog (genesis ${m.genesisHash.slice(0, 12)}…): it is never overwritten`,
      )
    return result
  }
  const dfd = openSync(dataDir, C.O_RDONLY | C.O_DIRECTORY)
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
  return result
}

/** Whether the vault's objects/ folder holds at least one object (evidence a new catalog must never be made over). */
export function holdsObjects(objectsDir: string): boolean {
  let dirs: string[]
  try {
    dirs = readdirSync(objectsDir)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw err
  }
  for (const d of dirs) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue
    try {
      if (readdirSync(join(objectsDir, d)).some((f) => /^[0-9a-f]{64}$/.test(f))) return true
    } catch (err) {
      if (errnoCode(err) !== 'ENOTDIR') throw err
    }
  }
  return false
}
