import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { type AuthSessionRow, authSessionByHash, endAuthSession, insertAuthSession, type SessionKind, touchAuthSession } from '../catalog/auth-sessions.js'
import type { Db } from '../catalog/db.js'
import { getUser, type UserRow } from '../catalog/users.js'
import { type AuthFields, actors, subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'

/**
 * Server-side sign-in sessions (the web's cookie, the CLI's `login` file):
 * a 256-bit secret the client holds, its SHA-256 in the catalog, a CSRF
 * token the web page sends back in a header, an idle timeout (default 30
 * min) and an absolute one (default 12 h). The clock is this store's
 * dependency (`now`), so a test moves time without any switch in the code
 * that checks sessions.
 */
export interface SessionTimes {
  idleMs: number
  absoluteMs: number
}

export type Clock = () => Date

export interface OpenSession {
  session: AuthSessionRow
  user: UserRow
}

export type SessionCheck = { ok: true; open: OpenSession } | { ok: false; why: 'unknown' | 'ended' | 'expired' }

const hashOf = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex')
/** Touching a session writes to the catalog at most this often (the idle timeout has this much slack). */
const TOUCH_MS = 15_000

export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly times: SessionTimes,
    readonly now: Clock = () => new Date(),
  ) {}

  /** Opens a session for an account that has just proven who it is; `signed-in` in the ledger. */
  open(
    user: UserRow,
    o: { kind: SessionKind; client: string; component: AuthFields['component']; factor?: boolean },
  ): { secret: string; csrf: string; session: AuthSessionRow } {
    const secret = `bvs_${randomBytes(32).toString('base64url')}`
    const csrf = randomBytes(24).toString('base64url')
    const at = this.now().toISOString()
    return this.db
      .transaction(() => {
        // A second factor given at sign-in counts as a step-up from then (the step-up window).
        const id = insertAuthSession(this.db, {
          hash: hashOf(secret),
          userId: user.id,
          kind: o.kind,
          csrf,
          client: o.client,
          at,
          factorAt: o.factor ? at : null,
        })
        appendEvent(this.db, {
          type: 'signed-in',
          actor: actors.user(user.username),
          subject: subjects.user(user.username),
          payload: { user: user.username, component: o.component, outcome: 'success', sessionId: id, kind: o.kind, client: o.client },
          at: new Date(at),
        })
        return { secret, csrf, session: authSessionByHash(this.db, hashOf(secret))! }
      })
      .immediate()
  }

  /** The live session a secret names; an expired one is ended here (`session-expired` in the ledger) and refused. */
  check(secret: string, component: AuthFields['component']): SessionCheck {
    if (!/^bvs_[A-Za-z0-9_-]{43}$/.test(secret)) return { ok: false, why: 'unknown' }
    const s = authSessionByHash(this.db, hashOf(secret))
    if (!s) return { ok: false, why: 'unknown' }
    if (s.endedAt) return { ok: false, why: 'ended' }
    const user = getUser(this.db, s.userId)
    if (!user?.enabled) return { ok: false, why: 'ended' }
    const now = this.now()
    const t = now.getTime()
    const reason = t - Date.parse(s.createdAt) > this.times.absoluteMs ? 'absolute' : t - Date.parse(s.lastSeenAt) > this.times.idleMs ? 'idle' : null
    if (reason) {
      this.db
        .transaction(() => {
          if (!endAuthSession(this.db, s.id, now.toISOString(), reason)) return
          appendEvent(this.db, {
            type: 'session-expired',
            actor: actors.user(user.username),
            subject: subjects.user(user.username),
            payload: { user: user.username, component, outcome: 'success', sessionId: s.id, reason },
            at: now,
          })
        })
        .immediate()
      return { ok: false, why: 'expired' }
    }
    if (t - Date.parse(s.lastSeenAt) > TOUCH_MS) touchAuthSession(this.db, s.id, now.toISOString())
    return { ok: true, open: { session: s, user } }
  }

  /** Signs out: the session ends, `signed-out` in the ledger. */
  close(open: OpenSession, o: { client: string; component: AuthFields['component'] }): void {
    const now = this.now()
    this.db
      .transaction(() => {
        if (!endAuthSession(this.db, open.session.id, now.toISOString(), 'signed-out')) return
        appendEvent(this.db, {
          type: 'signed-out',
          actor: actors.user(open.user.username),
          subject: subjects.user(open.user.username),
          payload: { user: open.user.username, component: o.component, outcome: 'success', sessionId: open.session.id, client: o.client },
          at: now,
        })
      })
      .immediate()
  }
}

/** Whether a header's CSRF token is the session's (constant time). */
export function csrfMatches(session: AuthSessionRow, given: string | undefined): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(session.csrf)
  return a.length === b.length && timingSafeEqual(a, b)
}
