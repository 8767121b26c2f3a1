import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto'
import { BodyvaultError } from '../common/errors.js'
import { COMMON_PASSWORDS } from './common-passwords.js'

/**
 * Passwords: scrypt from node:crypto (memory-hard, no native dependency to
 * build on the station PCs). Parameters: N = 2^15, r = 8, p = 1, a 16-byte
 * random salt, a 32-byte key: 32 MiB and about 0.1 s a hash on a station
 * PC, the OWASP password storage cheat sheet's scrypt minimum. The stored
 * form names its parameters (`scrypt$N$r$p$salt$key`, base64url), so they
 * can be raised later and old hashes still verify.
 */
export const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const

function derive(password: string, salt: Buffer, p: { N: number; r: number; p: number; keyLength: number }): Promise<Buffer> {
  const opts: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + (1 << 20) }
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, p.keyLength, opts, (err, key) => (err ? reject(err) : resolve(key))))
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength)
  const key = await derive(password, salt, SCRYPT)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** A hash of no password anybody knows: verified against when the account does not exist, so that the answer takes as long. */
let decoy: Promise<string> | undefined

/** Whether `password` matches `stored`; with no stored hash (unknown account, no password yet) it still spends the same work and says no. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = stored?.split('$')
  if (parts?.length !== 6 || parts[0] !== 'scrypt') {
    decoy ??= hashPassword(randomBytes(16).toString('hex'))
    await verifyPassword(password, await decoy)
    return false
  }
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string]
  const want = Buffer.from(key, 'base64url')
  const got = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p), keyLength: want.length })
  return got.length === want.length && timingSafeEqual(got, want)
}

/** The password policy (config `people.password`). */
export interface PasswordPolicy {
  minLength: number
}

/** Why a new password is refused, or null when it is acceptable. */
export function passwordProblem(
  policy: PasswordPolicy,
  password: string,
  account: { username: string; displayName?: string; policeNo?: string | null },
): string | null {
  const chars = [...password]
  if (chars.length < policy.minLength) return `a password needs at least ${policy.minLength} characters`
  if (chars.length > 256) return 'a password has at most 256 characters'
  if (/\p{Cc}/u.test(password)) return 'a password has no control characters'
  const lower = password.toLowerCase()
  for (const own of [account.username, account.displayName, account.policeNo])
    if (own && own.length >= 3 && lower.includes(own.toLowerCase())) return 'a password must not contain the user name, the display name or the police number'
  // A common password with digits or symbols added ("password1234!") is still one.
  const forms = [lower, lower.replace(/[^\p{L}\p{N}]/gu, ''), lower.replace(/[^\p{L}]/gu, ''), lower.replace(/[\p{N}\p{P}\p{S}]+$/u, '')]
  if (forms.some((f) => COMMON_PASSWORDS.has(f))) return 'this password is on the list of the most common passwords: choose another'
  if (new Set(chars).size < 4) return 'a password needs at least 4 different characters'
  return null
}

export function requireGoodPassword(policy: PasswordPolicy, password: string, account: Parameters<typeof passwordProblem>[2]): void {
  const why = passwordProblem(policy, password, account)
  if (why) throw new BodyvaultError('PASSWORD_POLICY', why)
}

/** A one-time password for a new or reset account (shown once; the person must change it at first sign-in): 20 base32 characters. */
export function oneTimePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789'
  const bytes = randomBytes(20)
  const s = [...bytes].map((b) => alphabet[b & 31]).join('')
  return `${s.slice(0, 5)}-${s.slice(5, 10)}-${s.slice(10, 15)}-${s.slice(15, 20)}`
}
