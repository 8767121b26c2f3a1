import { ConfigError } from '../common/errors.js'

/** JSON schema of the `offload` config section (imported by src/config/schema.ts); null: no S3, the local disk only. */
export const offloadConfigSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['bucket'],
  properties: {
    endpoint: { type: ['string', 'null'], pattern: '^https?://' },
    region: { type: 'string', minLength: 1, maxLength: 64 },
    bucket: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' },
    prefix: { type: ['string', 'null'], maxLength: 200, pattern: '^([A-Za-z0-9._-]+/)*$' },
    forcePathStyle: { type: 'boolean' },
    createBucket: { type: 'boolean' },
    partSizeBytes: { type: 'integer', minimum: 5242880, maximum: 536870912 },
    multipartThresholdBytes: { type: 'integer', minimum: 5242880 },
    intervalSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        baseSeconds: { type: 'number', minimum: 0.01, maximum: 3600 },
        maxSeconds: { type: 'number', minimum: 0.01, maximum: 86400 },
      },
    },
    cache: {
      type: 'object',
      additionalProperties: false,
      properties: {
        keepDays: { type: ['integer', 'null'], minimum: 0 },
        maxBytes: { type: ['integer', 'null'], minimum: 0 },
      },
    },
  },
} as const

/** The `offload` section as written in the config file (everything but the bucket optional). */
export interface OffloadConfigFile {
  endpoint?: string | null
  region?: string
  bucket: string
  prefix?: string | null
  forcePathStyle?: boolean
  createBucket?: boolean
  partSizeBytes?: number
  multipartThresholdBytes?: number
  intervalSeconds?: number
  retry?: { baseSeconds?: number; maxSeconds?: number }
  cache?: { keepDays?: number | null; maxBytes?: number | null }
}

/** Offload settings with every default filled in, and the credentials. */
export interface OffloadSettings {
  endpoint: string | null
  region: string
  bucket: string
  /** Key prefix ending in "/" (default: "<station.id>/"). */
  prefix: string
  forcePathStyle: boolean
  createBucket: boolean
  partSizeBytes: number
  multipartThresholdBytes: number
  intervalSeconds: number
  retry: { baseSeconds: number; maxSeconds: number }
  /** Local cache policy: evict verified-offloaded objects older than keepDays, and/or beyond maxBytes. null: no limit. */
  cache: { keepDays: number | null; maxBytes: number | null }
  credentials: { accessKeyId: string; secretAccessKey: string }
}

/**
 * The effective offload settings, or null when offload is not configured.
 * Credentials come from BODYVAULT_S3_ACCESS_KEY / BODYVAULT_S3_SECRET_KEY
 * only (never from the config file, never logged); BODYVAULT_S3_ENDPOINT and
 * BODYVAULT_S3_REGION override endpoint and region when set.
 */
export function offloadSettings(
  cfg: { station: { id: string }; offload: OffloadConfigFile | null },
  env: NodeJS.ProcessEnv = process.env,
): OffloadSettings | null {
  const o = cfg.offload
  if (o === null || o === undefined) return null
  const accessKeyId = env.BODYVAULT_S3_ACCESS_KEY
  const secretAccessKey = env.BODYVAULT_S3_SECRET_KEY
  if (!accessKeyId || !secretAccessKey) {
    throw new ConfigError(
      'invalid configuration: offload is configured but BODYVAULT_S3_ACCESS_KEY and BODYVAULT_S3_SECRET_KEY are not both set in the environment (credentials are never read from the config file)',
    )
  }
  const endpoint = env.BODYVAULT_S3_ENDPOINT || o.endpoint || null
  if (endpoint !== null && !/^https?:\/\/[^/\s]+\/?$/.test(endpoint))
    throw new ConfigError(`invalid configuration: offload.endpoint: "${endpoint}" must be http(s)://host[:port]`)
  const partSizeBytes = o.partSizeBytes ?? 8 << 20
  const s: OffloadSettings = {
    endpoint,
    region: env.BODYVAULT_S3_REGION || o.region || 'us-east-1',
    bucket: o.bucket,
    prefix: o.prefix ?? `${cfg.station.id}/`,
    forcePathStyle: o.forcePathStyle ?? true,
    createBucket: o.createBucket ?? true,
    partSizeBytes,
    multipartThresholdBytes: Math.max(o.multipartThresholdBytes ?? 16 << 20, partSizeBytes),
    intervalSeconds: o.intervalSeconds ?? 60,
    retry: { baseSeconds: o.retry?.baseSeconds ?? 5, maxSeconds: o.retry?.maxSeconds ?? 3600 },
    cache: { keepDays: o.cache?.keepDays ?? null, maxBytes: o.cache?.maxBytes ?? null },
    credentials: { accessKeyId, secretAccessKey },
  }
  if (s.retry.maxSeconds < s.retry.baseSeconds)
    throw new ConfigError('invalid configuration: offload.retry.maxSeconds must be at least offload.retry.baseSeconds')
  return s
}
