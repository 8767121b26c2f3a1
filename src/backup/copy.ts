/**
 * The file copies a backup and a restore are made of: vault objects copied
 * while hashed (a copy counts only when its SHA-256 is its name), and the
 * data dir's other state files (keys, the vault marker, the checkpoint log,
 * whatever a part keeps there) found by walking, so that a file a part adds
 * later is backed up without anyone teaching this module about it.
 */
import { createHash } from 'node:crypto'
import { constants as C, type Dirent } from 'node:fs'
import { chmod, copyFile, lstat, mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fsyncDir } from '../vault/store.js'

/**
 * Top-level entries of a data dir that are not state files: the objects and
 * the catalog (copied their own way), files in flight (staging), the
 * running daemon's files (run: its lock, its status credential), the
 * pre-migration catalog snapshots, and a backup's own description.
 */
const NOT_STATE = new Set(['objects', 'staging', 'run', 'snapshots', 'backup.json', 'catalog.db', 'catalog.db-wal', 'catalog.db-shm', 'catalog.db-journal'])

export interface ObjectEntry {
  sha256: string
  size: number
}

/** The objects of a data dir (objects/<2 hex>/<sha256>), with their sizes. */
export async function listObjects(dataDir: string): Promise<ObjectEntry[]> {
  const root = join(dataDir, 'objects')
  const out: ObjectEntry[] = []
  let prefixes: string[]
  try {
    prefixes = await readdir(root)
  } catch {
    return out
  }
  for (const p of prefixes.sort()) {
    if (!/^[0-9a-f]{2}$/.test(p)) continue
    for (const name of (await readdir(join(root, p))).sort()) {
      if (!/^[0-9a-f]{64}$/.test(name) || !name.startsWith(p)) continue
      try {
        const s = await lstat(join(root, p, name))
        if (s.isFile()) out.push({ sha256: name, size: s.size })
      } catch {
        // purged between the listing and the stat
      }
    }
  }
  return out
}

export type ObjectCopy = { outcome: 'copied'; size: number } | { outcome: 'gone' } | { outcome: 'corrupt'; actual: string }

/**
 * Copies one object into `destDir`'s objects/, hashing what it reads: the
 * copy goes to staging, is fsynced, and takes its name only when its hash is
 * its name (a source that does not hash to its name is reported, never
 * copied as good). `onBytes` counts progress.
 */
export async function copyObject(srcDir: string, destDir: string, sha256: string, chunk: number, onBytes?: (n: number) => void): Promise<ObjectCopy> {
  const src = join(srcDir, 'objects', sha256.slice(0, 2), sha256)
  let fin: Awaited<ReturnType<typeof open>>
  try {
    fin = await open(src, C.O_RDONLY | C.O_NOFOLLOW)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { outcome: 'gone' }
    throw err
  }
  const tmp = join(destDir, 'staging', `${process.pid}-${sha256.slice(0, 16)}-${Math.random().toString(36).slice(2, 8)}.part`)
  const fout = await open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600)
  const h = createHash('sha256')
  let size = 0
  try {
    const buf = Buffer.allocUnsafe(chunk)
    for (;;) {
      const { bytesRead } = await fin.read(buf, 0, chunk, size)
      if (bytesRead === 0) break
      const part = buf.subarray(0, bytesRead)
      h.update(part)
      await fout.write(part, 0, bytesRead, size)
      size += bytesRead
      onBytes?.(bytesRead)
    }
    await fout.sync()
  } finally {
    await fin.close()
    await fout.close()
  }
  const actual = h.digest('hex')
  if (actual !== sha256) {
    await rm(tmp, { force: true })
    return { outcome: 'corrupt', actual }
  }
  const dir = join(destDir, 'objects', sha256.slice(0, 2))
  await mkdir(dir, { recursive: true, mode: 0o750 })
  await chmod(tmp, 0o444)
  await rename(tmp, join(dir, sha256))
  return { outcome: 'copied', size }
}

/** fsyncs the object folders a run wrote into, so that the names survive a power cut. */
export async function syncObjectDirs(destDir: string, shas: Iterable<string>): Promise<void> {
  for (const p of new Set([...shas].map((s) => s.slice(0, 2)))) await fsyncDir(join(destDir, 'objects', p))
}

/** The state files of a data dir (every regular file outside NOT_STATE), relative to it. */
export async function listStateFiles(dataDir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const p = join(dir, e.name)
      const rel = relative(dataDir, p)
      if (dir === dataDir && NOT_STATE.has(e.name)) continue
      if (e.name.endsWith('.tmp') || e.name.endsWith('.part')) continue // being written: the next run takes it
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) out.push(rel)
    }
  }
  await walk(dataDir)
  return out.sort()
}

/**
 * Copies a state file unless the target has the same size and time already;
 * keeps its mode (a key stays 0600, its folder 0700) and its time. Written
 * beside the target and renamed, so a reader never sees half a key.
 */
export async function copyStateFile(srcDir: string, destDir: string, rel: string): Promise<boolean> {
  const src = join(srcDir, rel)
  const dest = join(destDir, rel)
  const s = await stat(src)
  const d = await stat(dest).catch(() => null)
  if (d && d.size === s.size && d.mtimeMs === s.mtimeMs) return false
  const parent = join(dest, '..')
  const parentMode = (await stat(join(src, '..'))).mode & 0o777
  await mkdir(parent, { recursive: true, mode: parentMode })
  const tmp = `${dest}.${process.pid}.tmp`
  await copyFile(src, tmp)
  await chmod(tmp, s.mode & 0o777)
  await utimes(tmp, s.atime, s.mtime)
  const fh = await open(tmp, C.O_RDONLY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, dest)
  return true
}
