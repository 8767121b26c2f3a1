import type { Db } from './db.js'

export type SessionKind = 'web' | 'cli'
export type SessionEnd = 'signed-out' | 'idle' | 'absolute' | 'account'

/** A sign-in session (the web's cookie, the CLI's login): never its secret, only the SHA-256 of it. */
export interface AuthSessionRow {
  id: number
  userId: number
  kind: SessionKind
  csrf: string
  client: string
  createdAt: string
  lastSeenAt: string
  endedAt: string | null
  endReason: SessionEnd | null
  /** When its person last gave a second factor in it (at sign-in or a step-up); null: never. */
  factorAt: string | null
}

const SELECT = `SELECT id, user_id AS userId, kind, csrf, client, created_at AS createdAt, last_seen_at AS lastSeenAt, ended_at AS endedAt,
  end_reason AS endReason, factor_at AS factorAt FROM auth_sessions`

/** The sign-in sessions store: one statement per purpose. */
export function insertAuthSession(
  db: Db,
  s: { hash: string; userId: number; kind: SessionKind; csrf: string; client: string; at: string; factorAt?: string | null },
): number {
  return Number(
    db
      .prepare('INSERT INTO auth_sessions (hash, user_id, kind, csrf, client, created_at, last_seen_at, factor_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(s.hash, s.userId, s.kind, s.csrf, s.client, s.at, s.at, s.factorAt ?? null).lastInsertRowid,
  )
}

/** A second factor given in a live session (a step-up). */
export function setSessionFactorAt(db: Db, id: number, at: string): void {
  db.prepare('UPDATE auth_sessions SET factor_at = ? WHERE id = ? AND ended_at IS NULL').run(at, id)
}

export function authSessionByHash(db: Db, hash: string): AuthSessionRow | undefined {
  return db.prepare(`${SELECT} WHERE hash = ?`).get(hash) as AuthSessionRow | undefined
}

export function touchAuthSession(db: Db, id: number, at: string): void {
  db.prepare('UPDATE auth_sessions SET last_seen_at = ? WHERE id = ? AND ended_at IS NULL').run(at, id)
}

/** Ends a live session; false when it had ended already. */
export function endAuthSession(db: Db, id: number, at: string, reason: SessionEnd): boolean {
  return db.prepare('UPDATE auth_sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL').run(at, reason, id).changes === 1
}

/** The live sessions of an account (ended with it when it is disabled). */
export function liveSessionsOf(db: Db, userId: number): AuthSessionRow[] {
  return db.prepare(`${SELECT} WHERE user_id = ? AND ended_at IS NULL ORDER BY id`).all(userId) as AuthSessionRow[]
}
