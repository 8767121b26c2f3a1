/**
 * What a camera root is on this host: the mount table (proc(5)
 * mountinfo), whether the root is the root of a file system (and then its
 * UUID: the volume's identity), and whether the folder is a camera at all
 * (a mount root such as /media holds cameras, it is not one). The parsers
 * are pure; the rest are thin adapters over /proc, /dev/disk and blkid.
 */
import { execFile } from 'node:child_process'
import { readdir, readFile, realpath } from 'node:fs/promises'
import { isAbsolute, join, sep } from 'node:path'
import { BodyvaultError } from '../common/errors.js'

/** One line of /proc/self/mountinfo (proc(5)). */
export interface MountEntry {
  mountId: number
  parentId: number
  /** "major:minor" of the mounted device. */
  majorMinor: string
  /** Root of the mount inside its filesystem ("/" unless a bind mount of a sub-folder). */
  root: string
  mountPoint: string
  fstype: string
  /** e.g. /dev/sdb1, /dev/loop3 */
  source: string
  options: string
}

/** Undoes mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 back-slash). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
}

/** Parses /proc/self/mountinfo; malformed lines are skipped. Pure. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const dash = line.indexOf(' - ')
    if (dash < 0) continue
    const pre = line.slice(0, dash).split(' ')
    const post = line.slice(dash + 3).split(' ')
    if (pre.length < 6 || post.length < 2) continue
    const mountId = Number(pre[0])
    const parentId = Number(pre[1])
    if (!Number.isInteger(mountId) || !Number.isInteger(parentId)) continue
    out.push({
      mountId,
      parentId,
      majorMinor: pre[2]!,
      root: unescapeMountField(pre[3]!),
      mountPoint: unescapeMountField(pre[4]!),
      options: pre[5]!,
      fstype: post[0]!,
      source: unescapeMountField(post[1]!),
    })
  }
  return out
}

/** True when `path` is strictly inside `root` (both absolute, normalised). Pure. */
export function isInside(path: string, root: string): boolean {
  const r = root.endsWith(sep) ? root : root + sep
  return path.startsWith(r) && path.length > r.length
}

/** The mount a path lives on (the deepest mount point at or above it; the last of stacked mounts). Pure. */
export function mountOf(entries: MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined
  for (const e of entries) {
    if (e.mountPoint !== path && !isInside(path, e.mountPoint) && e.mountPoint !== '/') continue
    if (!best || e.mountPoint.length >= best.mountPoint.length) best = e
  }
  return best
}

/** Mount points strictly inside a folder. Pure. */
export function mountsInside(entries: MountEntry[], folder: string): string[] {
  return [...new Set(entries.filter((e) => isInside(e.mountPoint, folder)).map((e) => e.mountPoint))].sort()
}

export async function readMountTable(path = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  try {
    return parseMountInfo(await readFile(path, 'utf8'))
  } catch {
    return []
  }
}

/**
 * The UUID of the file system on a device node: udev's /dev/disk/by-uuid
 * link when there is one, else blkid's low-level probe (needs read access
 * to the device; given up after `timeoutMs`, since a hung device would
 * hang it). Null when neither tells.
 */
export async function fsUuid(source: string, o: { devDiskRoot?: string; timeoutMs?: number } = {}): Promise<string | null> {
  if (!isAbsolute(source)) return null // tmpfs, proc, overlay
  let target: string
  try {
    target = await realpath(source)
  } catch {
    return null
  }
  const byUuid = join(o.devDiskRoot ?? '/dev/disk', 'by-uuid')
  try {
    for (const n of (await readdir(byUuid)).sort()) {
      if ((await realpath(join(byUuid, n)).catch(() => '')) === target) return n
    }
  } catch {
    // no udev here
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), o.timeoutMs ?? 5000)
    timer.unref()
    execFile('blkid', ['-p', '-o', 'value', '-s', 'UUID', target], { timeout: o.timeoutMs ?? 5000, encoding: 'utf8' }, (err, stdout) => {
      clearTimeout(timer)
      const v = String(stdout ?? '').trim()
      resolve(err || !/^[0-9A-Fa-f-]{4,64}$/.test(v) ? null : v)
    })
  })
}

/** The file system whose root the camera root is (its type and UUID), or null when the root is a folder inside a larger one. */
export async function volumeFileSystem(realRoot: string, table: MountEntry[]): Promise<{ type: string; uuid: string } | null> {
  const m = mountOf(table, realRoot)
  if (!m || m.mountPoint !== realRoot || m.root !== '/') return null
  const uuid = await fsUuid(m.source)
  return uuid ? { type: m.fstype, uuid } : null
}

/** The folder given is not a camera: it holds cameras or mount points (a mount root such as /media). */
export class NotACameraError extends BodyvaultError {
  constructor(
    readonly root: string,
    readonly candidates: string[],
  ) {
    super(
      'NOT_A_CAMERA',
      `${root} is not a camera: it holds ${candidates.length === 1 ? 'a camera or mount point' : 'cameras or mount points'} (${candidates.join(', ')}); did you mean ${candidates[0]}?`,
    )
    this.name = 'NotACameraError'
  }
}

/**
 * Why a folder must not be ingested as one camera: the mount points inside
 * it, else its sub-folders that look like cameras (when it does not look
 * like one itself). Empty when it may be ingested.
 */
export async function camerasInside(realRoot: string, table: MountEntry[], looksLikeCamera: (folder: string) => Promise<boolean>): Promise<string[]> {
  const mounts = mountsInside(table, realRoot)
  if (mounts.length) return mounts
  if (await looksLikeCamera(realRoot)) return []
  const out: string[] = []
  let names: string[]
  try {
    names = await readdir(realRoot)
  } catch {
    return []
  }
  for (const n of names.sort()) {
    const p = join(realRoot, n)
    if (await looksLikeCamera(p)) out.push(p)
  }
  return out
}
