/**
 * The `notify` section of the configuration (optional; no channel: no
 * notices). Channels are data: a webhook (a JSON POST signed with an HMAC)
 * or an SMTP server. Secrets (the webhook's HMAC key, the SMTP password)
 * come from a file or an environment variable, never inline in the config,
 * so the config can be shown, logged and backed up; they are read only when
 * the notifier is built (the daemon, `bodyvault notify test`).
 */
import { readFileSync } from 'node:fs'
import { BodyvaultError, errorMessage } from '../common/errors.js'

export const NOTICE_KINDS = ['late-handovers', 'deletions-due', 'fixity-failure', 'low-disk', 'export-requested', 'export-pending', 'test'] as const
export type NoticeKind = (typeof NOTICE_KINDS)[number]

/** A secret's source: the first line of a file (mode 0600, readable by the daemon's user) or an environment variable. */
export type SecretSource = { file: string } | { env: string }

export type ChannelConfig =
  | {
      type: 'webhook'
      /** The channel's name in the ledger and the logs: `webhook:<name>`. */
      name: string
      url: string
      secret: SecretSource
      /** The kinds this channel receives (default: all). */
      kinds?: NoticeKind[]
      timeoutSeconds?: number
    }
  | {
      type: 'smtp'
      name: string
      host: string
      port: number
      /** TLS from the first byte (port 465); false: plain, upgraded by STARTTLS when the server offers it. */
      secure: boolean
      /** Refuse to send unless STARTTLS succeeded (for secure: false). */
      requireTLS?: boolean
      from: string
      to: string[]
      /** SMTP AUTH: the user and where the password is. */
      auth?: { user: string; password: SecretSource }
      kinds?: NoticeKind[]
      timeoutSeconds?: number
    }

export interface NotifyConfigFile {
  channels?: ChannelConfig[]
  /** Cron, station time: the daily notices (late handovers, exports still awaiting approval). */
  daily?: string
  /** Cron, station time: the weekly notice of the deletions due in the next 7 days. */
  weekly?: string
  /** How often the station looks for what is sent at once (fixity failures, low disk, new export requests) and for retries due. */
  checkSeconds?: number
  /** Delivery attempts per notice and channel, and the first wait between them (doubled each time, at most an hour). */
  retry?: { maxAttempts?: number; baseSeconds?: number }
  /** Free bytes on the data dir's disk below which a low-disk notice goes out (once a day while low); null: twice ingest.minFreeBytes. */
  lowDiskBytes?: number | null
}

export interface NotifySettings {
  channels: ChannelConfig[]
  daily: string
  weekly: string
  checkSeconds: number
  retry: { maxAttempts: number; baseSeconds: number }
  lowDiskBytes: number | null
}

export const NOTIFY_DEFAULTS: NotifySettings = {
  channels: [],
  daily: '0 8 * * *',
  weekly: '0 8 * * 1',
  checkSeconds: 60,
  retry: { maxAttempts: 8, baseSeconds: 30 },
  lowDiskBytes: null,
}

const secretSchema = {
  oneOf: [
    { type: 'object', additionalProperties: false, required: ['file'], properties: { file: { type: 'string', pattern: '^/' } } },
    { type: 'object', additionalProperties: false, required: ['env'], properties: { env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } } },
  ],
} as const
const common = {
  name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
  kinds: { type: 'array', items: { enum: NOTICE_KINDS }, uniqueItems: true, minItems: 1 },
  timeoutSeconds: { type: 'integer', minimum: 1, maximum: 300 },
} as const

export const notifyConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    channels: {
      type: 'array',
      maxItems: 20,
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'name', 'url', 'secret'],
            properties: { type: { const: 'webhook' }, ...common, url: { type: 'string', pattern: '^https?://' }, secret: secretSchema },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'name', 'host', 'port', 'secure', 'from', 'to'],
            properties: {
              type: { const: 'smtp' },
              ...common,
              host: { type: 'string', minLength: 1, maxLength: 253 },
              port: { type: 'integer', minimum: 1, maximum: 65535 },
              secure: { type: 'boolean' },
              requireTLS: { type: 'boolean' },
              from: { type: 'string', minLength: 3, maxLength: 320 },
              to: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', minLength: 3, maxLength: 320 } },
              auth: {
                type: 'object',
                additionalProperties: false,
                required: ['user', 'password'],
                properties: { user: { type: 'string', minLength: 1 }, password: secretSchema },
              },
            },
          },
        ],
      },
    },
    daily: { type: 'string', minLength: 9 },
    weekly: { type: 'string', minLength: 9 },
    checkSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: { maxAttempts: { type: 'integer', minimum: 1, maximum: 30 }, baseSeconds: { type: 'integer', minimum: 1, maximum: 3600 } },
    },
    lowDiskBytes: { type: ['integer', 'null'], minimum: 0 },
  },
} as const

/** The settings with the defaults filled in; two channels of one name are a configuration error. */
export function notifySettings(file: NotifyConfigFile | undefined): NotifySettings {
  const f = file ?? {}
  const channels = f.channels ?? []
  const seen = new Set<string>()
  for (const c of channels) {
    const id = channelId(c)
    if (seen.has(id)) throw new BodyvaultError('CONFIG_INVALID', `notify.channels: two channels are named ${id}: give each its own name`)
    seen.add(id)
  }
  return {
    channels,
    daily: f.daily ?? NOTIFY_DEFAULTS.daily,
    weekly: f.weekly ?? NOTIFY_DEFAULTS.weekly,
    checkSeconds: f.checkSeconds ?? NOTIFY_DEFAULTS.checkSeconds,
    retry: { ...NOTIFY_DEFAULTS.retry, ...f.retry },
    lowDiskBytes: f.lowDiskBytes ?? NOTIFY_DEFAULTS.lowDiskBytes,
  }
}

/** The channel as the ledger and the logs name it: `webhook:duty-desk`, `smtp:supervisors`. */
export function channelId(c: ChannelConfig): string {
  return `${c.type}:${c.name}`
}

/** Does this channel receive notices of this kind? (A test notice goes to every channel.) */
export function channelTakes(c: ChannelConfig, kind: NoticeKind): boolean {
  return kind === 'test' || !c.kinds || c.kinds.includes(kind)
}

/** Reads a secret from its file or variable; a missing or empty one is a configuration error that names where it looked, never its value. */
export function readSecret(s: SecretSource, what: string, env: NodeJS.ProcessEnv): string {
  let v: string | undefined
  if ('file' in s) {
    try {
      v = readFileSync(s.file, 'utf8').split('\n')[0]?.trim()
    } catch (err) {
      throw new BodyvaultError('CONFIG_INVALID', `${what}: cannot read ${s.file} (${errorMessage(err)}): create it, readable by the daemon's user only`)
    }
  } else v = env[s.env]?.trim()
  if (!v)
    throw new BodyvaultError('CONFIG_INVALID', `${what}: ${'file' in s ? `${s.file} is empty` : `the variable ${s.env} is not set`}: put the secret there`)
  return v
}
