/**
 * What `bodyvault <command> --help` says beyond the usage line: one
 * sentence on what the command does, and examples to copy. Keyed by command
 * name; test/cli-ux.test.ts checks that every command has its entry.
 */
export interface CommandHelp {
  summary: string
  examples: string[]
}

export const HELP: Record<string, CommandHelp> = {
  start: {
    summary: 'Runs the station daemon: docking, ingest, media jobs, the nightly purge and backup, S3 offload, checkpoints, the API. One daemon per vault.',
    examples: ['bodyvault start', 'BODYVAULT_LISTEN=0.0.0.0:8080 bodyvault start'],
  },
  status: {
    summary: 'What each docked camera is doing, asked of the running daemon (--watch redraws until q or Ctrl-C).',
    examples: ['bodyvault status', 'bodyvault status --watch', 'bodyvault status --json | jq .cameras'],
  },
  ingest: {
    summary: 'Copies one mounted camera folder into the vault without the daemon, hashing and verifying every file.',
    examples: ['bodyvault ingest /media/bodyvault/A1B2C3D', 'bodyvault ingest /mnt/cam --profile generic-dcim --device A1B2C3D --officer 012345'],
  },
  verify: {
    summary:
      'Re-hashes every object (on all cores), checks every catalog row against the ledger, re-walks the chain and the signed checkpoints; --quick (the daily run) skips the re-hash.',
    examples: ['bodyvault verify', 'bodyvault verify --quick', 'BODYVAULT_DATA_DIR=/srv/restore bodyvault verify --json'],
  },
  recordings: {
    summary: 'Lists recordings, filtered by officer, device and time (dates without an offset are station time; --to is exclusive).',
    examples: ['bodyvault recordings --officer 012345', 'bodyvault recordings --from 2026-11-20 --to 2026-11-21 --json'],
  },
  categorize: {
    summary: "Sets a recording's category (and so its retention), with a reason the ledger keeps.",
    examples: ['bodyvault categorize 42 evidence --reason "used in case 2026-0117" --by zhang.wei'],
  },
  case: {
    summary: 'Creates, closes, reopens and lists cases, and links recordings to them.',
    examples: [
      'bodyvault case create 2026-0117 --type penalty-general-procedure --by zhang.wei',
      'bodyvault case link 2026-0117 42 43',
      'bodyvault case list --status open',
    ],
  },
  hold: {
    summary: 'Places and releases legal holds: a held recording is never purged.',
    examples: ['bodyvault hold place 42 --reason "complaint 2026-33" --by li.na', 'bodyvault hold list'],
  },
  flag: {
    summary: "Retention flags (evidence-used, obstruction, major-incident, complaint): kept permanently; removed only with another supervisor's approval.",
    examples: [
      'bodyvault flag set 42 obstruction --reason "警情 2026-1187: 阻碍执法"',
      'bodyvault flag remove 3 --reason "entered on the wrong recording"',
      'bodyvault flag approve 3 --as supervisor.wang',
      'bodyvault flag list --pending',
    ],
  },
  retention: {
    summary: 'What is due when, by which rule; the nightly purge, now or as a dry run.',
    examples: ['bodyvault retention plan', 'bodyvault retention purge --dry-run', 'bodyvault retention show 42'],
  },
  stats: {
    summary: 'Monthly statistics (统计考核) per officer or unit, and handover on time (及时移交): a table, JSON, CSV or XLSX.',
    examples: ['bodyvault stats', 'bodyvault stats --month 2026-11 --by unit --format xlsx --out 2026-11.xlsx'],
  },
  report: {
    summary: 'Custody report (视听资料清单, chain of custody, checkpoint, how to verify) of a recording, a case or an export: PDF or HTML, Chinese or English.',
    examples: ['bodyvault report case 2026-0117 --out 2026-0117.pdf', 'bodyvault report recording 42 --lang en --out 42.html'],
  },
  review: {
    summary: 'Random review (随机抽查): a sample of N recordings per officer of a month, reproducible from its seed, and an outcome per item.',
    examples: ['bodyvault review sample --month 2026-11 --per-officer 2', 'bodyvault review outcome 1 42 wrong-category', 'bodyvault review show 1'],
  },
  notify: {
    summary: 'Notices by webhook and mail (notify.channels): a test notice on every channel, the daily, weekly or at-once notices now, the outbox.',
    examples: ['bodyvault notify test', 'bodyvault notify run weekly', 'bodyvault notify status'],
  },
  offload: {
    summary: 'The S3 offload queue and remote copies; a pass by hand.',
    examples: ['bodyvault offload status', 'bodyvault offload run --once'],
  },
  reindex: {
    summary:
      'Rebuilds the catalog of an empty data dir from the S3 bucket; objects already in the data dir are hashed whole and kept only when good (--fetch: the others are fetched too).',
    examples: ['BODYVAULT_DATA_DIR=/var/lib/bodyvault.new bodyvault reindex --from-s3 --fetch'],
  },
  'restore-object': {
    summary:
      'Brings evicted objects (a recording: its original and derivatives) back from the S3 bucket into the local vault, hashed on the way, each with a fetched-back event.',
    examples: ['bodyvault restore-object 42 43', 'bodyvault restore-object 42 --originals-only --by "J. Smith"'],
  },
  fixity: {
    summary: 'Re-hashes the vault objects that are due now (run --all: every local object), repairing what it can; status: what is due, failed, last checked.',
    examples: ['bodyvault fixity status', 'bodyvault fixity run --budget 50', 'bodyvault fixity run --all --json'],
  },
  backup: {
    summary:
      'A consistent backup of the vault, while the daemon runs: the catalog through SQLite online backup, new objects copied and hashed, keys and the other state files. Run it again into the same folder: only what is new is copied.',
    examples: ['bodyvault backup /mnt/nas/bodyvault', 'bodyvault backup /mnt/nas/bodyvault --json'],
  },
  restore: {
    summary: 'Restores a backup into an empty or new folder, checking every object on the way; then verify it and point the station at it.',
    examples: ['bodyvault restore /mnt/nas/bodyvault --to /var/lib/bodyvault.restored', 'BODYVAULT_DATA_DIR=/var/lib/bodyvault.restored bodyvault verify'],
  },
  'export-package': {
    summary: 'Writes a signed evidence package of recordings and records the export in the ledger.',
    examples: ['bodyvault export-package --recording 42 --reason "court 2026-88" --recipient "District court" --out /tmp/case-2026-0117.zip'],
  },
  'verify-package': {
    summary: "Checks an evidence package offline, against the station's published key.",
    examples: ['bodyvault verify-package case-2026-0117.zip --key station.pub.pem'],
  },
  checkpoint: {
    summary: 'Prints the latest signed ledger checkpoint, signing a new one first if the ledger grew.',
    examples: ['bodyvault checkpoint', 'bodyvault checkpoint --json'],
  },
  key: {
    summary:
      "The station's public signing key and its chain of keys: record its fingerprint where the station cannot change it. rotate: a new key with the old one at hand; replace: a new key when the old one is lost (the chain is broken, on the record).",
    examples: ['bodyvault key show', 'bodyvault key show --pem > station.pub.pem', 'bodyvault key rotate --reason "yearly rotation" --by "J. Smith"'],
  },
  media: {
    summary: 'The media queue (probe, proxy, thumbnail): status, run the jobs, retry failed ones.',
    examples: ['bodyvault media status', 'bodyvault media run --once', 'bodyvault media retry --all'],
  },
  doctor: {
    summary:
      'Checks the station: config, vault and its owner, the key, the listen address, mount roots, free space and days of footage left, ffmpeg and its encoders.',
    examples: ['bodyvault doctor', 'bodyvault doctor --json'],
  },
  unit: {
    summary: 'The units of the force (bureau > station > team): list, add, update, retire, and import or export a roster as CSV or XLSX.',
    examples: [
      'bodyvault unit add 110105 --name 朝阳分局 --level bureau',
      'bodyvault unit import units.xlsx',
      'bodyvault unit export --format csv --out units.csv',
    ],
  },
  officer: {
    summary: 'Officers by police number (警号, six digits): list, add, move between units, retire, and import or export a roster.',
    examples: [
      'bodyvault officer add 012345 --name 张伟 --unit 110105001',
      'bodyvault officer update 012345 --unit 110105002 --unit-from 2026-12-01',
      'bodyvault officer import officers.csv',
    ],
  },
  device: {
    summary:
      'Cameras by device number (设备编号): the register, who carries which (assigned for a period, or checked out for a shift), and roster import and export.',
    examples: ['bodyvault device assign A1B2C3D 012345 --from 2026-12-01', 'bodyvault device checkout P0001 012345', 'bodyvault device return P0001'],
  },
  finding: {
    summary: "What reconciliation found for a clerk to look at (an officer conflict, a gap in a camera's file counter, a clock off): list, show, resolve.",
    examples: ['bodyvault finding list', 'bodyvault finding resolve 7 --resolution "file 0005 deleted on the camera by its officer, see report 2026-118"'],
  },
  token: {
    summary: 'API tokens for clerks, supervisors, auditors and the dock screen (shown once).',
    examples: ['bodyvault token create --role clerk --name "desk 1"', 'bodyvault token create --role kiosk --name "dock screen"', 'bodyvault token revoke 3'],
  },
  user: {
    summary:
      "Named accounts (a person by police number, or a service account): create, list, show, disable, enable, reset a password, set roles, set an officer's PIN for the dock screen.",
    examples: [
      'bodyvault user create li.na --display 李娜 --police-no 012345 --unit 110105001 --role clerk',
      'bodyvault user reset-password li.na --as admin',
      'bodyvault user set-roles li.na clerk,supervisor --as admin',
      'BODYVAULT_PIN=58031 bodyvault user set-pin wang.wei --as admin',
    ],
  },
  login: {
    summary: 'Signs this OS user in as a person for the CLI (a session file only they can read, expiring): evidence commands record that person.',
    examples: [
      'bodyvault login li.na',
      'BODYVAULT_PASSWORD=... BODYVAULT_TOTP=123456 bodyvault login wang.fang',
      'bodyvault categorize 42 --category evidence',
      'BODYVAULT_PASSWORD=... bodyvault categorize 42 --category evidence --as li.na',
    ],
  },
  logout: {
    summary: "Ends this OS user's CLI session.",
    examples: ['bodyvault logout'],
  },
  '2fa': {
    summary:
      'Your second factor (TOTP): enrol with the QR code in the terminal, confirm with a first code (recovery codes shown once); an admin resets a lost one.',
    examples: [
      'bodyvault 2fa enrol',
      'bodyvault 2fa confirm 123456',
      'bodyvault 2fa reset wang.fang --as admin',
      'BODYVAULT_TOTP=123456 bodyvault hold place 42 --reason complaint',
    ],
  },
  tls: {
    summary: "The certificate the daemon serves over HTTPS, and its public key's SHA-256 for clerks' PCs to pin.",
    examples: ['bodyvault tls show', 'bodyvault tls show --json'],
  },
}
