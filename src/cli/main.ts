import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { catalogCorrupt, isCatalogDamage } from '../catalog/db.js'
import { BodyvaultError, UsageError, errnoCode, errorMessage } from '../common/errors.js'
import { packageRoot } from '../common/paths.js'
import { backupCommand, restoreCommand } from './commands/backup.js'
import { caseCommand } from './commands/case.js'
import { categorizeCommand } from './commands/categorize.js'
import { checkpointCommand } from './commands/checkpoint.js'
import { doctorCommand } from './commands/doctor.js'
import { exportPackageCommand } from './commands/export-package.js'
import { fixityCommand } from './commands/fixity.js'
import { findingCommand } from './commands/finding.js'
import { holdCommand } from './commands/hold.js'
import { flagCommand } from './commands/flag.js'
import { ingestCommand } from './commands/ingest.js'
import { keyCommand } from './commands/key.js'
import { mediaCommand } from './commands/media.js'
import { offloadCommand } from './commands/offload.js'
import { recordingsCommand } from './commands/recordings.js'
import { deviceCommand, officerCommand, unitCommand } from './commands/registry.js'
import { reindexCommand } from './commands/reindex.js'
import { restoreObjectCommand } from './commands/restore-object.js'
import { retentionCommand } from './commands/retention.js'
import { startCommand } from './commands/start.js'
import { statusCommand } from './commands/status.js'
import { statsCommand } from './commands/stats.js'
import { reportCommand } from './commands/report.js'
import { reviewCommand } from './commands/review.js'
import { notifyCommand } from './commands/notify.js'
import { tokenCommand } from './commands/token.js'
import { loginCommand, logoutCommand } from './commands/login.js'
import { secondFactorCommand } from './commands/second-factor.js'
import { tlsCommand } from './commands/tls.js'
import { userCommand } from './commands/user.js'
import { verifyCommand } from './commands/verify.js'
import { verifyPackageCommand } from './commands/verify-package.js'
import { EXIT, didYouMean, io, showUsage, type Command } from './common.js'

export { EXIT }

/** Every command, in the order the usage text lists them. A new command is a file in commands/ and a line here. */
export const COMMANDS: Command[] = [
  startCommand,
  statusCommand,
  ingestCommand,
  verifyCommand,
  fixityCommand,
  recordingsCommand,
  categorizeCommand,
  caseCommand,
  holdCommand,
  flagCommand,
  retentionCommand,
  statsCommand,
  reportCommand,
  reviewCommand,
  notifyCommand,
  offloadCommand,
  reindexCommand,
  restoreObjectCommand,
  backupCommand,
  restoreCommand,
  exportPackageCommand,
  verifyPackageCommand,
  checkpointCommand,
  keyCommand,
  mediaCommand,
  doctorCommand,
  tokenCommand,
  unitCommand,
  officerCommand,
  deviceCommand,
  findingCommand,
  userCommand,
  loginCommand,
  logoutCommand,
  secondFactorCommand,
  tlsCommand,
]

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
    return command.run(rest)
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
    const err = isCatalogDamage(caught) ? catalogCorrupt('catalog.db in the data dir', errorMessage(caught), caught) : caught
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
