import type { Command } from './common.js'

/**
 * Every command, in the order the usage text lists them: its name and
 * usage line, known without loading it, and how to load it. A CLI process
 * imports only the command it runs (the station, fastify, the AWS SDK and
 * the rest cost about half a CPU-second to load). The usage lines are
 * written here only: each command takes its own with usageOf (a command
 * importing this file makes no cycle, as this file loads commands only
 * lazily). What --help says beyond the usage line is in help.ts. A new
 * command is a file in commands/ and a line here; test/cli-table.test.ts
 * checks that each line loads the command of its name.
 */
export interface CommandEntry {
  name: string
  /** One or more lines for the usage text (the command's own `usage`). */
  usage: string
  load(): Promise<Command>
}

/** A usage of several lines, as the usage text prints them. */
const lines = (...usages: string[]): string => usages.join('\n  bodyvault ')

export const COMMANDS: CommandEntry[] = [
  { name: 'start', usage: 'start', load: async () => (await import('./commands/start.js')).startCommand },
  { name: 'status', usage: 'status [--watch [--interval SECONDS]] [--json]', load: async () => (await import('./commands/status.js')).statusCommand },
  {
    name: 'ingest',
    usage: 'ingest <dir> [--profile ID] [--device ID] [--officer ID] [--json]',
    load: async () => (await import('./commands/ingest.js')).ingestCommand,
  },
  { name: 'verify', usage: 'verify [--quick] [--json]', load: async () => (await import('./commands/verify.js')).verifyCommand },
  {
    name: 'fixity',
    usage: 'fixity run [--all] [--budget MBPS] [--json] | fixity status [--json]',
    load: async () => (await import('./commands/fixity.js')).fixityCommand,
  },
  {
    name: 'recordings',
    usage: 'recordings [--officer ID] [--device ID] [--from DATE] [--to DATE] [--limit N] [--json]',
    load: async () => (await import('./commands/recordings.js')).recordingsCommand,
  },
  {
    name: 'categorize',
    usage: 'categorize <recording-id> <category|none> --reason TEXT [--as USER] [--json]',
    load: async () => (await import('./commands/categorize.js')).categorizeCommand,
  },
  {
    name: 'case',
    usage: lines(
      'case create <number> --type TYPE [--title TEXT] [--opened DATE] [--as USER] [--json]',
      'case close <number> [--closed DATE] [--reason TEXT] [--as USER] [--json]',
      'case reopen <number> --reason TEXT [--as USER] [--json]',
      'case link <number> <recording-id>... [--reason TEXT] [--as USER] [--json]',
      'case unlink <number> <recording-id> --reason TEXT [--as USER] [--json]',
      'case show <number> [--json] | case list [--status open|closed] [--json]',
    ),
    load: async () => (await import('./commands/case.js')).caseCommand,
  },
  {
    name: 'hold',
    usage: lines(
      'hold place <recording-id>... --reason TEXT [--as USER] [--json]',
      'hold release <hold-id> --reason TEXT [--as USER] [--json]',
      'hold list [--all] [--recording ID] [--json]',
    ),
    load: async () => (await import('./commands/hold.js')).holdCommand,
  },
  {
    name: 'flag',
    usage: lines(
      'flag set <recording-id> <flag> --reason TEXT [--as USER] [--json]',
      'flag remove <flag-id> --reason TEXT [--as USER] [--json]',
      'flag approve <flag-id> [--reason TEXT] [--as USER] [--json]',
      'flag withdraw <flag-id> --reason TEXT [--as USER] [--json]',
      'flag list [--all | --pending] [--recording ID] [--json]',
    ),
    load: async () => (await import('./commands/flag.js')).flagCommand,
  },
  {
    name: 'retention',
    usage: lines('retention plan [--at DATE] [--json]', 'retention purge [--at DATE] [--dry-run] [--json]', 'retention show <recording-id> [--json]'),
    load: async () => (await import('./commands/retention.js')).retentionCommand,
  },
  {
    name: 'stats',
    usage: 'stats [--month YYYY-MM] [--by officer|unit] [--format table|json|csv|xlsx] [--out FILE]',
    load: async () => (await import('./commands/stats.js')).statsCommand,
  },
  {
    name: 'report',
    usage: 'report recording|case|export <id> --out FILE.pdf|FILE.html [--lang zh|en]',
    load: async () => (await import('./commands/report.js')).reportCommand,
  },
  {
    name: 'review',
    usage: lines(
      'review sample [--month YYYY-MM] --per-officer N [--seed SEED] [--as USER] [--json]',
      'review outcome <sample-id> <recording-id> ok|late|wrong-category|incomplete|other [--note TEXT] [--as USER] [--json]',
      'review show <sample-id> [--json]',
    ),
    load: async () => (await import('./commands/review.js')).reviewCommand,
  },
  {
    name: 'notify',
    usage: lines('notify test [--json]', 'notify run check|daily|weekly [--json]', 'notify status [--json]'),
    load: async () => (await import('./commands/notify.js')).notifyCommand,
  },
  {
    name: 'offload',
    usage: lines('offload run [--once] [--json]', 'offload status [--json]'),
    load: async () => (await import('./commands/offload.js')).offloadCommand,
  },
  { name: 'reindex', usage: 'reindex --from-s3 [--fetch] [--json]', load: async () => (await import('./commands/reindex.js')).reindexCommand },
  {
    name: 'restore-object',
    usage: 'restore-object <sha256|recording-id>... [--originals-only] [--by NAME] [--json]',
    load: async () => (await import('./commands/restore-object.js')).restoreObjectCommand,
  },
  { name: 'backup', usage: 'backup <DIR> [--json]', load: async () => (await import('./commands/backup.js')).backupCommand },
  { name: 'restore', usage: 'restore <BACKUP> --to <DIR> [--json]', load: async () => (await import('./commands/backup.js')).restoreCommand },
  {
    name: 'export-package',
    usage:
      'export-package --recording ID [--recording ID ...] --reason TEXT --out FILE.zip\n      [--recipient TEXT] [--approved-by USER] [--as USER] [--no-derivatives] [--restore] [--json]',
    load: async () => (await import('./commands/export-package.js')).exportPackageCommand,
  },
  {
    name: 'verify-package',
    usage: 'verify-package <FILE.zip|FOLDER> [--key FILE | --key-hex HEX] [--witness-key VKEY|FILE]... [--json]',
    load: async () => (await import('./commands/verify-package.js')).verifyPackageCommand,
  },
  { name: 'checkpoint', usage: 'checkpoint [--json]', load: async () => (await import('./commands/checkpoint.js')).checkpointCommand },
  {
    name: 'key',
    usage: lines(
      'key show [--pem] [--json]',
      'key rotate --reason TEXT [--by NAME] [--json]',
      'key replace --reason TEXT --by NAME [--json]   (the old key is lost: the chain of keys is broken, on the record)',
    ),
    load: async () => (await import('./commands/key.js')).keyCommand,
  },
  {
    name: 'media',
    usage: 'media run [--once] [--kind probe|proxy|thumbnail] [--json] | media status [--json] | media retry [--all | JOB_ID...]',
    load: async () => (await import('./commands/media.js')).mediaCommand,
  },
  { name: 'doctor', usage: 'doctor [--json]', load: async () => (await import('./commands/doctor.js')).doctorCommand },
  {
    name: 'token',
    usage: lines(
      'token create --role officer|clerk|supervisor|auditor|admin|kiosk --name NAME [--user USER | --service ACCOUNT] [--officer POLICE_NO] [--url BASE] [--as ADMIN] [--json]',
      'token list [--json] | token revoke ID [--as ADMIN]',
    ),
    load: async () => (await import('./commands/token.js')).tokenCommand,
  },
  {
    name: 'unit',
    usage: lines(
      'unit list | show <code> | add <code> --name NAME --level bureau|station|team [--parent CODE] | update <code> [--name ...] | retire <code>',
      'unit import <file.csv|file.xlsx> | export [--format csv|xlsx] [--out FILE]   [--by NAME] [--json]',
    ),
    load: async () => (await import('./commands/registry.js')).unitCommand,
  },
  {
    name: 'officer',
    usage: lines(
      'officer list [--unit CODE] | show <police-no> | add <police-no> --name NAME --unit CODE [--from DATE] [--to DATE]',
      'officer update <police-no> [--name ...] [--unit CODE [--unit-from DATE]] | retire <police-no> [--at DATE] | import <file> | export [--format csv|xlsx] [--out FILE]',
    ),
    load: async () => (await import('./commands/registry.js')).officerCommand,
  },
  {
    name: 'device',
    usage: lines(
      'device list [--unit CODE] | show <device-no> | add <device-no> [--serial S] [--usb VID:PID] [--model M] [--profile ID] [--unit CODE] [--status in-service|repair|retired]',
      'device update <device-no> [...] | retire <device-no> | import <file> | export [--format csv|xlsx] [--out FILE]',
      'device assign <device-no> <police-no> [--from DATE] [--to DATE] | checkout <device-no> <police-no> | return <device-no> [--at DATE]',
    ),
    load: async () => (await import('./commands/registry.js')).deviceCommand,
  },
  {
    name: 'finding',
    usage: 'finding list [--kind officer-conflict|reconciliation] [--all] | show <id> | resolve <id> --resolution TEXT [--as USER]   [--json]',
    load: async () => (await import('./commands/finding.js')).findingCommand,
  },
  {
    name: 'user',
    usage: lines(
      'user create NAME --display TEXT (--police-no NO | --service) [--unit CODE] --role officer|clerk|supervisor|auditor|admin[,...] [--as ADMIN] [--json]',
      'user list [--json] | user show NAME [--json]',
      'user disable|enable|reset-password NAME [--as ADMIN] | user set-roles NAME ROLE[,ROLE...] [--as ADMIN]',
      "user set-pin NAME [--clear] [--as ADMIN]   (the officer's PIN for the dock screen: from the terminal, or BODYVAULT_PIN)",
    ),
    load: async () => (await import('./commands/user.js')).userCommand,
  },
  {
    name: 'login',
    usage:
      'login USER   (the password from the terminal, or BODYVAULT_PASSWORD; a new one from BODYVAULT_NEW_PASSWORD when it must change; a second factor from the terminal or BODYVAULT_TOTP)',
    load: async () => (await import('./commands/login.js')).loginCommand,
  },
  { name: 'logout', usage: 'logout', load: async () => (await import('./commands/login.js')).logoutCommand },
  {
    name: '2fa',
    usage: lines('2fa status [--as USER] [--json]', '2fa enrol [--as USER] [--json]', '2fa confirm CODE [--as USER] [--json]', '2fa reset USER [--as ADMIN]'),
    load: async () => (await import('./commands/second-factor.js')).secondFactorCommand,
  },
  {
    name: 'tls',
    usage: 'tls show [--json]   (the daemon certificate, and the SHA-256 of its public key for curl --pinnedpubkey)',
    load: async () => (await import('./commands/tls.js')).tlsCommand,
  },
]

/** A command's usage (for --help and its usage errors), by its name in the table above. */
export function usageOf(name: string): string {
  const entry = COMMANDS.find((c) => c.name === name)
  // A programming mistake met when the command's module loads: every test that loads it fails.
  if (!entry) throw new Error(`no command "${name}" in src/cli/table.ts`)
  return entry.usage
}
