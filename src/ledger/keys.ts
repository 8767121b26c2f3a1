/**
 * The station's Ed25519 signing key: made with the vault (src/station/
 * vault-identity.ts), kept in the data dir as data/keys/station.ed25519
 * (PKCS#8 PEM, mode 0600, folder 0700). Only `sign` can use the private key;
 * it is never returned, printed or logged. Which key the file must hold is
 * the ledger's to say (the chain of keys, ./key-chain.ts); a rotation stages
 * the new key beside it (station.ed25519.next) and renames it into place
 * once the ledger announced it.
 *
 * Its public half identifies the station to anyone checking a checkpoint or an
 * evidence package: `bodyvault key show` prints it (hex, C2SP vkey, SPKI PEM
 * and the SPKI SHA-256 fingerprint) so it can be recorded away from the
 * station, where someone who controls the station cannot change it.
 */
import { constants as C, closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { keyId, rawPublicKey, spkiFingerprint, spkiPem, vkeyString } from './note.js'

export const KEY_DIR = 'keys'
export const KEY_FILE = 'station.ed25519'

export interface StationPublicKey {
  /** Signed-note key name, also the checkpoint origin: "bodyvault/<station id>". */
  name: string
  /** 32 raw bytes. */
  publicKey: Buffer
  /** C2SP key id (4 bytes). */
  keyId: Buffer
  /** C2SP verifier key string. */
  vkey: string
  /** SHA-256 (hex) of the DER SubjectPublicKeyInfo. */
  fingerprint: string
  /** SubjectPublicKeyInfo PEM (what openssl -pubin reads). */
  pem: string
}

export interface StationKey extends StationPublicKey {
  /** Where the private key file is. */
  path: string
  /** Ed25519 signature of `data`. */
  sign(data: Uint8Array): Buffer
}

/** The signed-note key name and checkpoint origin of a station. */
export function stationKeyName(stationId: string): string {
  return `bodyvault/${stationId}`
}

export function stationKeyPath(dataDir: string): string {
  return join(dataDir, KEY_DIR, KEY_FILE)
}

export function describePublicKey(name: string, raw: Buffer): StationPublicKey {
  return { name, publicKey: raw, keyId: keyId(name, raw), vkey: vkeyString(name, raw), fingerprint: spkiFingerprint(raw), pem: spkiPem(raw) }
}

function readPrivateKey(path: string): KeyObject {
  const st = statSync(path)
  if ((st.mode & 0o077) !== 0) {
    throw new BodyvaultError(
      'KEY_PERMISSIONS',
      `station key ${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}): run "chmod 600 ${path}", and consider the key exposed: make a new station key and publish its public key`,
      3,
    )
  }
  let key: KeyObject
  try {
    key = createPrivateKey(readFileSync(path))
  } catch (err) {
    throw new BodyvaultError(
      'KEY_INVALID',
      `station key ${path} cannot be read as a PKCS#8 private key (${errorMessage(err)}): restore it from backup; without it new checkpoints cannot be signed`,
      3,
    )
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new BodyvaultError('KEY_INVALID', `station key ${path} is a ${String(key.asymmetricKeyType)} key, not Ed25519: restore the station's Ed25519 key`, 3)
  return key
}

function wrap(path: string, name: string, priv: KeyObject): StationKey {
  const raw = rawPublicKey(createPublicKey(priv))
  return { ...describePublicKey(name, raw), path, sign: (data) => cryptoSign(null, data, priv) }
}

/**
 * Loads the station key, creating it first if there is none. Creation is
 * atomic (a fully written temporary file hard-linked into place), so two
 * processes starting together end up with the same key.
 */
export function loadOrCreateStationKey(dataDir: string, stationId: string, logger?: Logger): StationKey {
  const name = stationKeyName(stationId)
  const dir = join(dataDir, KEY_DIR)
  const path = stationKeyPath(dataDir)
  try {
    return wrap(path, name, readPrivateKey(path))
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new BodyvaultError('DATA_DIR', `cannot create ${dir}: ${errorMessage(err)}. Make the data dir writable.`, 3)
  }
  const { privateKey } = generateKeyPairSync('ed25519')
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const tmp = join(dir, `.${KEY_FILE}.${process.pid}.tmp`)
  const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600)
  try {
    writeSync(fd, pem)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  let created = true
  try {
    linkSync(tmp, path)
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err
    created = false // another process made it first: use theirs
  } finally {
    unlinkSync(tmp)
  }
  const dfd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY)
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
  const key = wrap(path, name, readPrivateKey(path))
  if (created)
    logger?.info(
      { event: 'key.created', path, keyName: key.name, keyId: key.keyId.toString('hex'), fingerprint: key.fingerprint },
      'station signing key created',
    )
  return key
}

/** Raw 32-byte public key of the station key file, without creating anything; undefined when there is none. */
export function readStationPublicKey(dataDir: string): Buffer | undefined {
  try {
    return rawPublicKey(createPublicKey(readPrivateKey(stationKeyPath(dataDir))))
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
}

/**
 * The station's public key, without creating anything; undefined when there
 * is no key file yet. (Reads the private key file to derive it.)
 */
export function loadStationPublicKey(dataDir: string, stationId: string): StationPublicKey | undefined {
  const path = stationKeyPath(dataDir)
  let priv: KeyObject
  try {
    priv = readPrivateKey(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
  return describePublicKey(stationKeyName(stationId), rawPublicKey(createPublicKey(priv)))
}

/** The key in `path`, or undefined when there is no such file. */
function loadKeyFile(path: string, stationId: string): StationKey | undefined {
  try {
    return wrap(path, stationKeyName(stationId), readPrivateKey(path))
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
}

/** Loads the station key file without making anything; undefined when there is none. */
export function loadStationKey(dataDir: string, stationId: string): StationKey | undefined {
  return loadKeyFile(stationKeyPath(dataDir), stationId)
}

/** Where a rotation or replacement stages the new key until the ledger announced it. */
export function nextKeyPath(dataDir: string): string {
  return join(dataDir, KEY_DIR, `${KEY_FILE}.next`)
}

/** The staged next key (see nextKeyPath), or undefined when there is none. */
export function loadNextKey(dataDir: string, stationId: string): StationKey | undefined {
  return loadKeyFile(nextKeyPath(dataDir), stationId)
}

function fsyncDir(dir: string): void {
  const dfd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY)
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

/**
 * Makes a new key pair and stages it as station.ed25519.next (0600, fsynced,
 * replacing an older staged one): the current key file stays as it is until
 * promoteNextKey.
 */
export function stageNextKey(dataDir: string, stationId: string): StationKey {
  const dir = join(dataDir, KEY_DIR)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const { privateKey } = generateKeyPairSync('ed25519')
  const tmp = join(dir, `.${KEY_FILE}.next.${process.pid}.tmp`)
  const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o600)
  try {
    writeSync(fd, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, nextKeyPath(dataDir))
  fsyncDir(dir)
  return wrap(nextKeyPath(dataDir), stationKeyName(stationId), privateKey)
}

/**
 * Renames the staged key over the station key file (the old private key is
 * gone with it) and fsyncs the folder. Two processes finishing the same
 * rotation: the second finds nothing staged, which is fine.
 */
export function promoteNextKey(dataDir: string): void {
  try {
    renameSync(nextKeyPath(dataDir), stationKeyPath(dataDir))
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err
  }
  fsyncDir(join(dataDir, KEY_DIR))
}

/** Moves a key file the ledger does not name out of the way (kept for analysis, never used again); returns where it went. */
export function setAsideKeyFile(dataDir: string, now: Date): string | undefined {
  const to = `${stationKeyPath(dataDir)}.set-aside-${now.toISOString().replace(/[:.]/g, '-')}`
  try {
    renameSync(stationKeyPath(dataDir), to)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
  fsyncDir(join(dataDir, KEY_DIR))
  return to
}
