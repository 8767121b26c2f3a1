import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ErrorObject, Options } from 'ajv'
import { IANAZone } from 'luxon'
import { ConfigError, errorMessage } from '../common/errors.js'
import { builtValidator, schemaDigest, type Validator } from '../common/validator.js'

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
  /**
   * Globs (picomatch, case-insensitive) of where the model keeps its media,
   * relative to the volume root. They give the order files are copied in
   * (these first), never the set: every media file of the volume is ingested.
   */
  media: string[]
  /** Ingest regular files that are neither media nor sidecars too (kept as kind `sidecar`; default false: they are listed as `unrecognised`). */
  ingestUnrecognised?: boolean
  /** Files whose presence at the volume root identifies this model. */
  volumeMarkers?: string[]
  filename?: {
    /**
     * JS regular expression with named groups: deviceId, officerId, date
     * (YYYYMMDD), time (HHMMSS), important, counter (the camera's file
     * number: gaps and repeats across dockings are reconciliation findings).
     */
    pattern: string
  }
  /** IANA zone of the camera clock, e.g. Asia/Shanghai. */
  timezone: string
  /** Extensions (with dot, lower case) kept as sidecars of the clip with the same base name. */
  sidecars?: string[]
  /**
   * The camera writes its local wall time (in `timezone`) into MP4
   * creation_time, which the spec says is UTC (default false: taken as UTC).
   * The media pipeline records which rule it applied.
   */
  creationTimeIsLocal?: boolean
  /** Nothing is ever written to the camera while true (default). */
  readOnly?: boolean
  /** Delete each file from the camera once every file is verified in the vault (needs readOnly: false; default false). */
  wipeAfterIngest?: boolean
  /** USB ids (4 hex digits each) that identify this model when it is plugged in. */
  usb?: UsbId[]
  /** A vendor tool that exposes the camera's storage (many recorders need one before they show mass storage). */
  unlock?: UnlockHook
  /** Where the unlock tool's identity JSON keeps each field (dotted key paths into the printed object). */
  identity?: IdentityMapping
}

export interface UsbId {
  vendorId: string
  productId: string
}

/**
 * The unlock hook: argv of a command run when a camera of this model is
 * plugged in. Placeholders {vendorId} {productId} {serial} {port} {bus}
 * {address} {mountRoot} {profile} are replaced in each argument; the same
 * values are in its environment as BODYVAULT_USB_VENDOR_ID, _PRODUCT_ID,
 * _SERIAL, _PORT, _BUS, _ADDRESS, BODYVAULT_MOUNT_ROOT and BODYVAULT_PROFILE.
 * It must make the camera's volume appear (mounted or as a folder under a
 * mount root) and print the camera's identity as a JSON object on stdout.
 * A relative command path with a slash is resolved against the bodyvault
 * package folder; a bare name is looked up on PATH.
 */
export interface UnlockHook {
  command: string[]
  /** How long the command, and then its volume, may take (default 60000). */
  timeoutMs?: number
}

/** Keys (dotted paths) of the unlock tool's identity JSON for each identity field. */
export interface IdentityMapping {
  deviceId?: string
  officerId?: string
  officerName?: string
  unitCode?: string
  unitName?: string
  /** Where the tool says it mounted the volume (optional: else the next volume of this model is taken). */
  mountPoint?: string
}

/** The named groups a filename pattern may use. */
export const FILENAME_GROUPS = ['deviceId', 'officerId', 'date', 'time', 'important', 'counter'] as const

/** A profile never writes to its camera unless it says readOnly: false. */
export function isReadOnly(p: Pick<DockingProfile, 'readOnly'>): boolean {
  return p.readOnly !== false
}

/** The camera is wiped after a complete ingest only when the profile asks and is not read-only. */
export function wipesAfterIngest(p: Pick<DockingProfile, 'readOnly' | 'wipeAfterIngest'>): boolean {
  return p.wipeAfterIngest === true && !isReadOnly(p)
}

