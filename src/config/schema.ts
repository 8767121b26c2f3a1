import { authConfigSchema, type AuthConfigFile } from '../api/auth-settings.js'
import { peopleConfigSchema, type PeopleConfigFile } from '../api/people-settings.js'
import { tlsConfigSchema, type TlsSettings } from '../api/tls.js'
import type { DockingSettings } from '../dock/settings.js'
import { fixityConfigSchema, type FixitySettings } from '../fixity/settings.js'
import type { IngestSettings } from '../ingest/session.js'
import { proxySettingsSchema } from '../media/proxy-policy.js'
import type { MediaSettings } from '../media/settings.js'
import { anchorLedgerSchema, type AnchorLedgerSettings, witnessesConfigSchema, type WitnessesConfig } from '../anchor/settings.js'
import { notifyConfigSchema, type NotifyConfigFile } from '../notify/settings.js'
import { offloadConfigSchema, type OffloadConfigFile } from '../offload/config.js'
import { retentionConfigSchema, type RetentionSettings } from '../retention/config.js'

/** JSON schema of the configuration file (config/default.json shows every key with its default). */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['station', 'dataDir', 'listen', 'log', 'docking', 'ingest', 'media', 'retention', 'offload', 'ledger', 'witnesses', 'api', 'backup', 'fixity'],
  properties: {
    station: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name', 'timezone'],
      properties: {
        id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
        name: { type: 'string', minLength: 1, maxLength: 200 },
        timezone: { type: 'string', minLength: 1, maxLength: 64 },
        /** The names clerks' PCs reach the station by: the SANs of the station certificate. */
        hostnames: { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:-]+$' } },
      },
    },
    dataDir: { type: 'string', minLength: 1 },
    listen: { type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' },
    log: {
      type: 'object',
      additionalProperties: false,
      required: ['level'],
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } },
    },
    docking: {
      type: 'object',
      additionalProperties: false,
      required: ['profilesDir', 'defaultProfile', 'mountRoots', 'pollMs', 'settleMs', 'concurrency', 'diskStreams', 'usb', 'clockDriftToleranceSec'],
      properties: {
        profilesDir: { type: ['string', 'null'], minLength: 1 },
        defaultProfile: { type: 'string', minLength: 1 },
        mountRoots: { type: 'array', items: { type: 'string', pattern: '^/' } },
        pollMs: { type: 'integer', minimum: 50, maximum: 60000 },
        settleMs: { type: 'integer', minimum: 0, maximum: 600000 },
        concurrency: { type: 'integer', minimum: 1, maximum: 64 },
        diskStreams: { type: 'integer', minimum: 1, maximum: 64 },
        usb: { type: 'boolean' },
        clockDriftToleranceSec: { type: 'integer', minimum: 0 },
        officerInput: { type: 'boolean' },
        officerIdleSeconds: { type: 'integer', minimum: 5, maximum: 600 },
      },
    },
    ingest: {
      type: 'object',
      additionalProperties: false,
      required: ['chunkBytes', 'bufferBytes', 'minFreeBytes', 'readBackVerify', 'changeRetries', 'maxPasses'],
      properties: {
        chunkBytes: { type: 'integer', minimum: 65536, maximum: 67108864 },
        bufferBytes: { type: 'integer', minimum: 1048576, maximum: 4294967296 },
        minFreeBytes: { type: 'integer', minimum: 0 },
        readBackVerify: { type: 'boolean' },
        changeRetries: { type: 'integer', minimum: 0, maximum: 20 },
        maxPasses: { type: 'integer', minimum: 1, maximum: 20 },
      },
    },
    media: {
      type: 'object',
      additionalProperties: false,
      required: [
        'ffmpegPath',
        'ffprobePath',
        'preset',
        'crf',
        'maxHeight',
        'audioBitrate',
        'thumbnailWidth',
        'concurrency',
        'maxAttempts',
        'retryBaseSeconds',
        'timeoutSeconds',
        'nice',
        'proxy',
      ],
      properties: {
        ffmpegPath: { type: ['string', 'null'], minLength: 1 },
        ffprobePath: { type: ['string', 'null'], minLength: 1 },
        preset: { enum: ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] },
        crf: { type: 'integer', minimum: 0, maximum: 51 },
        maxHeight: { type: 'integer', minimum: 144, maximum: 2160 },
        audioBitrate: { type: 'string', pattern: '^[1-9][0-9]{0,3}k$' },
        thumbnailWidth: { type: 'integer', minimum: 16, maximum: 4096 },
        concurrency: { type: ['integer', 'null'], minimum: 1, maximum: 64 },
        maxAttempts: { type: 'integer', minimum: 1, maximum: 100 },
        retryBaseSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
        timeoutSeconds: { type: 'integer', minimum: 10, maximum: 604800 },
        nice: { type: 'integer', minimum: 0, maximum: 19 },
        proxy: proxySettingsSchema,
      },
    },
    retention: retentionConfigSchema,
    offload: offloadConfigSchema,
    fixity: fixityConfigSchema,
    ledger: {
      type: 'object',
      additionalProperties: false,
      required: ['checkpointEvery', 'checkpointMinutes', 'anchorSeconds', 'witnessTimeoutSeconds', 'bucketLockDays'],
      properties: {
        checkpointEvery: { type: 'integer', minimum: 1, maximum: 100000000 },
        checkpointMinutes: { type: 'number', exclusiveMinimum: 0, maximum: 10080 },
        ...anchorLedgerSchema,
      },
    },
    witnesses: witnessesConfigSchema,
    api: {
      type: 'object',
      additionalProperties: false,
      required: ['rateLimitPerMinute'],
      properties: { rateLimitPerMinute: { type: 'integer', minimum: 1, maximum: 10000000 } },
    },
    backup: {
      type: 'object',
      additionalProperties: false,
      required: ['schedule', 'target'],
      properties: {
        schedule: { type: ['string', 'null'], minLength: 1 },
        target: { type: ['string', 'null'], minLength: 1 },
      },
    },
    people: peopleConfigSchema,
    tls: tlsConfigSchema,
    auth: authConfigSchema,
    notify: notifyConfigSchema,
  },
} as const

