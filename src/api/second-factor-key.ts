import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { constants as C, closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import { KEY_DIR } from '../ledger/keys.js'

/**
 * The key that encrypts the second factors' TOTP secrets in the catalog:
 * 32 random bytes in data/keys/second-factor.key, beside the station key
 * (mode 0600, folder 0700), so a copy of catalog.db alone gives nobody a
 * code. AES-256-GCM (NIST SP 800-38D): a fresh 96-bit IV per secret, the
 * 128-bit tag checked on every read, and the account id as additional data,
 * so a ciphertext moved to another person's row does not decrypt. Made at
 * the first enrolment; the backup copies it with the other key files.
 */
export const SECOND_FACTOR_KEY_FILE = 'second-factor.key'

export function secondFactorKeyPath(dataDir: string): string {
  return join(dataDir, KEY_DIR, SECOND_FACTOR_KEY_FILE)
}

function readKey(path: string): Buffer {
  const st = statSync(path)
  if ((st.mode & 0o077) !== 0)
    throw new BodyvaultError('SECOND_FACTOR_KEY', `${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}): run "chmod 600 ${path}"`)
  const hex = readFileSync(path, 'utf8').trim()
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new BodyvaultError('SECOND_FACTOR_KEY', `${path} is not a second-factor key (64 hex digits): restore it from the backup`)
  return Buffer.from(hex, 'hex')
}

/** The key, made first when `create` and there is none (atomically: two processes never make two keys). */
export function secondFactorKey(path: string, create: boolean): Buffer {
  try {
    return readKey(path)
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err instanceof BodyvaultError ? err : new BodyvaultError('SECOND_FACTOR_KEY', `${path}: ${errorMessage(err)}`)
    if (!create) throw new BodyvaultError('SECOND_FACTOR_KEY', `${path} is missing: restore it from the station's backup (the enrolled second factors need it)`)
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o600)
  try {
    writeSync(fd, `${randomBytes(32).toString('hex')}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    linkSync(tmp, path) // fails if another process made one first: then that one is the key
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err
  } finally {
    unlinkSync(tmp)
  }
  return readKey(path)
}

/** `v1.<iv>.<tag>.<ciphertext>` (base64url) of `plain`, bound to `context` (the account id). */
export function sealSecret(key: Buffer, plain: string, context: string): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  c.setAAD(Buffer.from(context, 'utf8'))
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()])
  return ['v1', iv, c.getAuthTag(), body].map((x) => (typeof x === 'string' ? x : x.toString('base64url'))).join('.')
}

export function openSecret(key: Buffer, sealed: string, context: string): string {
  const [v, iv, tag, body] = sealed.split('.')
  try {
    if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed secret')
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
    d.setAAD(Buffer.from(context, 'utf8'))
    d.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8')
  } catch (err) {
    throw new BodyvaultError(
      'SECOND_FACTOR_KEY',
      `a second-factor secret does not open with keys/${SECOND_FACTOR_KEY_FILE} (${errorMessage(err)}): restore the key from the backup, or reset that person's second factor`,
    )
  }
}
