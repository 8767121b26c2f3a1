/**
 * The ledger events of access: reads of footage, tokens, accounts and
 * sign-ins, export requests and their decisions. Part of the one vocabulary
 * in ./events.ts (which re-exports it); split out only to keep that file readable.
 */
import type { AuthFields, ExportDecision, PersonFields } from './payloads.js'
import type { ExportSubject, RecordingSubject, StationSubject, TokenSubject, UserSubject } from './subjects.js'

export type AccessVocabulary = {
  // API (src/api/)
  /** A read of footage, written before the first byte is sent. */
  viewed: {
    subject: RecordingSubject
    payload: {
      recordingId: number
      what: string
      sha256: string
      tokenId: number
      role: string
      reason: string | null
      client: string
      range: string
    } & PersonFields
  }
  'token-created': {
    subject: TokenSubject
    payload: { tokenId: number; name: string; role: string; officerId: string | null } & Partial<AuthFields> & { owner?: string }
  }
  'token-revoked': { subject: TokenSubject; payload: { tokenId: number } & Partial<AuthFields> & { owner?: string } }

  // people (src/api/accounts.ts, sessions.ts, sign-in.ts): the CJIS 5.4 audit fields in every payload (the time is the event's)
  /** `source` and `dn`: a person the directory vouched for, made at their first sign-in (absent: a local account). */
  'user-created': {
    subject: UserSubject
    payload: AuthFields & { kind: 'person' | 'service'; displayName: string; policeNo: string | null; unit: string | null; roles: string[] } & {
      source?: 'directory'
      dn?: string
    }
  }
  'roles-changed': { subject: UserSubject; payload: AuthFields & { from: string[]; to: string[] } }
  'user-disabled': { subject: UserSubject; payload: AuthFields & { tokensRevoked: number[]; sessionsEnded: number[] } }
  'user-enabled': { subject: UserSubject; payload: AuthFields }
  /** `reset`: an admin set a one-time password (changed at the next sign-in); else the person changed their own. */
  'password-changed': { subject: UserSubject; payload: AuthFields & { reset: boolean } }
  /** The account's PIN for the dock screen set (by an admin, or by the person) or cleared; never the PIN. */
  'pin-set': { subject: UserSubject; payload: AuthFields & { cleared: boolean } }
  'signed-in': { subject: UserSubject; payload: AuthFields & { sessionId: number; kind: 'web' | 'cli'; client: string } }
  'signed-out': { subject: UserSubject; payload: AuthFields & { sessionId: number; client: string } }
  'session-expired': { subject: UserSubject; payload: AuthFields & { sessionId: number; reason: 'idle' | 'absolute' } }
  /**
   * Failed sign-ins of one window, counted (one event per window, so nobody
   * on the LAN can grow the ledger at will): per existing account and per
   * client address. A user name that does not exist is only counted
   * (people type passwords into that field).
   */
  'sign-in-failures': {
    subject: StationSubject
    payload: {
      component: string
      outcome: 'failure'
      windowStart: string
      windowEnd: string
      accounts: { user: string; failures: number; lockedUntil: string | null }[]
      addresses: { address: string; failures: number; lockedUntil: string | null }[]
      unknownAccountFailures: number
    }
  }

  // second factor and directory (src/api/second-factor.ts, directory-sign-in.ts)
  /** A person confirmed a TOTP enrolment with a first code; `recoveryCodes` single-use codes were shown once. */
  'second-factor-enrolled': { subject: UserSubject; payload: AuthFields & { method: 'totp'; recoveryCodes: number } }
  /** A recovery code stood in for the authenticator (it is used up); `remaining` unused codes are left. */
  'recovery-code-used': { subject: UserSubject; payload: AuthFields & { remaining: number } }
  /** A second factor was removed (an admin's reset, or the person's own): the person enrols again. */
  'second-factor-reset': { subject: UserSubject; payload: AuthFields & { method: 'totp'; recoveryCodesDropped: number } }
  /** A person whose role needs a second factor and who has none signed in under auth.secondFactor.graceDays (allowed to act until `until`). */
  'second-factor-grace': { subject: UserSubject; payload: AuthFields & { sessionId: number; until: string; graceDays: number } }
  /** A second factor given again inside a session, for an act that needs a fresh one (approvals, holds, flag removals). */
  'stepped-up': { subject: UserSubject; payload: AuthFields & { sessionId: number; via: 'totp' | 'recovery-code' } }
  /** The directory's facts about a person changed since the last sign-in (name, police number, unit, DN), or it disabled or enabled them. */
  'directory-synced': {
    subject: UserSubject
    payload: AuthFields & { dn: string; changed: { field: string; from: string | null; to: string | null }[] }
  }
  'export-requested': {
    subject: ExportSubject
    payload: { exportId: number; recordingIds: number[]; reason: string; recipient: string; tokenId: number; role: string } & PersonFields
  }
  'export-approved': { subject: ExportSubject; payload: ExportDecision }
  'export-rejected': { subject: ExportSubject; payload: ExportDecision }
}
