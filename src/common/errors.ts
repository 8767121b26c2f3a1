/**
 * The error catalogue: every stable code a user can meet, with its HTTP
 * status (what the API answers), its CLI exit code (0 ok, 1 problems found,
 * 2 bad usage, input or configuration, 3 environment; README "Exit codes")
 * and a default message. BodyvaultError takes both numbers from here, so
 * the API, the CLI and the stores cannot disagree about a code. A status of
 * 500 means "not the client's fault": the API logs the message and answers
 * INTERNAL without it. Other 5xx (503) are answered with their own code and
 * message: their messages name no path.
 *
 * A new code is a line here. Group by who raises it; keep the message a
 * sentence that says what to do.
 */
const catalogue = {
  // Command line, configuration, the data dir, the daemon.
  USAGE: [400, 2, 'bad usage: see bodyvault help'],
  CONFIG_INVALID: [500, 2, 'invalid configuration: fix the config file or the BODYVAULT_* variables'],
  DATA_DIR: [500, 2, 'the data dir cannot be created: set dataDir or BODYVAULT_DATA_DIR to a writable folder'],
  DATA_DIR_MISSING: [500, 3, "no vault at the data dir: point --config, BODYVAULT_CONFIG or BODYVAULT_DATA_DIR at the station's vault"],
  DATA_DIR_READONLY: [500, 3, 'the data dir is read-only: mount it read-write or fix its permissions'],
  DATA_DIR_OWNER: [500, 3, 'the data dir belongs to another user: run the command as that user (sudo -u OWNER bodyvault ...)'],
  DATA_DIR_IN_USE: [500, 3, 'another bodyvault daemon holds this data dir: stop it first, or give this one another data dir'],
  INGEST_SOURCE: [400, 2, 'the camera folder does not exist or is not a folder: give the folder of a mounted camera'],
  BACKUP_TARGET: [400, 2, 'the backup folder holds something other than a backup of this station: choose an empty folder or an earlier backup of it'],
  RESTORE_SOURCE: [400, 2, 'not a bodyvault backup: name a folder written by bodyvault backup'],
  RESTORE_NOT_EMPTY: [400, 2, 'restore writes into an empty or new folder only: nothing was changed'],
  LISTEN: [500, 3, 'cannot listen on the configured address: set listen in the config or BODYVAULT_LISTEN'],
  CATALOG_VERSION: [500, 3, 'the catalog schema version does not match this bodyvault'],
  CATALOG_MIGRATION: [500, 3, 'a catalog migration would break the catalog: nothing was changed'],
  // The vault's identity (docs/design.md, "The vault marker"): never a new catalog or key over existing evidence.
  CATALOG_MISSING: [
    500,
    3,
    'the catalog is missing or empty but the vault holds evidence: restore catalog.db from a backup, or rebuild it with bodyvault reindex --from-s3',
  ],
  CATALOG_SUBSTITUTED: [
    500,
    3,
    "the catalog is not this vault's (another genesis event): restore this vault's catalog.db from a backup, or rebuild it with bodyvault reindex --from-s3",
  ],
  CATALOG_CORRUPT: [500, 3, 'the catalog file is damaged: move catalog.db aside, then restore it from a backup or rebuild it with bodyvault reindex --from-s3'],
  VAULT_MARKER: [500, 3, 'the vault marker (vault.json in the data dir) is damaged: restore it from a backup'],
  NO_DAEMON: [500, 3, 'no bodyvault daemon answers at the configured address: start one with bodyvault start'],
  DAEMON_AUTH: [500, 3, "the daemon wants a credential: run status as the daemon's user, or set BODYVAULT_TOKEN"],
  DAEMON_HTTP: [500, 3, 'the daemon answered with an error: see its log'],
  // Docking.
  NOT_A_CAMERA: [400, 2, 'the folder is not a camera: it holds cameras or mount points (a mount root); name the camera folder itself'],
  NO_MEDIA: [422, 1, 'no media file on the volume: nothing was ingested; check that this is the camera volume'],
  DOCK_UNLOCK: [500, 1, 'the camera could not be unlocked: see the docking profile and the station log'],
  DOCK_IDENTITY: [500, 1, "the unlock command's identity output is unusable: see the docking profile"],
  // Keys, ledger, checkpoints.
  KEY_PERMISSIONS: [500, 3, 'the station key is readable by other users: chmod 600 it and consider it exposed'],
  KEY_INVALID: [500, 3, 'the station key cannot be read: restore it from backup'],
  KEY_MISMATCH: [
    500,
    3,
    'the station key file is missing or not the key the ledger names: restore it from a backup, or (if it is lost) bodyvault key replace --reason TEXT',
  ],
  KEY_AT_HAND: [400, 2, 'the station key is at hand: change it with bodyvault key rotate, which keeps the chain of keys unbroken'],
  LEDGER_INCONSISTENT: [500, 3, 'the ledger no longer matches its signed checkpoints: run bodyvault verify'],
  LEDGER_HASH: [500, 3, 'a ledger event hash is malformed: run bodyvault verify'],
  LEDGER_GAP: [500, 3, 'the ledger has missing event numbers: run bodyvault verify'],
  LEDGER_NO_EVENT: [500, 3, 'no such event in the ledger'],
  CHECKPOINT_KEY: [500, 3, 'a checkpoint is signed by another key than the station key: run bodyvault verify'],
  // Evidence packages.
  PACKAGE_REQUEST: [400, 2, 'the package request is incomplete: name recordings, a reason and a recipient'],
  PACKAGE_EXISTS: [400, 2, 'the output file already exists: packages are never overwritten'],
  PACKAGE_NO_RECORDING: [404, 2, 'no such recording: check the id (bodyvault recordings)'],
  PACKAGE_PURGED: [410, 2, 'a recording was purged under its retention rule and cannot be exported'],
  PACKAGE_OBJECT_MISSING: [409, 3, 'the vault has no local copy of an object of the package: restore it, then export again'],
  PACKAGE_OBJECT_CORRUPT: [500, 3, 'a vault object does not match its recorded hash: run bodyvault verify'],
  PACKAGE_WRITE: [500, 3, 'the package file cannot be written'],
  PACKAGE_NOT_FOUND: [404, 2, 'the package cannot be read: check the path'],
  PACKAGE_KEY_INVALID: [400, 2, 'the key must be an Ed25519 public key as PEM, a vkey string, or 64 hex digits'],
  // Vault objects and S3 offload.
  // Not the client's fault, but said as what it is (never INTERNAL): a 503 the API passes on with its code.
  OBJECT_MISSING: [503, 3, 'the object is neither in the local vault nor verified in S3: run bodyvault verify'],
  OBJECT_CORRUPT: [503, 3, 'the stored copy does not match its recorded SHA-256 and no good copy could be restored: see bodyvault fixity status'],
  OFFLOAD_DISABLED: [500, 2, 'offload is not configured: add an "offload" section to the config'],
  OFFLOAD_LOCAL_MISSING: [500, 3, 'the object is neither in the local vault nor verified in S3: run bodyvault verify'],
  OFFLOAD_NO_BUCKET: [500, 3, 'the bucket does not exist: create it with Object Lock enabled'],
  OFFLOAD_NO_OBJECT_LOCK: [500, 3, 'the bucket has no Object Lock: use a bucket created with Object Lock enabled'],
  REMOTE_CORRUPT: [500, 3, 'the remote copy does not hash to its recorded SHA-256: run bodyvault verify and check the bucket'],
  REINDEX_NOT_EMPTY: [400, 2, 'reindex --from-s3 rebuilds into an empty data dir'],
  REINDEX_CONFLICT: [500, 1, 'the bucket holds two different versions of some events: refusing to rebuild from it'],
  REINDEX_EMPTY: [500, 1, 'nothing to rebuild from in the bucket: check offload.bucket and offload.prefix'],
  // Recordings, cases, categories, holds, retention (the stores).
  RECORDING_NOT_FOUND: [404, 2, 'no such recording'],
  RECORDING_PURGED: [410, 2, 'the recording was purged under its retention rule; its ledger events remain'],
  CASE_NOT_FOUND: [404, 2, 'no such case'],
  CASE_NUMBER_INVALID: [400, 2, 'a case number is 1-64 letters, digits, CJK characters, brackets, . _ / -'],
  CASE_TYPE_UNKNOWN: [400, 2, 'unknown case type: see retention.caseTypes in the config'],
  CASE_EXISTS: [409, 2, 'a case with this number exists already'],
  CASE_CLOSED: [409, 2, 'the case is closed'],
  CASE_OPEN: [409, 2, 'the case is open'],
  LINK_EXISTS: [409, 2, 'the recording is already linked to the case'],
  LINK_MISSING: [400, 2, 'the recording is not linked to the case'],
  CATEGORY_UNKNOWN: [400, 2, 'unknown category: see retention.categories in the config'],
  CATEGORY_UNCHANGED: [409, 2, 'the recording already has this category'],
  IMPORTANCE_UNCHANGED: [409, 2, 'the recording is already marked so'],
  HOLD_NOT_FOUND: [404, 2, 'no such legal hold'],
  HOLD_RELEASED: [409, 2, 'the legal hold is already released'],
  MARKER_POSITION: [400, 2, 'a marker is a time within the recording: from 0 to its duration'],
  REPORT_FONT_MISSING: [503, 3, "the CJK font for custody reports is missing: install Debian's fonts-noto-cjk (scripts/ensure-system-deps)"],
  // Retention flags (issue 20): set by a clerk, removed with another person's approval.
  FLAG_UNKNOWN: [400, 2, 'the retention flag is not configured (config retention.flags)'],
  FLAG_NOT_FOUND: [404, 2, 'no such retention flag'],
  FLAG_SET: [409, 2, 'the recording already carries this flag'],
  FLAG_REMOVED: [409, 2, 'the flag was already removed'],
  FLAG_REMOVAL_REQUESTED: [409, 2, "the flag's removal is already asked for: a supervisor approves it or it is withdrawn"],
  FLAG_REMOVAL_NOT_REQUESTED: [409, 2, "the flag's removal was not asked for: ask first (flag remove)"],
  FLAG_SELF_APPROVAL: [403, 2, 'who set the flag or asked for its removal cannot approve it: another supervisor (another police number) must'],
  REASON_REQUIRED: [400, 2, 'a reason is required: at least 4 visible characters (2 Chinese characters), no control characters'],
  REASON_TOO_LONG: [400, 2, 'the reason is longer than 2000 characters'],
  DATE_IN_FUTURE: [400, 2, 'the date is in the future'],
  DATE_ORDER: [400, 2, 'the dates are out of order'],
  PURGE_AHEAD_OF_CLOCK: [400, 2, 'only a dry run may look ahead of the clock'],
  PURGE_RUNNING: [409, 1, 'another purge is running: try again when it has finished'],
  // API tokens and export approvals.
  TOKEN_NAME: [400, 2, 'a token needs a name of 1 to 100 characters (who or what uses it)'],
  TOKEN_OFFICER: [400, 2, 'an officer token must name its officer (--officer POLICE_NO)'],
  TOKEN_NOT_FOUND: [404, 2, 'no such token (bodyvault token list shows them)'],
  EXPORT_NOT_FOUND: [404, 2, 'no such export request'],
  SELF_APPROVAL: [403, 2, 'the requester cannot decide its own export request: another supervisor must'],
  ALREADY_DECIDED: [409, 2, 'the export request is already decided'],
  NOT_APPROVED: [409, 2, 'only an approved export request can be downloaded'],
  // The registry: units, officers, devices, assignments, rosters, findings.
  REGISTRY_INVALID: [400, 2, 'the registry entry is invalid: see the message for the field and what it must be'],
  REGISTRY_NOT_FOUND: [404, 2, 'no such unit, officer, device or assignment (bodyvault unit|officer|device list)'],
  REGISTRY_EXISTS: [409, 2, 'the unit, officer or device exists already: use update'],
  ASSIGNMENT_OVERLAP: [409, 2, 'the device is already assigned or checked out for part of this period: end that first'],
  ROSTER_INVALID: [400, 2, 'the roster has bad rows: nothing was imported; fix the rows listed and import again'],
  FINDING_NOT_FOUND: [404, 2, 'no such finding (bodyvault finding list)'],
  FINDING_RESOLVED: [409, 2, 'the finding is already resolved'],
  DOWNLOAD_LIMIT: [409, 2, 'the downloads this approval allows are used up: a supervisor must approve the export again'],
  NOT_REQUESTER: [403, 2, 'only the person who requested the export can download it'],
  // Accounts, passwords, sign-in, sessions.
  USER_NOT_FOUND: [404, 2, 'no such account (bodyvault user list shows them)'],
  USER_EXISTS: [409, 2, 'an account with this user name exists already'],
  USER_INVALID: [400, 2, 'the account is incomplete or malformed: see bodyvault user create --help'],
  USER_DISABLED: [409, 2, 'the account is disabled'],
  LAST_ADMIN: [409, 2, 'this is the last enabled admin: make another admin first'],
  PASSWORD_POLICY: [400, 2, 'the new password does not meet the password policy'],
  PASSWORD_CHANGE_REQUIRED: [403, 2, 'the password must be changed before this account can sign in: send a new password'],
  SIGN_IN_FAILED: [401, 2, 'wrong user name or password'],
  SIGN_IN_LOCKED: [429, 2, 'too many failed sign-ins: wait, then try again'],
  SECOND_FACTOR_REQUIRED: [401, 2, 'this account needs its second factor'],
  SESSION_REQUIRED: [401, 2, 'sign in first: bodyvault login, or --as USER'],
  CSRF: [403, 2, 'a request under a session cookie needs its X-CSRF-Token header and a matching Origin'],
  // The officer at the dock screen (issue 19).
  PIN_POLICY: [400, 2, 'a PIN is 4 to 8 digits and not an obvious one (1234, 0000, a year, the police number)'],
  DOCK_SIGN_FAILED: [401, 2, 'wrong police number or PIN'],
  DOCK_INPUT_OFF: [403, 2, "this station takes no officer's input at the dock (docking.officerInput in the config)"],
  NOT_YOUR_RECORDING: [403, 2, "the recording is not this officer's, or not from this docking"],
  ALREADY_CLASSIFIED: [409, 2, 'a clerk has already classified this recording: ask a clerk to change it'],
  DOCK_SESSION: [409, 2, 'this docking is not finished, or too old to classify at the dock'],
  NOT_DOCKED: [409, 2, 'the device is not docked at this station now'],
  NOT_POOL: [409, 2, 'the device is not a pool camera free to check out, or not checked out to this officer'],
  // Second factor and directory sign-in (issue 23).
  STEP_UP_REQUIRED: [401, 2, 'this act needs your second factor again: give the code from your authenticator (POST /v1/session/step-up), then repeat it'],
  SECOND_FACTOR_INVALID: [401, 2, 'the code is wrong, used already or too old: give the next code your authenticator shows, or a recovery code'],
  SECOND_FACTOR_ENROLMENT_REQUIRED: [403, 2, 'your role needs a second factor: enrol one first (/account/security, or bodyvault 2fa enrol)'],
  STEP_UP_SESSION_REQUIRED: [
    403,
    2,
    'this act needs a fresh second factor, which a bearer token cannot give: do it signed in with your second factor (the web page, or bodyvault login then the command)',
  ],
  SERVICE_ROLE: [400, 2, 'a service account cannot hold the supervisor role: approvals, holds and flag removals need a person with a second factor'],
  SECOND_FACTOR_EXISTS: [409, 2, 'a second factor is enrolled already: an admin resets it (bodyvault 2fa reset USER) before a new one is enrolled'],
  SECOND_FACTOR_NOT_ENROLLED: [409, 2, 'no second factor is enrolled for this account'],
  SECOND_FACTOR_KEY: [500, 3, "the second-factor key (keys/second-factor.key in the data dir) is missing or unreadable: restore it from the station's backup"],
  DIRECTORY_UNAVAILABLE: [503, 3, 'the directory does not answer: local accounts (break-glass admins) can still sign in; check auth.ldap and the network'],
  DIRECTORY_NO_ROLE: [403, 2, 'the directory puts you in no group that has a role at this station: ask the directory admin'],
  DIRECTORY_ACCOUNT: [409, 2, 'this account comes from the directory: change its password, name or groups there'],
  // HTTP.
  BAD_REQUEST: [400, 2, 'the request is malformed'],
  BAD_CURSOR: [400, 2, 'the cursor is not one this search returned'],
  BAD_RANGE: [400, 2, 'Range must look like bytes=START-END'],
  RANGE_NOT_SATISFIABLE: [416, 2, 'the range starts after the end of the object'],
  NO_DERIVATIVE: [404, 2, 'no proxy or thumbnail yet (bodyvault media status shows the queue)'],
  NO_GPS_TRACK: [404, 2, 'the recording has no GPS track (no sidecar with positions beside it)'],
  UNAUTHENTICATED: [401, 2, 'send Authorization: Bearer <token> (bodyvault token create makes one)'],
  FORBIDDEN: [403, 2, 'this role may not do this'],
  NOT_FOUND: [404, 2, 'no such route'],
  PAYLOAD_TOO_LARGE: [413, 2, 'the request body is too large'],
  UNSUPPORTED_MEDIA_TYPE: [415, 2, 'send the body as application/json'],
  HEADERS_TOO_LARGE: [431, 2, 'the request headers are too large'],
  RATE_LIMITED: [429, 3, 'too many requests: retry later'],
  INTERNAL: [500, 3, 'internal error: the station log has the details'],
} as const satisfies Record<string, readonly [http: number, exit: 0 | 1 | 2 | 3, message: string]>

