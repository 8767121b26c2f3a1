import { BodyvaultError } from '../common/errors.js'
import type { IdentityMapping } from './profile.js'

/**
 * Who a docked camera is and who wore it, as its vendor unlock tool reports
 * it (a 7-character device serial, a 6-digit police number, the officer's
 * name, unit code and unit name on most Chinese recorders).
 */
export interface DockIdentity {
  deviceId: string | null
  officerId: string | null
  officerName: string | null
  unitCode: string | null
  unitName: string | null
  /** Where the unlock tool says the volume is, if it says. */
  mountPoint: string | null
}

export const EMPTY_IDENTITY: DockIdentity = { deviceId: null, officerId: null, officerName: null, unitCode: null, unitName: null, mountPoint: null }

/** Ids end up in paths, ledger subjects and SQL: keep them to a safe alphabet. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u

export class IdentityError extends BodyvaultError {
  constructor(message: string) {
    super('DOCK_IDENTITY', message, 1)
    this.name = 'IdentityError'
  }
}

function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

function text(record: unknown, key: string | undefined, field: string, id: boolean): string | null {
  if (!key) return null
  const v = at(record, key)
  if (v === undefined || v === null || v === '') return null
  if (typeof v !== 'string') {
    throw new IdentityError(
      `unlock identity: "${key}" (${field}) must be a string, got ${JSON.stringify(v)}: numbers lose leading zeros, so the vendor tool must print it quoted`,
    )
  }
  const s = v.trim()
  if (id && !ID_RE.test(s))
    throw new IdentityError(`unlock identity: "${key}" (${field}) is ${JSON.stringify(v)}: ids must be 1-64 letters, digits, ".", "_" or "-"`)
  if (!id && (CONTROL_RE.test(s) || s.length > 200))
    throw new IdentityError(`unlock identity: "${key}" (${field}) has control characters or is longer than 200 characters`)
  return s === '' ? null : s
}

/** Maps the unlock tool's identity record into bodyvault's fields through the profile's `identity` keys. */
export function mapIdentity(record: unknown, mapping: IdentityMapping | undefined): DockIdentity {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new IdentityError('unlock identity must be a JSON object')
  const m = mapping ?? {}
  return {
    deviceId: text(record, m.deviceId, 'deviceId', true),
    officerId: text(record, m.officerId, 'officerId', true),
    officerName: text(record, m.officerName, 'officerName', false),
    unitCode: text(record, m.unitCode, 'unitCode', true),
    unitName: text(record, m.unitName, 'unitName', false),
    mountPoint: m.mountPoint ? pathText(at(record, m.mountPoint), m.mountPoint) : null,
  }
}

function pathText(v: unknown, key: string): string | null {
  if (v === undefined || v === null || v === '') return null
  if (typeof v !== 'string' || !v.startsWith('/') || CONTROL_RE.test(v))
    throw new IdentityError(`unlock identity: "${key}" (mountPoint) must be an absolute path, got ${JSON.stringify(v)}`)
  return v
}

/**
 * The identity JSON an unlock tool printed: the whole of stdout when it is
 * one JSON object, else the last line that is one (vendor tools chatter).
 */
export function parseUnlockOutput(stdout: string): unknown {
  const whole = stdout.trim()
  if (whole.startsWith('{')) {
    try {
      return JSON.parse(whole) as unknown
    } catch {
      // fall through to line by line
    }
  }
  const lines = whole
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(lines[i]!) as unknown
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v
    } catch {
      // not this line
    }
  }
  throw new IdentityError(
    `the unlock command printed no JSON object on stdout (got ${JSON.stringify(whole.slice(0, 200))}): it must print the camera identity as JSON`,
  )
}
