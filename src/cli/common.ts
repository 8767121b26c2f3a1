import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError, errorMessage } from '../common/errors.js'
import { openStation, type Station, type StationOptions } from '../station/station.js'

/** Exit codes (docs/install.md, "Exit codes"). */
export const EXIT = { ok: 0, problems: 1, usage: 2, environment: 3, interrupted: 130 } as const

export interface Command {
  name: string
  /** One or two lines for the usage text. */
  usage: string
  run(args: string[]): Promise<number>
}

export const io = { stdout: (s: string): void => void process.stdout.write(s), stderr: (s: string): void => void process.stderr.write(s) }

/** Prints a command's usage (its --help) and returns the ok exit code. */
export function showUsage(usage: string): number {
  io.stdout(`Usage: bodyvault ${usage}\n`)
  return EXIT.ok
}

export const globalOptions = {
  config: { type: 'string' },
  verbose: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options']

/** Parses a command's options (plus the global ones); unknown options are a usage error. */
export function parse<O extends ParseArgsConfig['options']>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options: { ...globalOptions, ...options }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(`${errorMessage(err)}\n\nUsage: bodyvault ${usage}`)
  }
}

/**
 * Opens the station; CLI commands log at warn unless --verbose or BODYVAULT_LOG_LEVEL say otherwise.
 * `open`: start, verify and doctor check the catalog's pages; reindex opens an empty catalog to rebuild it.
 */
export function station(
  values: { config?: string | undefined; verbose?: boolean | undefined },
  quietDefault = true,
  open: Pick<StationOptions, 'checkIntegrity' | 'rebuildCatalog'> = {},
): Station {
  const level = values.verbose ? 'debug' : (process.env.BODYVAULT_LOG_LEVEL ?? (quietDefault ? 'warn' : undefined))
  return openStation({ configFile: values.config, logLevel: level, ...open })
}