export type ErrorCode = keyof typeof catalogue

export interface ErrorSpec {
  /** The HTTP status the API answers with. */
  http: number
  /** The CLI's exit code. */
  exit: number
  message: string
}

/** The catalogue as a table (code -> HTTP status, exit code, default message), for docs and tests. */
export const ERRORS: Readonly<Record<ErrorCode, ErrorSpec>> = Object.freeze(
  Object.fromEntries(Object.entries(catalogue).map(([code, [http, exit, message]]) => [code, { http, exit, message }])) as Record<ErrorCode, ErrorSpec>,
)

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(catalogue, code)
}

/**
 * Errors that reach a user: a catalogued `code`, a message that says what
 * to do (the catalogue's default if none is given), and the HTTP status and
 * exit code the catalogue gives that code.
 */
export class BodyvaultError extends Error {
  readonly code: string
  readonly exitCode: number
  readonly httpStatus: number
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown })
  /**
   * @deprecated The catalogue holds each code's exit code: drop the number
   * (`new BodyvaultError(code, message)`). Kept so that callers move over one
   * by one; the number is used only for a code the catalogue lacks, which
   * test/errors.test.ts refuses.
   */
  constructor(code: string, message: string, exitCode: number, options?: { cause?: unknown })
  constructor(code: string, message?: string, a?: number | { cause?: unknown }, b?: { cause?: unknown }) {
    const known = isErrorCode(code) ? ERRORS[code] : undefined
    super(message ?? known?.message ?? code, typeof a === 'object' ? a : b)
    this.name = 'BodyvaultError'
    this.code = code
    this.exitCode = known?.exit ?? (typeof a === 'number' ? a : 3)
    this.httpStatus = known?.http ?? 500
  }
}

/** Bad configuration: names the key and what is wrong. Exit code 2. */
export class ConfigError extends BodyvaultError {
  constructor(message: string) {
    super('CONFIG_INVALID', message)
    this.name = 'ConfigError'
  }
}

/** Bad input on the command line (unknown option, missing argument). Exit code 2. */
export class UsageError extends BodyvaultError {
  constructor(message: string) {
    super('USAGE', message)
    this.name = 'UsageError'
  }
}

/** The errno-style code of a Node system error, if any. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = (err as { code: unknown }).code
    return typeof c === 'string' ? c : undefined
  }
  return undefined
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
