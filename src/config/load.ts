import { readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import { IANAZone } from 'luxon'
import { ConfigError, errorMessage } from '../common/errors.js'
import { packageRoot } from '../common/paths.js'
import { configSchema, type Config } from './schema.js'

export type { Config }

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export interface LoadOptions {
  /** Path from --config; falls back to BODYVAULT_CONFIG. */
  file?: string | undefined
  env?: NodeJS.ProcessEnv
  /** Base for relative paths (default: process.cwd()). */
  cwd?: string
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Deep merge of plain objects; arrays and scalars from `over` replace. */
export function merge(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return over
  const out: Record<string, Json> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k] as Json, v) : v
  return out
}

function readJson(path: string, what: string): Json {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${errorMessage(err)}`)
  }
  try {
    return JSON.parse(text) as Json
  } catch (err) {
    throw new ConfigError(`${what} ${path} is not valid JSON: ${errorMessage(err)}`)
  }
}

function keyOf(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.')
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty
    return path ? `${path}.${extra}` : extra
  }
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty
    return path ? `${path}.${missing}` : missing
  }
  return path || '(root)'
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return 'is not a known setting (see config/default.json)'
  if (e.keyword === 'required') return 'is missing'
  if (e.keyword === 'enum') return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
  return e.message ?? 'is invalid'
}

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true })
const validate = ajv.compile(configSchema)

/**
 * Loads config/default.json, then the optional file (--config or
 * BODYVAULT_CONFIG), then environment overrides (BODYVAULT_DATA_DIR,
 * BODYVAULT_LISTEN, BODYVAULT_LOG_LEVEL), validates the result and resolves
 * paths. Throws ConfigError naming the key and the problem.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env
  const cwd = opts.cwd ?? process.cwd()
  const root = packageRoot()
  let merged = readJson(join(root, 'config', 'default.json'), 'default config')
  const file = opts.file ?? env.BODYVAULT_CONFIG
  let source = 'config/default.json'
  if (file) {
    const abs = resolve(cwd, file)
    const user = readJson(abs, 'config file')
    if (!isObject(user)) throw new ConfigError(`config file ${abs} must hold a JSON object`)
    merged = merge(merged, user)
    source = abs
  }
  const overrides: Record<string, Json> = {}
  if (env.BODYVAULT_DATA_DIR) overrides.dataDir = env.BODYVAULT_DATA_DIR
  if (env.BODYVAULT_LISTEN) overrides.listen = env.BODYVAULT_LISTEN
  if (env.BODYVAULT_LOG_LEVEL) overrides.log = { level: env.BODYVAULT_LOG_LEVEL }
  merged = merge(merged, overrides)

  if (!validate(merged)) {
    const lines = (validate.errors ?? []).map((e) => `  ${keyOf(e)}: ${describe(e)}`)
    throw new ConfigError(`invalid configuration (${source} with environment overrides):\n${[...new Set(lines)].join('\n')}`)
  }
  const cfg = merged as unknown as Config
  if (!IANAZone.isValidZone(cfg.station.timezone)) {
    throw new ConfigError(`invalid configuration: station.timezone: "${cfg.station.timezone}" is not an IANA time zone (e.g. Asia/Shanghai)`)
  }
  const port = Number(cfg.listen.slice(cfg.listen.lastIndexOf(':') + 1))
  if (port < 1 || port > 65535) throw new ConfigError(`invalid configuration: listen: port ${port} is out of range 1-65535`)
  return {
    ...cfg,
    dataDir: isAbsolute(cfg.dataDir) ? cfg.dataDir : resolve(cwd, cfg.dataDir),
    docking: {
      ...cfg.docking,
      profilesDir: cfg.docking.profilesDir ? resolve(cwd, cfg.docking.profilesDir) : join(root, 'docking'),
    },
  }
}
