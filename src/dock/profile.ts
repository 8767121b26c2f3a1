import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import { IANAZone } from 'luxon'
import { ConfigError, errorMessage } from '../common/errors.js'

/**
 * A docking profile (docking/<id>.json) says how to read one camera model:
 * where its media live, how its file names encode device, officer, time and
 * the "important" mark, and which time zone its clock runs in.
 */
export interface DockingProfile {
  id: string
  name: string
  vendor?: string
  model?: string
  /** Globs (picomatch, case-insensitive) of media files relative to the volume root. */
  media: string[]
  /** Files whose presence at the volume root identifies this model. */
  volumeMarkers?: string[]
  filename?: {
    /** JS regular expression with named groups: deviceId, officerId, date (YYYYMMDD), time (HHMMSS), important. */
    pattern: string
  }
  /** IANA zone of the camera clock, e.g. Asia/Shanghai. */
  timezone: string
  /** Extensions (with dot, lower case) kept as sidecars of the clip with the same base name. */
  sidecars?: string[]
  /** Nothing is ever written to the camera while true (default). */
  readOnly?: boolean
  wipeAfterIngest?: boolean
}

const profileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'media', 'timezone'],
  properties: {
    $comment: { type: 'string' },
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
    name: { type: 'string', minLength: 1 },
    vendor: { type: 'string' },
    model: { type: 'string' },
    media: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    volumeMarkers: { type: 'array', items: { type: 'string', minLength: 1 } },
    filename: {
      type: 'object',
      additionalProperties: false,
      required: ['pattern'],
      properties: { pattern: { type: 'string', minLength: 1 } },
    },
    timezone: { type: 'string', minLength: 1 },
    sidecars: { type: 'array', items: { type: 'string', pattern: '^\\.[a-z0-9]+$' } },
    readOnly: { type: 'boolean' },
    wipeAfterIngest: { type: 'boolean' },
  },
} as const

const ajv = new Ajv({ allErrors: true, strict: true })
const validate = ajv.compile(profileSchema)

function where(e: ErrorObject): string {
  const p = e.instancePath.replace(/^\//, '').replace(/\//g, '.')
  if (e.keyword === 'additionalProperties') return `${p ? p + '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}: is not a known profile key`
  if (e.keyword === 'required') return `${p ? p + '.' : ''}${(e.params as { missingProperty: string }).missingProperty}: is missing`
  return `${p || '(root)'}: ${e.message ?? 'is invalid'}`
}

/** Validates one parsed profile; `file` is only used in messages. */
export function checkProfile(value: unknown, file: string): DockingProfile {
  if (!validate(value)) {
    throw new ConfigError(`docking profile ${file} is invalid:\n${(validate.errors ?? []).map((e) => '  ' + where(e)).join('\n')}`)
  }
  const p = value as DockingProfile
  if (!IANAZone.isValidZone(p.timezone)) throw new ConfigError(`docking profile ${file}: timezone: "${p.timezone}" is not an IANA time zone`)
  if (p.filename) {
    try {
      new RegExp(p.filename.pattern, 'u')
    } catch (err) {
      throw new ConfigError(`docking profile ${file}: filename.pattern: not a valid regular expression: ${errorMessage(err)}`)
    }
  }
  if (p.wipeAfterIngest && p.readOnly !== false) {
    throw new ConfigError(`docking profile ${file}: wipeAfterIngest needs readOnly: false (a read-only camera is never written to)`)
  }
  return p
}

/** Loads every docking/*.json; ids must be unique. */
export function loadProfiles(dir: string): Map<string, DockingProfile> {
  let names: string[]
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort()
  } catch (err) {
    throw new ConfigError(`cannot read docking profiles folder ${dir}: ${errorMessage(err)} (config key docking.profilesDir)`)
  }
  const out = new Map<string, DockingProfile>()
  for (const n of names) {
    const file = join(dir, n)
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'))
    } catch (err) {
      throw new ConfigError(`docking profile ${file} is not valid JSON: ${errorMessage(err)}`)
    }
    const p = checkProfile(parsed, file)
    if (out.has(p.id)) throw new ConfigError(`docking profile ${file}: id "${p.id}" is already used by another profile`)
    out.set(p.id, p)
  }
  if (out.size === 0) throw new ConfigError(`no docking profiles (*.json) in ${dir} (config key docking.profilesDir)`)
  return out
}

export function getProfile(profiles: Map<string, DockingProfile>, id: string): DockingProfile {
  const p = profiles.get(id)
  if (!p) throw new ConfigError(`unknown docking profile "${id}"; known: ${[...profiles.keys()].join(', ')}`)
  return p
}
