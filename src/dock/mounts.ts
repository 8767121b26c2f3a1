import { EventEmitter } from 'node:events'
import { lstat, readdir, readFile, realpath } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { isInside, type MountEntry, parseMountInfo, unescapeMountField } from '../ingest/volume.js'
import { treeSignature } from './settle.js'

export { isInside, type MountEntry, parseMountInfo, unescapeMountField }

/**
 * Mount points strictly under a mount root. Where mounts stack on one
 * point, the last (top) one wins. Pure.
 */
export function mountsUnder(entries: MountEntry[], roots: string[]): MountEntry[] {
  const byPoint = new Map<string, MountEntry>()
  for (const e of entries) if (roots.some((r) => isInside(e.mountPoint, r))) byPoint.set(e.mountPoint, e)
  return [...byPoint.values()]
}

export interface UsbOfVolume {
  vendorId: string
  productId: string
  serial: string | null
  /** sysfs name of the USB device, e.g. "1-1.2" (the same as UsbDeviceInfo.port). */
  port: string
}

async function readTrim(path: string): Promise<string | null> {
  try {
    const v = (await readFile(path, 'utf8')).trim()
    return v === '' ? null : v
  } catch {
    return null
  }
}

/**
 * The USB device behind a block device, from sysfs: /sys/dev/block/<maj:min>
 * links into /sys/devices/...; the first folder up the chain with idVendor
 * and idProduct is the USB device (its name is the port path). Null for a
 * block device that is not on USB (a loop device, a SATA disk).
 */
export async function usbForBlock(majorMinor: string, sysRoot = '/sys'): Promise<UsbOfVolume | null> {
  if (!/^\d+:\d+$/.test(majorMinor)) return null
  let dir: string
  try {
    dir = await realpath(join(sysRoot, 'dev', 'block', majorMinor))
  } catch {
    return null
  }
  const stop = resolve(sysRoot)
  while (isInside(dir, stop)) {
    const vendor = await readTrim(join(dir, 'idVendor'))
    const product = await readTrim(join(dir, 'idProduct'))
    if (vendor && product) {
      return { vendorId: vendor.toLowerCase(), productId: product.toLowerCase(), serial: await readTrim(join(dir, 'serial')), port: basename(dir) }
    }
    dir = dirname(dir)
  }
  return null
}

/** The /dev/disk/by-id name of a device node (e.g. usb-ZFY_DSJ-V9_0123456-0:0-part1), when udev made one. */
export async function diskIdFor(source: string, devDiskRoot = '/dev/disk'): Promise<string | null> {
  if (!isAbsolute(source)) return null // tmpfs, proc, a network share
  let target: string
  let names: string[]
  try {
    target = await realpath(source)
    names = await readdir(join(devDiskRoot, 'by-id'))
  } catch {
    return null
  }
  for (const n of names.sort()) {
    try {
      if ((await realpath(join(devDiskRoot, 'by-id', n))) === target) return n
    } catch {
      // dangling link
    }
  }
  return null
}

/** A candidate camera volume. */
export interface Volume {
  /** Mount point, or a folder under a mount root. */
  path: string
  kind: 'mount' | 'folder'
  /** For mounts: device node, file system, device number and mountinfo id. */
  source: string | null
  fstype: string | null
  majorMinor: string | null
  mountId: number | null
  /** The USB device behind it, where sysfs tells. */
  usb: UsbOfVolume | null
  diskId: string | null
}

export interface MountWatcherOptions {
  /** Folders under which volumes appear (e.g. /media, /run/media); absolute. */
  roots: string[]
  pollMs: number
  /** A folder under a root is a candidate once its tree stood still this long (0: at once). */
  settleMs?: number
  /** Whether a plain folder under a root looks like a camera (the daemon checks profile markers). */
  isCameraFolder: (path: string) => Promise<boolean>
  logger: Logger
  mountinfoPath?: string
  sysRoot?: string
  devDiskRoot?: string
}

export interface MountWatcherEvents {
  added: [Volume]
  removed: [Volume]
}

/** Whether `p` is still a folder on the device `dev` (not a mount point since, and still there). */
async function onDevice(p: string, dev: number): Promise<boolean> {
  try {
    return (await lstat(p)).dev === dev
  } catch {
    return false
  }
}

/**
 * Notices camera volumes coming and going: mount points under the mount
 * roots in the mount table (polled), and folders appearing directly under a
 * root that carry a profile's volume markers (chokidar wakes a scan at
 * once; the poll is the safety net, and the only way to see a mount, which
 * makes no inotify event in the parent folder). Emits `added` once per
 * volume and `removed` when it vanishes (a different mount at the same
 * point is a removal and an addition).
 */
export class MountWatcher extends EventEmitter<MountWatcherEvents> {
  private readonly known = new Map<string, Volume>()
  private timer: NodeJS.Timeout | undefined
  private chok: FSWatcher | undefined
  private scanning: Promise<void> | undefined
  private again = false
  private stopped = true
  private warned = new Set<string>()
  /** Folders under a root not yet settled (or settled and not a camera): their tree signature and since when it held. */
  private readonly settling = new Map<string, { sig: string; since: number; notCamera: boolean }>()

  constructor(private readonly o: MountWatcherOptions) {
    super()
  }

  get volumes(): Volume[] {
    return [...this.known.values()]
  }

