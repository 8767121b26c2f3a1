import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ErrorObject, Options } from 'ajv'
import { IANAZone } from 'luxon'
import { validate as validCron } from 'node-cron'
import { ConfigError, errorMessage } from '../common/errors.js'
import { packageRoot } from '../common/paths.js'
import { builtValidator, schemaDigest, type Validator } from '../common/validator.js'
import { configSchema, type Config } from './schema.js'

export type { Config }

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export interface LoadOptions {
  /** Path from --config; falls back to BODYVAULT_CONFIG, then the system config. */
  file?: string | undefined
  env?: NodeJS.ProcessEnv
  /** Base for a relative --config, BODYVAULT_CONFIG or BODYVAULT_DATA_DIR (default: process.cwd()). */
  cwd?: string
}

/** The installed station's configuration, read when neither --config nor BODYVAULT_CONFIG names one. */
export const SYSTEM_CONFIG = '/etc/bodyvault/config.json'

/** Where the configuration came from: named in messages that say which vault a command looked at. */
export interface ConfigSources {
  /** The config file merged over the defaults, or null (the defaults alone). */
  file: string | null
  /** How dataDir was chosen, for people: "BODYVAULT_DATA_DIR", "dataDir in FILE", "the installation's data folder". */
  dataDirFrom: string
}

/** Environment variables that override a key: a bad value is reported as the variable. */
const ENV_KEYS: Record<string, string> = { dataDir: 'BODYVAULT_DATA_DIR', listen: 'BODYVAULT_LISTEN', 'log.level': 'BODYVAULT_LOG_LEVEL' }

/** What a pattern means, for the keys whose pattern alone would say nothing to a person. */
const PATTERN_HINTS: Record<string, string> = {
  listen: 'must be host:port, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080',
  'station.id': 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  'media.audioBitrate': 'must be a bit rate in k, e.g. 128k',
}

/**
 * The config file to read: --config, else BODYVAULT_CONFIG, else the system
 * config when it exists. BODYVAULT_SYSTEM_CONFIG moves the system config
 * (tests: "none" turns it off, so an installed station's config never leaks
 * into a test run).
 */