export interface Config {
  station: { id: string; name: string; timezone: string; hostnames?: string[] }
  /** The lookup API: requests a minute per token (or per address without one). */
  api: { rateLimitPerMinute: number }
  /** Absolute after loading. */
  dataDir: string
  listen: string
  log: { level: string }
  docking: DockingSettings
  ingest: IngestSettings
  /** Media pipeline: tools, proxy encoding, jobs. */
  media: MediaSettings
  /** Categories, case types, grace and the nightly purge (src/retention/config.ts). */
  retention: RetentionSettings
  /** S3 offload, null: local disk only (src/offload/config.ts). */
  offload: OffloadConfigFile | null
  /** The daemon's scheduled backup (src/backup/): a cron expression in station time and a folder; both null: none. */
  backup: { schedule: string | null; target: string | null }
  /** Verified serving, repair and the rolling fixity check (src/fixity/settings.ts). */
  fixity: FixitySettings
  /** Signed checkpoints of the ledger tree (src/ledger/checkpoint.ts): every N events or M minutes when it grew, and at shutdown; their anchors (src/anchor/). */
  ledger: { checkpointEvery: number; checkpointMinutes: number } & AnchorLedgerSettings
  /** Other stations that witness this one's checkpoints and whose checkpoints this one witnesses (src/anchor/settings.ts). */
  witnesses: WitnessesConfig
  /** Accounts, passwords, sessions, lockout (optional; src/api/people-settings.ts has the defaults). */
  people?: PeopleConfigFile
  /** HTTPS (optional; src/api/tls.ts has the defaults: TLS on any address but loopback, a station certificate made at first start). */
  tls?: Partial<TlsSettings>
  /** The second factor and directory sign-in (optional; src/api/auth-settings.ts has the defaults; auth.ldap off unless set). */
  auth?: AuthConfigFile
  /** Notices by webhook and mail (optional; src/notify/settings.ts has the defaults; no channel: none sent). */
  notify?: NotifyConfigFile
}
