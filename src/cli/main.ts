import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BodyvaultError, UsageError, errnoCode, errorMessage } from '../common/errors.js'
import { packageRoot } from '../common/paths.js'
import { EXIT, didYouMean, io, showUsage } from './common.js'
import { COMMANDS } from './table.js'

export { COMMANDS, EXIT }

function usageText(): string {
  return `bodyvault: body-camera ingest and evidence vault

Usage:
${COMMANDS.map((c) => `  bodyvault ${c.usage}`).join('\n')}
  bodyvault help | version

Global options:
  --config FILE   configuration file (else BODYVAULT_CONFIG, else /etc/bodyvault/config.json when it exists, else the defaults)
  --verbose       log at debug level to stderr; an unexpected error prints its stack trace
  --json          machine-readable output where a command has it
  --help          a command's options, what it does, examples (bodyvault COMMAND --help)
Dates without an offset are station time. Exit codes: 0 ok, 1 problems found, 2 bad usage or configuration, 3 environment, 130 interrupted.
`
}

/** A message on one line: a usage text appended to it becomes a pointer to --help, line breaks become separators. */
export function oneLine(message: string): string {
  return message
    .replace(/\n+\s*Usage: bodyvault (\S+)[\s\S]*$/, ' (see bodyvault $1 --help)')
    .replace(/:\s*\n\s*/g, ': ')
    .replace(/\s*\n\s*/g, '; ')
    .trim()
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  const command = COMMANDS.find((c) => c.name === name)
  if (command) {
    const end = rest.indexOf('--')
    const opts = end < 0 ? rest : rest.slice(0, end)
    if (opts.includes('--help') || opts.includes('-h')) return showUsage(command.usage)
    return (await command.load()).run(rest)
  }
  switch (name) {
    case 'version':
    case '--version':
      io.stdout(`${(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version}\n`)
      return EXIT.ok
    case 'help': {
      const about = COMMANDS.find((c) => c.name === rest[0])
      if (about) return showUsage(about.usage)
      io.stdout(usageText())
      return rest[0] === undefined ? EXIT.ok : unknown(rest[0])
    }
    case undefined:
    case '--help':
    case '-h':
      io.stdout(usageText())
      return name === undefined ? EXIT.usage : EXIT.ok
    default:
      return unknown(name)
  }
}

function unknown(name: string): never {
  const near = didYouMean(name, [...COMMANDS.map((c) => c.name), 'help', 'version'])
  throw new UsageError(`unknown command "${name}"${near ? `: did you mean "${near}"?` : ''} (bodyvault help lists every command)`)
}

/**
 * Runs main and turns errors into one line with a stable code (the
 * catalogue in src/common/errors.ts) and an exit code: never a stack trace
 * unless --verbose. A reader that went away (EPIPE: `status | head -1`)
 * ends the command quietly.
 */
export async function run(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose')
  const quietOnEpipe = (err: unknown): void => {
    if (errnoCode(err) === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok)
    throw err
  }
  process.stdout.on('error', quietOnEpipe)
  process.stderr.on('error', quietOnEpipe)
  try {
    process.exitCode = await main(argv)
  } catch (caught) {
    if (errnoCode(caught) === 'EPIPE') return
    // A damaged catalog page met by any command: the way out, never a stack trace.
    // Only a system error with a code can be one: a usage error loads no SQLite for it.
    const db = caught instanceof BodyvaultError || errnoCode(caught) === undefined ? undefined : await import('../catalog/db.js')
    const err = db?.isCatalogDamage(caught) ? db.catalogCorrupt('catalog.db in the data dir', errorMessage(caught), caught) : caught
    if (err instanceof BodyvaultError) {
      // An error that lists its parts (a roster's bad rows) keeps them one per line under its one-line summary.
      const details = (err as BodyvaultError & { details?: string[] }).details
      io.stderr(`bodyvault: ${err.code}: ${oneLine(details ? (err.message.split('\n')[0] ?? '') : err.message)}\n`)
      for (const d of details ?? []) io.stderr(`  ${d}\n`)
      if (verbose && err.cause instanceof Error && err.cause.stack) io.stderr(`${err.cause.stack}\n`)
      process.exitCode = err.exitCode
    } else {
      const e = err instanceof Error ? err : new Error(String(err))
      io.stderr(
        `bodyvault: INTERNAL: unexpected error: ${oneLine(e.message)}${verbose ? `\n${e.stack ?? ''}` : ' (run again with --verbose for the stack trace)'}\n`,
      )
      process.exitCode = EXIT.environment
    }
  }
}