export function configFile(opts: LoadOptions = {}): string | null {
  const env = opts.env ?? process.env
  const named = opts.file ?? env.BODYVAULT_CONFIG
  if (named) return resolve(opts.cwd ?? process.cwd(), named)
  const sys = env.BODYVAULT_SYSTEM_CONFIG ?? SYSTEM_CONFIG
  if (sys === '' || sys === 'none') return null
  return existsSync(sys) ? sys : null
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

/** Ajv's options for the config schema: the build's precompiled validator (scripts/build-validators.js) uses the same. */
export const CONFIG_AJV_OPTIONS: Options = { allErrors: true, strict: true, allowUnionTypes: true }

/** Names the schema a precompiled validator was generated from: a stale one (schema edited, only tsc run) is never used. */
export function configSchemaDigest(): string {
  return schemaDigest(configSchema)
}

/** The precompiled validator, written next to this module by the build (dist/src/config/). */
export const CONFIG_VALIDATOR_FILE = join(dirname(fileURLToPath(import.meta.url)), 'config-validator.cjs')

let validator: Validator | undefined

/** The config validator: the build's (common/validator.ts says why), else compiled here once. */
function configValidator(): Validator {
  validator ??= builtValidator(CONFIG_VALIDATOR_FILE, configSchema, CONFIG_AJV_OPTIONS)
  return validator
}

/**
 * Loads config/default.json, then the config file (configFile(): --config,
 * BODYVAULT_CONFIG or /etc/bodyvault/config.json), then environment
 * overrides (BODYVAULT_DATA_DIR, BODYVAULT_LISTEN, BODYVAULT_LOG_LEVEL),
 * validates the result and resolves paths: a relative path in the config
 * file is relative to that file, the defaults' ./data is the installation's
 * data folder, a relative BODYVAULT_DATA_DIR is relative to the current
 * folder. Throws ConfigError naming the key (or the variable) and the problem.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  return loadConfigWithSources(opts).config
}

export function loadConfigWithSources(opts: LoadOptions = {}): { config: Config; sources: ConfigSources } {
  const env = opts.env ?? process.env
  const cwd = opts.cwd ?? process.cwd()
  const root = packageRoot()
  let merged = readJson(join(root, 'config', 'default.json'), 'default config')
  const file = configFile(opts)
  let user: Record<string, Json> = {}
  if (file) {
    const read = readJson(file, 'config file')
    if (!isObject(read)) throw new ConfigError(`config file ${file} must hold a JSON object`)
    user = read
    merged = merge(merged, user)
  }
  const source = file ?? 'config/default.json'
  const overrides: Record<string, Json> = {}
  if (env.BODYVAULT_DATA_DIR) overrides.dataDir = env.BODYVAULT_DATA_DIR
  if (env.BODYVAULT_LISTEN) overrides.listen = env.BODYVAULT_LISTEN
  if (env.BODYVAULT_LOG_LEVEL) overrides.log = { level: env.BODYVAULT_LOG_LEVEL }
  merged = merge(merged, overrides)
  const fromEnv = (key: string): string | undefined => {
    const v = ENV_KEYS[key]
    return v && env[v] ? v : undefined
  }

  const validate = configValidator()
  if (!validate(merged)) {
    const lines = (validate.errors ?? []).map((e) => {
      const key = keyOf(e)
      const what = e.keyword === 'pattern' && PATTERN_HINTS[key] ? PATTERN_HINTS[key] : describe(e)
      const v = fromEnv(key)
      return v ? `${v}=${JSON.stringify(env[v])}: ${what} (the environment variable overrides ${key})` : `${key}: ${what}`
    })
    throw new ConfigError(`invalid configuration (${source} with environment overrides): ${[...new Set(lines)].join('; ')}`)
  }
  const cfg = merged as unknown as Config
  if (!IANAZone.isValidZone(cfg.station.timezone)) {
    throw new ConfigError(`invalid configuration: station.timezone: "${cfg.station.timezone}" is not an IANA time zone (e.g. Asia/Shanghai)`)
  }
  const port = Number(cfg.listen.slice(cfg.listen.lastIndexOf(':') + 1))
  if (port < 1 || port > 65535) {
    const v = fromEnv('listen')
    throw new ConfigError(`invalid configuration: ${v ? `${v}=${JSON.stringify(env[v])}` : 'listen'}: port ${port} is out of range 1-65535`)
  }
  if ((cfg.backup.schedule === null) !== (cfg.backup.target === null))
    throw new ConfigError('invalid configuration: backup: set both backup.schedule (e.g. "0 3 * * *") and backup.target (a folder on another disk), or neither')
  if (cfg.backup.schedule !== null && !validCron(cfg.backup.schedule))
    throw new ConfigError(`invalid configuration: backup.schedule: "${cfg.backup.schedule}" is not a cron expression (e.g. "0 3 * * *": 03:00 every day)`)
  // Where each relative path is relative to: the variable to the current folder, the file to its folder, the defaults to the installation.
  const fileDir = file ? dirname(file) : root
  let dataDir: string
  let dataDirFrom: string
  if (env.BODYVAULT_DATA_DIR) {
    dataDir = resolve(cwd, cfg.dataDir)
    dataDirFrom = 'BODYVAULT_DATA_DIR'
  } else if (file && typeof user.dataDir === 'string') {
    dataDir = resolve(fileDir, cfg.dataDir)
    dataDirFrom = `dataDir in ${file}`
  } else {
    dataDir = isAbsolute(cfg.dataDir) ? cfg.dataDir : resolve(root, cfg.dataDir)
    dataDirFrom = "the installation's data folder: no config file names a dataDir"
  }
  const profilesDir = cfg.docking.profilesDir ? resolve(fileDir, cfg.docking.profilesDir) : join(root, 'docking')
  const backup = { ...cfg.backup, target: cfg.backup.target === null ? null : resolve(fileDir, cfg.backup.target) }
  return { config: { ...cfg, dataDir, docking: { ...cfg.docking, profilesDir }, backup }, sources: { file, dataDirFrom } }
}
