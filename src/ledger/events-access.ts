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
  'user-created': {
    subject: UserSubject
    payload: AuthFields & { kind: 'person' | 'service'; displayName: string; policeNo: string | null; unit: string | null; roles: string[] }
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
  'export-requested': {
    subject: ExportSubject
    payload: { exportId: number; recordingIds: number[]; reason: string; recipient: string; tokenId: number; role: string } & PersonFields
  }
  'export-approved': { subject: ExportSubject; payload: ExportDecision }
  'export-rejected': { subject: ExportSubject; payload: ExportDecision }
}
