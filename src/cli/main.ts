import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BodyvaultError, UsageError } from '../common/errors.js'
import { packageRoot } from '../common/paths.js'
import { caseCommand } from './commands/case.js'
import { categorizeCommand } from './commands/categorize.js'
import { checkpointCommand } from './commands/checkpoint.js'
import { doctorCommand } from './commands/doctor.js'
import { exportPackageCommand } from './commands/export-package.js'
import { holdCommand } from './commands/hold.js'
import { ingestCommand } from './commands/ingest.js'
import { keyCommand } from './commands/key.js'
import { mediaCommand } from './commands/media.js'
import { offloadCommand } from './commands/offload.js'
import { recordingsCommand } from './commands/recordings.js'
import { reindexCommand } from './commands/reindex.js'
import { retentionCommand } from './commands/retention.js'
import { startCommand } from './commands/start.js'
import { statusCommand } from './commands/status.js'
import { tokenCommand } from './commands/token.js'
import { loginCommand, logoutCommand } from './commands/login.js'
import { tlsCommand } from './commands/tls.js'
import { userCommand } from './commands/user.js'
import { verifyCommand } from './commands/verify.js'
import { verifyPackageCommand } from './commands/verify-package.js'
import { EXIT, io, type Command } from './common.js'

export { EXIT }

/** Every command, in the order the usage text lists them. A new command is a file in commands/ and a line here. */
const COMMANDS: Command[] = [
  startCommand,
  statusCommand,
  ingestCommand,
  verifyCommand,
  recordingsCommand,
  categorizeCommand,
  caseCommand,
  holdCommand,
  retentionCommand,
  offloadCommand,
  reindexCommand,
  exportPackageCommand,
  verifyPackageCommand,
  checkpointCommand,
  keyCommand,
  mediaCommand,
  doctorCommand,
  tokenCommand,
  userCommand,
  loginCommand,
  logoutCommand,
  tlsCommand,
]

function usageText(): string {
  return `bodyvault: body-camera ingest and evidence vault

Usage:
${COMMANDS.map((c) => `  bodyvault ${c.usage}`).join('\n')}
  bodyvault help | version

Global options:
  --config FILE   configuration file (else BODYVAULT_CONFIG, else config/default.json)
  --verbose       log at debug level to stderr
  --json          machine-readable output where a command has it
Dates without an offset are station time. Exit codes: 0 ok, 1 problems found, 2 bad usage or configuration, 3 environment, 130 interrupted.
`
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  const command = COMMANDS.find((c) => c.name === name)
  if (command) return command.run(rest)
  switch (name) {
    case 'version':
    case '--version':
      io.stdout(`${(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version}\n`)
      return EXIT.ok
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(usageText())
      return name === undefined ? EXIT.usage : EXIT.ok
    default:
      throw new UsageError(`unknown command "${name}"\n\n${usageText()}`)
  }
}

/** Runs main and turns errors into a message and an exit code. */
export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv)
  } catch (err) {
    if (err instanceof BodyvaultError) {
      io.stderr(`bodyvault: ${err.message}\n`)
      process.exitCode = err.exitCode
    } else {
      io.stderr(`bodyvault: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exitCode = EXIT.environment
    }
  }
}