  /** Starts watching; resolves after the first scan (volumes present at start are emitted). */
  async start(): Promise<void> {
    this.stopped = false
    this.chok = watch(this.o.roots, { depth: 0, ignoreInitial: true, persistent: true, ignorePermissionErrors: true })
    const wake = (): void => void this.scan()
    this.chok.on('addDir', wake).on('unlinkDir', wake).on('add', wake).on('unlink', wake)
    this.chok.on('error', (err) => this.o.logger.warn({ event: 'mounts.watch_error', err: errorMessage(err) }, 'mount root watcher error (the poll continues)'))
    await this.scan()
    const tick = (): void => {
      if (this.stopped) return
      void this.scan().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.pollMs)
      })
    }
    this.timer = setTimeout(tick, this.o.pollMs)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.chok?.close()
    this.chok = undefined
    await this.scanning
  }

  /** One pass over the mount table and the roots; concurrent calls coalesce. */
  scan(): Promise<void> {
    if (this.scanning) {
      this.again = true
      return this.scanning
    }
    this.scanning = (async () => {
      do {
        this.again = false
        try {
          await this.scanOnce()
        } catch (err) {
          this.o.logger.error({ event: 'mounts.scan_failed', err: errorMessage(err) }, 'mount scan failed')
        }
      } while (this.again && !this.stopped)
    })().finally(() => {
      this.scanning = undefined
    })
    return this.scanning
  }

  private async scanOnce(): Promise<void> {
    const roots: string[] = []
    for (const r of this.o.roots) {
      try {
        roots.push(await realpath(r))
      } catch {
        // a root that does not exist (yet): nothing under it
      }
    }
    let table: MountEntry[] = []
    const mi = this.o.mountinfoPath ?? '/proc/self/mountinfo'
    try {
      table = parseMountInfo(await readFile(mi, 'utf8'))
    } catch (err) {
      this.warnOnce(
        mi,
        { event: 'mounts.table_unreadable', path: mi, err: errorMessage(err) },
        'cannot read the mount table: only folders under the mount roots are seen',
      )
    }
    const current = new Map<string, Volume>()
    for (const e of mountsUnder(table, roots)) {
      const prev = this.known.get(e.mountPoint)
      if (prev && prev.kind === 'mount' && prev.mountId === e.mountId) {
        current.set(e.mountPoint, prev)
        continue
      }
      current.set(e.mountPoint, {
        path: e.mountPoint,
        kind: 'mount',
        source: e.source,
        fstype: e.fstype,
        majorMinor: e.majorMinor,
        mountId: e.mountId,
        usb: await usbForBlock(e.majorMinor, this.o.sysRoot),
        diskId: await diskIdFor(e.source, this.o.devDiskRoot),
      })
    }
    const seen = new Set<string>()
    for (const r of roots) {
      let names: string[]
      let rootDev: number
      try {
        names = await readdir(r)
        rootDev = (await lstat(r)).dev
      } catch {
        continue
      }
      for (const n of names.sort()) {
        if (n.startsWith('.')) continue
        const p = join(r, n)
        if (current.has(p)) continue
        const prev = this.known.get(p)
        try {
          const st = await lstat(p)
          if (!st.isDirectory()) continue
          if (st.dev !== rootDev) {
            // Mounted after the mount table was read: a mount, not a folder; the next pass sees it as one.
            this.again = true
            continue
          }
        } catch {
          continue
        }
        if (prev && prev.kind === 'folder') {
          current.set(p, prev)
          continue
        }
        seen.add(p)
        if (await this.settled(p)) {
          // Mounted while it was looked at (an empty mount point whose camera was mounted between the lstat above and the
          // camera check, which then saw the mounted camera): a mount, not a folder; the next pass sees it as one.
          if (!(await onDevice(p, rootDev))) {
            this.again = true
            continue
          }
          current.set(p, { path: p, kind: 'folder', source: null, fstype: null, majorMinor: null, mountId: null, usb: null, diskId: null })
        }
      }
    }
    for (const p of this.settling.keys()) if (!seen.has(p)) this.settling.delete(p)
    if (this.stopped) return
    for (const [p, v] of this.known) {
      if (current.get(p) !== v) {
        this.known.delete(p)
        this.emit('removed', v)
      }
    }
    for (const [p, v] of current) {
      if (!this.known.has(p)) {
        this.known.set(p, v)
        this.emit('added', v)
      }
    }
  }

  /**
   * A folder appearing under a root (a copy or a move across file systems
   * takes seconds) is a camera candidate only once its tree has stood still
   * for settleMs, and then only if it looks like a camera: its profile is
   * chosen from what is there at that moment, not from the first file to
   * arrive. A folder that settled and is not a camera is looked at again
   * only when its tree changes.
   */
  private async settled(p: string): Promise<boolean> {
    const settleMs = this.o.settleMs ?? 0
    const sig = settleMs > 0 ? await treeSignature(p) : ''
    const now = Date.now()
    const s = this.settling.get(p)
    if (!s || s.sig !== sig) {
      this.settling.set(p, { sig, since: now, notCamera: false })
      if (settleMs > 0) {
        this.wakeIn(settleMs)
        return false
      }
    } else if (s.notCamera || now - s.since < settleMs) return false
    const camera = await this.o.isCameraFolder(p)
    const entry = this.settling.get(p)!
    if (camera || settleMs === 0) this.settling.delete(p)
    else entry.notCamera = true
    return camera
  }

  /** Scans again after `ms` (a settling folder is docked when its quiet time is up, not at the next poll). */
  private wakeIn(ms: number): void {
    const t = setTimeout(() => {
      if (!this.stopped) void this.scan()
    }, ms + 20)
    t.unref()
  }

  private warnOnce(key: string, obj: Record<string, unknown>, msg: string): void {
    if (this.warned.has(key)) return
    this.warned.add(key)
    this.o.logger.warn(obj, msg)
  }
}
