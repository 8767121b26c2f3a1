import { setSessionFactorAt } from '../catalog/auth-sessions.js'
import type { Db } from '../catalog/db.js'
import {
  activateSecondFactor,
  deleteSecondFactor,
  putPendingSecondFactor,
  replaceRecoveryCodes,
  secondFactorOf,
  takeStep,
  unusedRecoveryCodes,
  useRecoveryCode,
} from '../catalog/second-factors.js'
import { getUser, type UserRow } from '../catalog/users.js'
import { BodyvaultError } from '../common/errors.js'
import { type AuthFields, actors, subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import type { Acting } from './accounts.js'
import type { SecondFactorSettings } from './auth-settings.js'
import { openSecret, sealSecret, secondFactorKey } from './second-factor-key.js'
import type { Clock, OpenSession } from './sessions.js'
import { isRecoveryCode, matchTotp, newRecoveryCodes, newTotpSecret, recoveryHash, totpUri } from './totp.js'

/** How an answer was taken: a code from the authenticator, or a recovery code (used up). */
export type FactorVia = 'totp' | 'recovery-code'

/** What the enrolment page shows: the secret as text and as a QR code (SVG, drawn here: no network), and the URI inside it. */
export interface Enrolment {
  secret: string
  uri: string
  qrSvg: string
}

export interface FactorStatus {
  enrolled: boolean
  pending: boolean
  /** The person's role asks for one (auth.secondFactor.requiredFor). */
  required: boolean
  recoveryCodesLeft: number
  /** Required, not enrolled, and acting under auth.secondFactor.graceDays until then; null otherwise. */
  graceUntil: string | null
}

/**
 * A person's second factor (TOTP, ./totp.ts): enrolment with a QR code and
 * single-use recovery codes, the check at sign-in and at a step-up, the
 * reset. Secrets are sealed with the station's second-factor key
 * (./second-factor-key.ts). The clock is a dependency (`now`): tests move
 * time through it, nothing else switches. Enrolment, a recovery code used,
 * a step-up and a reset are ledger events, each in the transaction of its
 * catalog change.
 */
export class SecondFactors {
  constructor(
    private readonly db: Db,
    readonly settings: SecondFactorSettings,
    private readonly keyPath: string,
    private readonly issuer: string,
    readonly now: Clock = () => new Date(),
  ) {}

  /** Whether the person's role asks for a second factor. */
  roleRequires(user: UserRow): boolean {
    return user.kind === 'person' && user.roles.some((r) => this.settings.requiredFor.includes(r))
  }

  /** Whether the person has an active second factor (then every sign-in asks for it). */
  enrolled(user: UserRow): boolean {
    return secondFactorOf(this.db, user.id)?.state === 'active'
  }

  /**
   * Whether the person may act beyond enrolling: `ok` (enrolled, or their
   * role needs no factor), `grace` until `until` (auth.secondFactor.graceDays
   * after the account was made), else `enrol` (enrolmentAnswer).
   */
  enrolment(user: UserRow): { answer: EnrolmentAnswer; until: string | null } {
    const s = this.settings
    const o = { roleRequires: this.roleRequires(user), enrolled: this.enrolled(user), createdAt: user.createdAt, nowMs: this.now().getTime() }
    const answer = enrolmentAnswer({ ...o, graceDays: s.strict ? 0 : s.graceDays })
    return { answer, until: answer === 'grace' ? new Date(Date.parse(user.createdAt) + s.graceDays * DAY_MS).toISOString() : null }
  }

  /** The sign-in seam (./sign-in.ts): a code is asked of whoever has enrolled one. */
  required(user: UserRow): boolean {
    return this.enrolled(user)
  }

  status(user: UserRow): FactorStatus {
    const f = secondFactorOf(this.db, user.id)
    return {
      enrolled: f?.state === 'active',
      pending: f?.state === 'pending',
      required: this.roleRequires(user),
      recoveryCodesLeft: f?.state === 'active' ? unusedRecoveryCodes(this.db, user.id) : 0,
      graceUntil: this.enrolment(user).until,
    }
  }

  private secretOf(user: UserRow, sealed: string): string {
    return openSecret(secondFactorKey(this.keyPath, false), sealed, `user:${user.id}`)
  }

  /**
   * Checks an answer: a six-digit code within the window whose step is after
   * the last one taken, or one of the person's unused recovery codes (used up
   * here, `recovery-code-used` in the ledger). Null when it is neither.
   */
  async verify(user: UserRow, answer: string | undefined, component: AuthFields['component'] = 'api'): Promise<FactorVia | null> {
    if (answer === undefined || answer.trim() === '') return null
    const f = secondFactorOf(this.db, user.id)
    if (f?.state !== 'active') return null
    if (isRecoveryCode(answer)) {
      const at = this.now()
      return this.db
        .transaction((): FactorVia | null => {
          if (!useRecoveryCode(this.db, user.id, recoveryHash(answer), at.toISOString())) return null
          appendEvent(this.db, {
            type: 'recovery-code-used',
            actor: actors.user(user.username),
            subject: subjects.user(user.username),
            payload: { user: user.username, component, outcome: 'success', remaining: unusedRecoveryCodes(this.db, user.id) },
            at,
          })
          return 'recovery-code'
        })
        .immediate()
    }
    const step = matchTotp(this.secretOf(user, f.secret), answer, this.now().getTime(), this.settings.window)
    // takeStep refuses a step taken already: a code seen over a shoulder or replayed from a log is worth nothing afterwards.
    return step !== null && takeStep(this.db, user.id, step) ? 'totp' : null
  }

  /** Starts (or starts again) an enrolment: a new secret, pending until a first code confirms it. */
  async begin(user: UserRow): Promise<Enrolment> {
    if (user.kind !== 'person') throw new BodyvaultError('USER_INVALID', 'a service account has no second factor: it holds tokens')
    if (this.enrolled(user)) throw new BodyvaultError('SECOND_FACTOR_EXISTS')
    const secret = newTotpSecret()
    const sealed = sealSecret(secondFactorKey(this.keyPath, true), secret, `user:${user.id}`)
    putPendingSecondFactor(this.db, user.id, sealed, this.now().toISOString())
    const uri = totpUri(secret, this.issuer, user.username)
    // Loaded here, not at start: every CLI command opens a station, few enrol.
    const { default: QRCode } = await import('qrcode')
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
    return { secret, uri, qrSvg }
  }

  /** Confirms an enrolment with a first code: the factor is active, its recovery codes are returned (once: only their hashes are kept). */
  confirm(user: UserRow, code: string, by: Acting): { recoveryCodes: string[] } {
    const f = secondFactorOf(this.db, user.id)
    if (f?.state !== 'pending') throw new BodyvaultError('SECOND_FACTOR_NOT_ENROLLED', 'no enrolment is under way: start one first (it shows the QR code)')
    const now = this.now()
    const step = matchTotp(this.secretOf(user, f.secret), code, now.getTime(), this.settings.window)
    if (step === null) throw new BodyvaultError('SECOND_FACTOR_INVALID', 'that code does not match: check the phone’s clock, then give the code it shows now')
    const codes = newRecoveryCodes()
    this.db
      .transaction(() => {
        activateSecondFactor(this.db, user.id, step, now.toISOString())
        replaceRecoveryCodes(this.db, user.id, codes.map(recoveryHash))
        appendEvent(this.db, {
          type: 'second-factor-enrolled',
          actor: by.actor,
          subject: subjects.user(user.username),
          payload: { user: user.username, component: by.component, outcome: 'success', method: 'totp', recoveryCodes: codes.length },
          at: now,
        })
      })
      .immediate()
    return { recoveryCodes: codes }
  }

  /** Removes a person's second factor (an admin's reset when the phone is lost, or a pending one abandoned): they enrol again. */
  reset(user: UserRow, by: Acting): void {
    this.db
      .transaction(() => {
        const f = secondFactorOf(this.db, user.id)
        if (!f) throw new BodyvaultError('SECOND_FACTOR_NOT_ENROLLED')
        const dropped = unusedRecoveryCodes(this.db, user.id)
        deleteSecondFactor(this.db, user.id)
        if (f.state !== 'active') return
        appendEvent(this.db, {
          type: 'second-factor-reset',
          actor: by.actor,
          subject: subjects.user(user.username),
          payload: { user: user.username, component: by.component, outcome: 'success', method: 'totp', recoveryCodesDropped: dropped },
        })
      })
      .immediate()
  }

  /** A step-up inside a session: the answer checked, the session's factor time renewed, `stepped-up` in the ledger. */
  async stepUp(open: OpenSession, answer: string, component: AuthFields['component']): Promise<FactorVia | null> {
    const user = getUser(this.db, open.user.id) ?? open.user
    const via = await this.verify(user, answer, component)
    if (!via) return null
    const at = this.now()
    this.db
      .transaction(() => {
        setSessionFactorAt(this.db, open.session.id, at.toISOString())
        appendEvent(this.db, {
          type: 'stepped-up',
          actor: actors.user(user.username),
          subject: subjects.user(user.username),
          payload: { user: user.username, component, outcome: 'success', sessionId: open.session.id, via },
          at,
        })
      })
      .immediate()
    return via
  }
}

const DAY_MS = 86_400_000

export type EnrolmentAnswer = 'ok' | 'grace' | 'enrol'

/**
 * Whether a person may act beyond enrolling (signing out, changing their
 * password): the rule as one pure function (test/second-factor.test.ts has
 * its table). Enrolled, or a role that needs no factor: `ok`. Otherwise
 * `enrol`, unless the account is younger than graceDays (`grace`: a station
 * rolling factors out gives its people days to do it).
 */
export function enrolmentAnswer(o: { roleRequires: boolean; enrolled: boolean; createdAt: string; graceDays: number; nowMs: number }): EnrolmentAnswer {
  if (!o.roleRequires || o.enrolled) return 'ok'
  return o.graceDays > 0 && o.nowMs - Date.parse(o.createdAt) < o.graceDays * DAY_MS ? 'grace' : 'enrol'
}

export type StepUpAnswer = 'ok' | 'step-up' | 'enrol' | 'session'

/**
 * Whether an act guarded by a fresh second factor (approving an export,
 * placing or lifting a hold, removing a permanent-retention flag) may go on:
 * the rule as one pure function (test/second-factor.test.ts has its table).
 * A bearer token cannot give a code: `session` (do it signed in), except a
 * person's token where the station turned step-up off (auth.secondFactor.
 * stepUp false); a service account's never (none holds these rights; an old
 * one that does is refused all the same). In a session: a person who must
 * enrol first is sent to (`enrol`); with step-up off, `ok`; a person with a
 * second factor gives it within the step-up window (`step-up` otherwise);
 * one without, whose role needs none or who is in the grace days, `ok`.
 */
export function stepUpAnswer(o: {
  via: 'token' | 'session'
  person: boolean
  stepUp: boolean
  enrolment: EnrolmentAnswer
  enrolled: boolean
  factorAt: string | null
  nowMs: number
  windowMinutes: number
}): StepUpAnswer {
  if (o.via === 'token') return o.person && !o.stepUp ? 'ok' : 'session'
  if (o.enrolment === 'enrol') return 'enrol'
  if (!o.stepUp || !o.enrolled) return 'ok'
  if (o.factorAt === null) return 'step-up'
  const age = o.nowMs - Date.parse(o.factorAt)
  return age >= 0 && age <= o.windowMinutes * 60_000 ? 'ok' : 'step-up'
}
