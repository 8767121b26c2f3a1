/**
 * Where the vault is, and who may touch it, settled before anything in it
 * is touched (openStation calls this first):
 * - a command that only reads never creates a data dir: no vault there is
 *   DATA_DIR_MISSING (exit 3), naming the path and how it was chosen;
 * - root acting on a data dir that another user owns (the service user)
 *   becomes that user, so that no file of the vault ends up owned by root;
 *   another user is refused with the exact command to run instead;
 * - a data dir that cannot be written is DATA_DIR_READONLY (exit 3).
 */
import { constants as C, accessSync, existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'

export interface DataDirOptions {
  /** May this command make a new vault here (start, ingest, reindex, restore)? */
  create: boolean
  /** Become the data dir's owner when running as root (the CLI; never a test process). */
  switchUser: boolean
  /** How the data dir was chosen, for the messages. */
  from: string
}

/** What a data dir holds when it is a vault: the catalog, or the vault marker. */
export function isVault(dataDir: string): boolean {
  return existsSync(join(dataDir, 'catalog.db')) || existsSync(join(dataDir, 'vault.json'))
}

/** The folder itself, or its nearest existing ancestor (whose owner a new data dir will have). */
function nearestExisting(path: string): string {
  let p = path
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p)
  return p
}

const HOW = 'use --config FILE, BODYVAULT_CONFIG or BODYVAULT_DATA_DIR (an installed station reads /etc/bodyvault/config.json)'

export function prepareDataDir(dataDir: string, o: DataDirOptions): void {
  const exists = existsSync(dataDir)
  if (!o.create && !exists) throw new BodyvaultError('DATA_DIR_MISSING', `no vault at ${dataDir} (${o.from}); nothing was created: ${HOW}`)
  const owner = statSync(nearestExisting(dataDir))
  if (o.switchUser) becomeOwner(dataDir, owner.uid, owner.gid)
  if (!o.create && !isVault(dataDir))
    throw new BodyvaultError('DATA_DIR_MISSING', `${dataDir} (${o.from}) holds no vault (no catalog.db); nothing was created: ${HOW}`)
  const target = exists ? dataDir : nearestExisting(dataDir)
  try {
    accessSync(target, C.W_OK)
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'EROFS')
      throw new BodyvaultError('DATA_DIR_READONLY', `the data dir ${dataDir} is on a read-only file system: mount it read-write (${errorMessage(err)})`)
    if (exists && process.getuid?.() !== owner.uid)
      throw new BodyvaultError(
        'DATA_DIR_OWNER',
        `the data dir ${dataDir} belongs to ${userName(owner.uid)} and this command runs as ${userName(process.getuid?.() ?? -1)}: run it as the owner: ${commandAs(userName(owner.uid))}`,
      )
    throw new BodyvaultError(
      'DATA_DIR_READONLY',
      `the data dir ${exists ? dataDir : `${dataDir} cannot be created: ${target}`} is not writable for ${userName(process.getuid?.() ?? -1)} (${code ?? errorMessage(err)}): fix its permissions, or ${HOW}`,
    )
  }
}

/**
 * Root becomes the data dir's owner (group and supplementary groups first,
 * then the user): every file the command writes then belongs to the
 * service user, as the daemon's own files do.
 */
function becomeOwner(dataDir: string, uid: number, gid: number): void {
  if (process.getuid?.() !== 0 || uid === 0 || !process.setuid || !process.setgid) return
  const name = userName(uid)
  try {
    process.setgid(gid)
    // process.initgroups (POSIX) is missing from @types/node 20.
    const initgroups = (process as { initgroups?: (user: string, extraGroup: number) => void }).initgroups
    if (initgroups && name !== String(uid)) initgroups.call(process, name, gid)
    else process.setgroups?.([gid])
    process.setuid(uid)
  } catch (err) {
    throw new BodyvaultError(
      'DATA_DIR_OWNER',
      `the data dir ${dataDir} belongs to ${name}, and switching to that user failed (${errorMessage(err)}): run it as the owner: ${commandAs(name)}`,
    )
  }
  process.umask(0o027)
}

/** The login name of a uid, from /etc/passwd; the number when it has none. */
export function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':')
      if (f[2] === String(uid) && f[0]) return f[0]
    }
  } catch {
    // no /etc/passwd (some containers): the number says it
  }
  return String(uid)
}

/** The command line of this process, run as `user` with the same configuration. */
export function commandAs(user: string): string {
  const env = ['BODYVAULT_CONFIG', 'BODYVAULT_DATA_DIR'].filter((k) => process.env[k]).map((k) => `${k}=${shellQuote(process.env[k]!)}`)
  const argv = [process.execPath, ...process.argv.slice(1)].map(shellQuote)
  return ['sudo', '-u', user, ...(env.length ? ['env', ...env] : []), ...argv].join(' ')
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}
