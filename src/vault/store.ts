import { constants as C, mkdirSync } from 'node:fs'
import { chmod, mkdir, open, readdir, rename, rm, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { BodyvaultError } from '../common/errors.js'

/**
 * The local content-addressed vault under the data dir:
 *   objects/<first 2 hex>/<sha256>   verified originals and derivatives, mode 0444
 *   staging/<pid>-<random>.part      bytes being copied; never trusted
 *   quarantine/<sha256>.<time>.bad   a local copy that failed its check, kept aside when a good one replaced it
 *   catalog.db                       the SQLite catalog and ledger
 */
export class Vault {
  readonly dataDir: string
  readonly objectsDir: string
  readonly stagingDir: string
  readonly catalogPath: string

  constructor(dataDir: string) {
    this.dataDir = dataDir
    this.objectsDir = join(dataDir, 'objects')
    this.stagingDir = join(dataDir, 'staging')
    this.catalogPath = join(dataDir, 'catalog.db')
  }

  /** Creates the folders; a data dir that cannot be created says so and what to do. */
  ensureLayout(): void {
    for (const d of [this.dataDir, this.objectsDir, this.stagingDir]) {
      try {
        mkdirSync(d, { recursive: true, mode: 0o750 })
      } catch (err) {
        throw new BodyvaultError(
          'DATA_DIR',
          `cannot create data folder ${d}: ${(err as Error).message}. Set dataDir in the config or BODYVAULT_DATA_DIR to a writable folder.`,
          2,
        )
      }
    }
  }

  objectPath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TypeError(`not a sha256: ${sha256}`)
    return join(this.objectsDir, sha256.slice(0, 2), sha256)
  }

  stagingPath(): string {
    return join(this.stagingDir, `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}.part`)
  }

  /**
   * Removes staging leftovers of processes that are gone (a crash, a kill -9).
   * Files of live processes (another ingest running now) are left alone.
   */
  async cleanStaging(): Promise<string[]> {
    const removed: string[] = []
    let names: string[]
    try {
      names = await readdir(this.stagingDir)
    } catch {
      return removed
    }
    for (const name of names) {
      const pid = Number(name.split('-', 1)[0])
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) continue
      if (pid === process.pid) continue
      await rm(join(this.stagingDir, name), { force: true })
      removed.push(name)
    }
    return removed
  }

  /**
   * Moves a verified, fsynced staging file into objects/ under its hash:
   * read-only mode, atomic rename (identical content replaces identical
   * content), then fsync of the folder so the name survives a power cut.
   */
  async commitObject(stagingFile: string, sha256: string): Promise<string> {
    const target = this.objectPath(sha256)
    const dir = join(this.objectsDir, sha256.slice(0, 2))
    await mkdir(dir, { recursive: true, mode: 0o750 })
    await chmod(stagingFile, 0o444)
    await rename(stagingFile, target)
    await fsyncDir(dir)
    return target
  }

  /**
   * Moves a bad local copy of an object aside, to quarantine/<sha256>.<time>.bad
   * (never served, never deleted by bodyvault: what was wrong with it may
   * matter), so that a good copy can take its name. Null when there is none.
   */
  async quarantine(sha256: string, at: Date): Promise<string | null> {
    const dir = join(this.dataDir, 'quarantine')
    await mkdir(dir, { recursive: true, mode: 0o750 })
    const aside = join(dir, `${sha256}.${at.toISOString().replace(/[:.]/g, '-')}.bad`)
    try {
      await rename(this.objectPath(sha256), aside)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    await fsyncDir(dir)
    return aside
  }

  /** Puts a quarantined copy back under its name (no good copy came instead). */
  async unquarantine(aside: string, sha256: string): Promise<void> {
    await mkdir(join(this.objectsDir, sha256.slice(0, 2)), { recursive: true, mode: 0o750 })
    await rename(aside, this.objectPath(sha256))
  }

  /** Free bytes for an unprivileged writer on the data dir's file system. */
  async freeBytes(): Promise<number> {
    const s = await statfs(this.dataDir)
    return s.bavail * s.bsize
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, C.O_RDONLY | C.O_DIRECTORY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