export const profileSchema = {
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
    creationTimeIsLocal: { type: 'boolean' },
    ingestUnrecognised: { type: 'boolean' },
    readOnly: { type: 'boolean' },
    wipeAfterIngest: { type: 'boolean' },
    usb: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['vendorId', 'productId'],
        properties: { vendorId: { type: 'string', pattern: '^[0-9A-Fa-f]{4}$' }, productId: { type: 'string', pattern: '^[0-9A-Fa-f]{4}$' } },
      },
    },
    unlock: {
      type: 'object',
      additionalProperties: false,
      required: ['command'],
      properties: {
        command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 600000 },
      },
    },
    identity: {
      type: 'object',
      additionalProperties: false,
      properties: {
        deviceId: { type: 'string', minLength: 1 },
        officerId: { type: 'string', minLength: 1 },
        officerName: { type: 'string', minLength: 1 },
        unitCode: { type: 'string', minLength: 1 },
        unitName: { type: 'string', minLength: 1 },
        mountPoint: { type: 'string', minLength: 1 },
      },
    },
  },
} as const

/** Ajv's options for the profile schema: the build's precompiled validator (scripts/build-validators.js) uses the same. */
export const PROFILE_AJV_OPTIONS: Options = { allErrors: true, strict: true }

/** Names the schema the build's validator was generated from. */
export function profileSchemaDigest(): string {
  return schemaDigest(profileSchema)
}

/** The precompiled validator, written next to this module by the build (dist/src/camera/). */
export const PROFILE_VALIDATOR_FILE = join(dirname(fileURLToPath(import.meta.url)), 'profile-validator.cjs')

let validator: Validator | undefined

function where(e: ErrorObject): string {
  const p = e.instancePath.replace(/^\//, '').replace(/\//g, '.')
  if (e.keyword === 'additionalProperties')
    return `${p ? p + '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}: is not a known profile key`
  if (e.keyword === 'required') return `${p ? p + '.' : ''}${(e.params as { missingProperty: string }).missingProperty}: is missing`
  return `${p || '(root)'}: ${e.message ?? 'is invalid'}`
}

/** Validates one parsed profile; `file` is only used in messages. */
export function checkProfile(value: unknown, file: string): DockingProfile {
  validator ??= builtValidator(PROFILE_VALIDATOR_FILE, profileSchema, PROFILE_AJV_OPTIONS)
  if (!validator(value)) {
    throw new ConfigError(`docking profile ${file} is invalid:\n${(validator.errors ?? []).map((e) => '  ' + where(e)).join('\n')}`)
  }
  const p = value as DockingProfile
  if (!IANAZone.isValidZone(p.timezone)) throw new ConfigError(`docking profile ${file}: timezone: "${p.timezone}" is not an IANA time zone`)
  if (p.filename) {
    let re: RegExp
    try {
      re = new RegExp(p.filename.pattern, 'u')
    } catch (err) {
      throw new ConfigError(`docking profile ${file}: filename.pattern: not a valid regular expression: ${errorMessage(err)}`)
    }
    // Named groups the pattern defines, found by matching an alternation that always succeeds.
    const names = Object.keys(new RegExp(`${re.source}|`, 'u').exec('')?.groups ?? {})
    const unknown = names.filter((n) => !(FILENAME_GROUPS as readonly string[]).includes(n))
    if (unknown.length)
      throw new ConfigError(
        `docking profile ${file}: filename.pattern: unknown named group ${unknown.map((n) => `"${n}"`).join(', ')} (allowed: ${FILENAME_GROUPS.join(', ')})`,
      )
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
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort()
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
  const claimed = new Map<string, string>()
  for (const p of out.values()) {
    for (const u of p.usb ?? []) {
      const key = `${u.vendorId}:${u.productId}`.toLowerCase()
      const other = claimed.get(key)
      if (other)
        throw new ConfigError(`docking profiles "${other}" and "${p.id}" both claim USB id ${key}: a USB id must pick one profile (edit one of them in ${dir})`)
      claimed.set(key, p.id)
    }
  }
  return out
}

export function getProfile(profiles: Map<string, DockingProfile>, id: string): DockingProfile {
  const p = profiles.get(id)
  if (!p) throw new ConfigError(`unknown docking profile "${id}"; known: ${[...profiles.keys()].join(', ')}`)
  return p
}
