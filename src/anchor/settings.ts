import { ConfigError } from '../common/errors.js'
import { parseWitnessVkey } from '../ledger/cosignature.js'

/**
 * JSON schema of the `witnesses` config section (imported by src/config/schema.ts): the other
 * stations this one witnesses and asks to witness it. Each is named by its station key's vkey
 * (`bodyvault key show` on that station); `url` is where its API listens (its witness routes are
 * under /v1/witness), or null for a station this one only witnesses.
 */
export const witnessesConfigSchema = {
  type: 'array',
  maxItems: 64,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['vkey'],
    properties: {
      vkey: { type: 'string', minLength: 40, maxLength: 400 },
      url: { type: ['string', 'null'], pattern: '^https?://[^\\s]+$' },
    },
  },
} as const

export type WitnessesConfig = { vkey: string; url?: string | null }[]

/** The `ledger` keys of the anchors (beside checkpointEvery and checkpointMinutes). */
export const anchorLedgerSchema = {
  anchorSeconds: { type: 'number', minimum: 0.05, maximum: 86400 },
  witnessTimeoutSeconds: { type: 'number', minimum: 0.1, maximum: 600 },
  bucketLockDays: { type: 'integer', minimum: 1, maximum: 36500 },
} as const

export interface AnchorLedgerSettings {
  /** How often the anchor job takes new checkpoints to the bucket and the witnesses (and retries). */
  anchorSeconds: number
  /** How long to wait for a witness. */
  witnessTimeoutSeconds: number
  /** COMPLIANCE Object Lock of a checkpoint in the bucket, in days. */
  bucketLockDays: number
}

/** Another station, as a witness of this one and as a log this one witnesses. */
export interface WitnessPeer {
  /** Its key name, also its checkpoints' origin: "bodyvault/<station id>". */
  name: string
  publicKey: Buffer
  vkey: string
  /** Base URL of its API (its witness routes are under /v1/witness), or null: witnessed by this station, never asked. */
  url: string | null
}

/** The configured witnesses, their vkeys parsed; a bad one is a configuration error naming it. */
export function witnessPeers(witnesses: WitnessesConfig, ownName?: string): WitnessPeer[] {
  const out: WitnessPeer[] = []
  witnesses.forEach((w, i) => {
    let k: { name: string; publicKey: Buffer }
    try {
      k = parseWitnessVkey(w.vkey)
    } catch (err) {
      throw new ConfigError(
        `invalid configuration: witnesses.${i}.vkey: ${err instanceof Error ? err.message : String(err)} (copy it from bodyvault key show on that station)`,
      )
    }
    if (k.name === ownName) throw new ConfigError(`invalid configuration: witnesses.${i}: ${k.name} is this station itself`)
    if (out.some((p) => p.name === k.name)) throw new ConfigError(`invalid configuration: witnesses.${i}: ${k.name} is listed twice`)
    out.push({ name: k.name, publicKey: k.publicKey, vkey: w.vkey.trim(), url: w.url ? w.url.replace(/\/+$/, '') : null })
  })
  return out
}
