import { BodyvaultError } from '../common/errors.js'
import type { Role } from '../catalog/tokens.js'

/**
 * The `auth` section of the configuration (optional; these are the
 * defaults): the second factor (TOTP, RFC 6238) and directory sign-in
 * (auth.ldap, off unless configured).
 */
export interface SecondFactorSettings {
  /** Roles whose people must enrol a second factor (default: supervisors and admins). */
  requiredFor: Role[]
  /** How long a second factor given (at sign-in or a step-up) covers the guarded acts: approvals, holds, flag removals. */
  stepUpMinutes: number
  /** Codes of this many 30-second steps before and after now are accepted (clock drift of the phone). */
  window: number
  /** The name the authenticator app shows (default: the station's name). */
  issuer: string | null
  /**
   * false: no act asks for a fresh second factor (sessions step up for
   * nothing, and a person's bearer token may approve, hold and remove
   * flags). Default true: those acts need a factor given within
   * stepUpMinutes, so a bearer token cannot do them (STEP_UP_SESSION_REQUIRED).
   */
  stepUp: boolean
  /**
   * A station rolling second factors out: a person whose role requires one
   * and who has none may still act for this many days after their account
   * was created (each such sign-in is a `second-factor-grace` ledger event).
   * Default 0: until enrolled, such a session may only enrol, change its
   * password and sign out (SECOND_FACTOR_ENROLMENT_REQUIRED for the rest).
   */
  graceDays: number
  /** Before graceDays: true meant what is now the default. Still read: true keeps graceDays at 0. */
  strict: boolean
}

export interface LdapSettings {
  /** ldaps://host:636, or ldap://host:389 with startTls: true; a plain ldap:// without StartTLS is refused (passwords would cross the network in clear). */
  url: string
  startTls: boolean
  /** A PEM file of the CA that signed the directory's certificate (else the system's CAs). */
  caFile: string | null
  /** The DN to bind as, `{user}` standing for the user name (AD: "{user}@example.local"; OpenLDAP: "uid={user},ou=people,dc=example,dc=org"). */
  bindDn: string
  /** Where the person's entry is found after binding as them, `{user}` for the user name. */
  userBase: string
  userFilter: string
  /** Where groups are found, `{dn}` for the person's DN (groupOfNames); `memberOf` on the entry is read too. */
  groupBase: string | null
  groupFilter: string
  /** Group DN -> the station roles its members get (compared case-insensitively); a person in no listed group cannot sign in. */
  groupRoles: Record<string, Role[]>
  /** Which attributes hold the name, the police number and the unit. */
  attributes: { displayName: string; policeNo: string; unit: string | null }
  /** The directory says an account is disabled: this attribute holds one of these values (AD: userAccountControl with bit 2 set, see `adDisabledBit`). */
  disabled: { attribute: string; values: string[] } | null
  /** AD's userAccountControl ACCOUNTDISABLE bit (2) marks a disabled account. */
  adDisabledBit: boolean
  timeoutSeconds: number
}

export interface AuthSettings {
  secondFactor: SecondFactorSettings
  ldap: LdapSettings | null
}

export const SECOND_FACTOR_DEFAULTS: SecondFactorSettings = {
  requiredFor: ['supervisor', 'admin'],
  stepUpMinutes: 5,
  window: 1,
  issuer: null,
  stepUp: true,
  graceDays: 0,
  strict: false,
}

const LDAP_DEFAULTS: Omit<LdapSettings, 'url' | 'bindDn' | 'userBase'> = {
  startTls: false,
  caFile: null,
  userFilter: '(uid={user})',
  groupBase: null,
  groupFilter: '(&(objectClass=groupOfNames)(member={dn}))',
  groupRoles: {},
  attributes: { displayName: 'cn', policeNo: 'employeeNumber', unit: 'departmentNumber' },
  disabled: null,
  adDisabledBit: false,
  timeoutSeconds: 5,
}

const ROLE = { type: 'string', enum: ['officer', 'clerk', 'supervisor', 'auditor', 'admin'] } as const
const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const
const str = { type: 'string', minLength: 1, maxLength: 1000 } as const
const nullable = (s: object) => ({ anyOf: [s, { type: 'null' }] }) as const

export const authConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    secondFactor: {
      type: 'object',
      additionalProperties: false,
      properties: {
        requiredFor: { type: 'array', items: ROLE, uniqueItems: true },
        stepUpMinutes: int(1, 24 * 60),
        window: int(0, 10),
        issuer: nullable(str),
        stepUp: { type: 'boolean' },
        graceDays: int(0, 365),
        strict: { type: 'boolean' },
      },
    },
    ldap: nullable({
      type: 'object',
      additionalProperties: false,
      required: ['url', 'bindDn', 'userBase'],
      properties: {
        url: { type: 'string', pattern: '^ldaps?://' },
        startTls: { type: 'boolean' },
        caFile: nullable(str),
        bindDn: str,
        userBase: str,
        userFilter: str,
        groupBase: nullable(str),
        groupFilter: str,
        groupRoles: { type: 'object', additionalProperties: { type: 'array', items: ROLE, minItems: 1 } },
        attributes: {
          type: 'object',
          additionalProperties: false,
          properties: { displayName: str, policeNo: str, unit: nullable(str) },
        },
        disabled: nullable({
          type: 'object',
          additionalProperties: false,
          required: ['attribute', 'values'],
          properties: { attribute: str, values: { type: 'array', items: str } },
        }),
        adDisabledBit: { type: 'boolean' },
        timeoutSeconds: int(1, 120),
      },
    }),
  },
} as const

export interface AuthConfigFile {
  secondFactor?: Partial<SecondFactorSettings>
  ldap?: (Partial<LdapSettings> & Pick<LdapSettings, 'url' | 'bindDn' | 'userBase'>) | null
}

/** The settings with the defaults filled in; a plain ldap:// URL without StartTLS is a configuration error. */
export function authSettings(file: AuthConfigFile | undefined): AuthSettings {
  const f = file ?? {}
  const l = f.ldap
  let ldap: LdapSettings | null = null
  if (l) {
    ldap = { ...LDAP_DEFAULTS, ...l, attributes: { ...LDAP_DEFAULTS.attributes, ...l.attributes } }
    if (ldap.url.startsWith('ldap://') && !ldap.startTls)
      throw new BodyvaultError(
        'CONFIG_INVALID',
        'auth.ldap.url is plain ldap://: use ldaps:// or set auth.ldap.startTls to true (passwords must not cross the network in clear)',
      )
  }
  return { secondFactor: { ...SECOND_FACTOR_DEFAULTS, ...f.secondFactor }, ldap }
}
