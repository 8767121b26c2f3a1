import { validate as validCron } from 'node-cron'
import { IANAZone } from 'luxon'
import { ConfigError } from '../common/errors.js'
import type { Period, RetentionPolicy } from './policy.js'

/** A calendar period: whole years, months and days (at least one of them). */
const periodSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    years: { type: 'integer', minimum: 0, maximum: 200 },
    months: { type: 'integer', minimum: 0, maximum: 2400 },
    days: { type: 'integer', minimum: 0, maximum: 73000 },
  },
} as const

/** JSON schema of the `retention` config section (imported by src/config/schema.ts). */
export const retentionConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['categories', 'caseTypes', 'unlinkedCaseFootage', 'graceDays', 'purge'],
  properties: {
    categories: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[a-z][a-z0-9-]{0,31}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['keep'],
        properties: {
          keep: { anyOf: [{ type: 'string', enum: ['case'] }, periodSchema] },
          label: { type: 'string', maxLength: 200 },
        },
      },
    },
    caseTypes: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[a-z][a-z0-9-]{0,63}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['archive'],
        properties: {
          archive: { anyOf: [{ type: 'string', enum: ['indefinite'] }, periodSchema] },
          label: { type: 'string', maxLength: 200 },
        },
      },
    },
    unlinkedCaseFootage: { anyOf: [{ type: 'string', enum: ['indefinite'] }, periodSchema] },
    // Retention flags a clerk sets with a reason (art. 13: permanent); removed only with another person's approval.
    flags: {
      type: 'object',
      propertyNames: { pattern: '^[a-z][a-z0-9-]{0,31}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['keep'],
        properties: {
          keep: { anyOf: [{ type: 'string', enum: ['permanent'] }, periodSchema] },
          label: { type: 'string', maxLength: 200 },
        },
      },
    },
    graceDays: { type: 'integer', minimum: 0, maximum: 3650 },
    // 及时移交: hours from the end of a recording to its commit in the vault (provincial rules: 24).
    handoverLimitHours: { type: 'number', exclusiveMinimum: 0, maximum: 8760 },
    purge: {
      type: 'object',
      additionalProperties: false,
      required: ['schedule', 'timezone', 'enabled'],
      properties: {
        enabled: { type: 'boolean' },
        schedule: { type: 'string', minLength: 9, maxLength: 100 },
        timezone: { type: ['string', 'null'], minLength: 1, maxLength: 64 },
      },
    },
  },
} as const

/** The `retention` config section as loaded. */
export interface RetentionSettings {
  categories: Record<string, { keep: Period | 'case'; label?: string }>
  caseTypes: Record<string, { archive: Period | 'indefinite'; label?: string }>
  unlinkedCaseFootage: Period | 'indefinite'
  /** Optional in a config file: none means no flags can be set. */
  flags?: Record<string, { keep: Period | 'permanent'; label?: string }>
  graceDays: number
  /** Optional in a config file: 24 when absent. */
  handoverLimitHours?: number
  purge: { enabled: boolean; schedule: string; timezone: string | null }
}

/**
 * The policy the pure function applies, from the config: retention dates are
 * counted in the station's time zone (station.timezone). Checks what the JSON
 * schema cannot (cron syntax, time zone names) and names the key.
 */
export function retentionPolicy(cfg: { station: { timezone: string }; retention: RetentionSettings }): RetentionPolicy {
  const r = cfg.retention
  if (!validCron(r.purge.schedule)) {
    throw new ConfigError(
      `invalid configuration: retention.purge.schedule: "${r.purge.schedule}" is not a cron expression (e.g. "30 2 * * *" for 02:30 every day)`,
    )
  }
  if (r.purge.timezone !== null && !IANAZone.isValidZone(r.purge.timezone)) {
    throw new ConfigError(
      `invalid configuration: retention.purge.timezone: "${r.purge.timezone}" is not an IANA time zone (e.g. Asia/Shanghai), or null for station.timezone`,
    )
  }
  return {
    timezone: cfg.station.timezone,
    categories: Object.fromEntries(Object.entries(r.categories).map(([k, v]) => [k, { keep: v.keep }])),
    caseTypes: Object.fromEntries(Object.entries(r.caseTypes).map(([k, v]) => [k, { archive: v.archive }])),
    unlinkedCaseFootage: r.unlinkedCaseFootage,
    graceDays: r.graceDays,
    flags: Object.fromEntries(Object.entries(r.flags ?? {}).map(([k, v]) => [k, { keep: v.keep }])),
  }
}

/** Schedule and zone of the nightly purge (zone defaults to the station's). */
export function purgeSchedule(cfg: { station: { timezone: string }; retention: RetentionSettings }): { enabled: boolean; schedule: string; timezone: string } {
  retentionPolicy(cfg)
  return { enabled: cfg.retention.purge.enabled, schedule: cfg.retention.purge.schedule, timezone: cfg.retention.purge.timezone ?? cfg.station.timezone }
}

/** The handover limit in seconds (retention.handoverLimitHours, 24 h by default). */
export function handoverLimitSeconds(r: Pick<RetentionSettings, 'handoverLimitHours'>): number {
  return Math.round((r.handoverLimitHours ?? 24) * 3600)
}
