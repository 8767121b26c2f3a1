import { createHash, randomInt } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'

/**
 * TOTP as RFC 6238 sets it out, with the parameters every authenticator
 * app takes by default: HMAC-SHA-1, 6 digits, 30-second steps, a 160-bit
 * secret (RFC 4226 section 4 asks at least 128). otpauth computes the codes;
 * what is ours is the rule: a code matches a step within `window` steps of
 * now (section 5.2, clock drift), and a step is accepted once (section 5.2:
 * "the verifier MUST NOT accept the second attempt of the same OTP"), so
 * the caller keeps the last step taken and refuses any step not after it.
 * Pure: the time is an argument.
 */
export const STEP_SECONDS = 30
const DIGITS = 6

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32
}

export function stepAt(ms: number): number {
  return Math.floor(ms / 1000 / STEP_SECONDS)
}

/** The step a six-digit code matches (within `window` steps of `nowMs`), or null. */
export function matchTotp(secretBase32: string, code: string, nowMs: number, window: number): number | null {
  const token = code.replace(/\s/g, '')
  if (!/^\d{6}$/.test(token)) return null
  const delta = TOTP.validate({
    token,
    secret: Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: DIGITS,
    period: STEP_SECONDS,
    timestamp: nowMs,
    window,
  })
  return delta === null ? null : stepAt(nowMs) + delta
}

/** The code of the step at `ms` (the tests' authenticator, and nothing else). */
export function totpCode(secretBase32: string, ms: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secretBase32), algorithm: 'SHA1', digits: DIGITS, period: STEP_SECONDS, timestamp: ms })
}

/** The otpauth:// URI an authenticator app reads from the QR code (Key Uri Format). */
export function totpUri(secretBase32: string, issuer: string, account: string): string {
  return new TOTP({ issuer, label: account, secret: Secret.fromBase32(secretBase32), algorithm: 'SHA1', digits: DIGITS, period: STEP_SECONDS }).toString()
}

/** Recovery codes: 12 characters from an alphabet without look-alikes, shown as xxxx-xxxx-xxxx (59 random bits each). */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'
export const RECOVERY_CODES = 10

export function newRecoveryCodes(n = RECOVERY_CODES): string[] {
  return Array.from({ length: n }, () => {
    let s = ''
    for (let i = 0; i < 12; i++) s += ALPHABET[randomInt(ALPHABET.length)]
    return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`
  })
}

/** Whether an answer looks like a recovery code rather than a six-digit code. */
export function isRecoveryCode(answer: string): boolean {
  return /^[a-z0-9]{4}-?[a-z0-9]{4}-?[a-z0-9]{4}$/i.test(answer.trim())
}

/** The stored form of a recovery code: SHA-256 of its canonical spelling (lower case, no dashes or spaces). */
export function recoveryHash(code: string): string {
  return createHash('sha256').update(code.trim().toLowerCase().replace(/[-\s]/g, ''), 'utf8').digest('hex')
}
