import type { Db } from './db.js'

/** A person's TOTP enrolment: the secret as stored (encrypted by the caller), pending until the first code confirms it. */
export interface SecondFactorRow {
  userId: number
  /** AES-256-GCM ciphertext of the base32 secret (src/api/second-factor-key.ts). */
  secret: string
  state: 'pending' | 'active'
  /** The last 30-second step a code was accepted at: a code of that step or before is refused. */
  lastStep: number | null
  createdAt: string
  confirmedAt: string | null
}

const SELECT = 'SELECT user_id AS userId, secret, state, last_step AS lastStep, created_at AS createdAt, confirmed_at AS confirmedAt FROM second_factors'

/** The second factors store: one statement per purpose. */
export function secondFactorOf(db: Db, userId: number): SecondFactorRow | undefined {
  return db.prepare(`${SELECT} WHERE user_id = ?`).get(userId) as SecondFactorRow | undefined
}

/** A new pending enrolment replaces any earlier pending one (an active one is replaced only after a reset). */
export function putPendingSecondFactor(db: Db, userId: number, secret: string, at: string): void {
  db.prepare(
    `INSERT INTO second_factors (user_id, secret, state, created_at) VALUES (?, ?, 'pending', ?)
     ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, state = 'pending', last_step = NULL, created_at = excluded.created_at, confirmed_at = NULL`,
  ).run(userId, secret, at)
}

export function activateSecondFactor(db: Db, userId: number, step: number, at: string): void {
  db.prepare("UPDATE second_factors SET state = 'active', last_step = ?, confirmed_at = ? WHERE user_id = ?").run(step, at, userId)
}

/** Records an accepted step; false when that step (or a later one) was taken already: a replayed code. */
export function takeStep(db: Db, userId: number, step: number): boolean {
  return db.prepare('UPDATE second_factors SET last_step = ? WHERE user_id = ? AND (last_step IS NULL OR last_step < ?)').run(step, userId, step).changes === 1
}

export function deleteSecondFactor(db: Db, userId: number): boolean {
  const n = db.prepare('DELETE FROM second_factors WHERE user_id = ?').run(userId).changes
  db.prepare('DELETE FROM recovery_codes WHERE user_id = ?').run(userId)
  return n === 1
}

/** The user ids with an active second factor (for the account list). */
export function enrolledUserIds(db: Db): Set<number> {
  return new Set((db.prepare("SELECT user_id AS id FROM second_factors WHERE state = 'active'").all() as { id: number }[]).map((r) => r.id))
}

/** Replaces a person's recovery codes (their SHA-256 hashes). */
export function replaceRecoveryCodes(db: Db, userId: number, hashes: string[]): void {
  db.prepare('DELETE FROM recovery_codes WHERE user_id = ?').run(userId)
  const ins = db.prepare('INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)')
  for (const h of hashes) ins.run(userId, h)
}

/** Uses up one recovery code; false when it is not one of this person's or was used already. */
export function useRecoveryCode(db: Db, userId: number, hash: string, at: string): boolean {
  return db.prepare('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL').run(at, userId, hash).changes === 1
}

export function unusedRecoveryCodes(db: Db, userId: number): number {
  return (db.prepare('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL').get(userId) as { n: number }).n
}
