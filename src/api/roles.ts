import { ROLES, type Role } from '../catalog/tokens.js'

export { ROLES, type Role }

/**
 * Who may do what through the API: the one table of rights. Officers see
 * only their own recordings (enforced where recordings are read); auditors
 * read the ledger, the sign-in audit and verify but never footage; admins
 * manage accounts and tokens and read the sign-in audit;
 * a kiosk (the dock screen by the dock, signed in by no one) reads the
 * station's status and nothing else: not even metrics or the API document;
 * it carries an officer's choices signed with their PIN (dock:sign).
 */
export const RIGHTS = [
  'station:read',
  'recordings:read',
  'media:read',
  'recordings:categorize',
  'cases:read',
  'cases:write',
  'exports:read',
  'exports:request',
  'exports:approve',
  'holds:write',
  'flags:write',
  'flags:approve',
  'reviews:write',
  'reviews:read',
  'ledger:read',
  'verify:run',
  'stats:read',
  'retention:read',
  'tokens:admin',
  'users:admin',
  'audit:read',
  'session:own',
  'metrics:read',
  'docs:read',
  'registry:read',
  'registry:write',
  'findings:read',
  'findings:resolve',
  'dock:sign',
] as const
export type Right = (typeof RIGHTS)[number]

/** What every token may read about the service itself, and its own session (never the station-local status credential). */
const service: Right[] = ['metrics:read', 'docs:read', 'session:own']

const clerk: Right[] = [
  ...service,
  'station:read',
  'recordings:read',
  'media:read',
  'recordings:categorize',
  'cases:read',
  'cases:write',
  'flags:write',
  'exports:read',
  'exports:request',
  'stats:read',
  'retention:read',
  'registry:read',
  'findings:read',
  'findings:resolve',
]

/**
 * Who a request acts as: a token's role, or `station-local`, the daemon's
 * own status credential (written to data/run/status.secret for `bodyvault
 * status` on the station PC; it can read GET /v1/station and nothing else:
 * not the metrics, not the OpenAPI document).
 */
export type PrincipalRole = Role | 'station-local'

export const GRANTS: Record<PrincipalRole, ReadonlySet<Right>> = {
  officer: new Set<Right>([...service, 'station:read', 'recordings:read', 'media:read']),
  clerk: new Set(clerk),
  supervisor: new Set<Right>([...clerk, 'exports:approve', 'holds:write', 'flags:approve', 'reviews:write', 'reviews:read']),
  auditor: new Set<Right>([
    ...service,
    'station:read',
    'recordings:read',
    'cases:read',
    'exports:read',
    'ledger:read',
    'verify:run',
    'stats:read',
    'retention:read',
    'registry:read',
    'findings:read',
    'audit:read',
    // Random review: the samples, their seeds and outcomes (drawn and decided by supervisors).
    'reviews:read',
  ]),
  // Admins keep the roster (units, officers, devices, who carries which camera) and the accounts.
  admin: new Set<Right>([...service, 'station:read', 'tokens:admin', 'users:admin', 'audit:read', 'registry:read', 'registry:write']),
  // dock:sign carries an officer's PIN-signed choice from the dock screen: nothing without the officer's police number and PIN.
  kiosk: new Set<Right>(['station:read', 'session:own', 'dock:sign']),
  'station-local': new Set<Right>(['station:read']),
}

export function can(role: PrincipalRole, right: Right): boolean {
  return GRANTS[role].has(right)
}

/**
 * The rights whose acts need a fresh second factor (./step-up.ts): approving
 * an export, placing or lifting a hold, removing a permanent-retention flag.
 * Only a person in a session can give one, so no service account holds a
 * role with any of them (checkRoles in ./accounts.ts).
 */
export const STEP_UP_RIGHTS: readonly Right[] = ['exports:approve', 'holds:write', 'flags:approve']

/** Whether a role holds a right that needs a fresh second factor (a person's role only). */
export function needsPerson(role: PrincipalRole): boolean {
  return STEP_UP_RIGHTS.some((r) => can(role, r))
}

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v)
}
