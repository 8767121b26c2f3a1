/**
 * Reading one camera file so that what is stored is exactly a version the
 * file had, and so that nothing on the camera can make ingest wait forever:
 *
 * - open with O_NOFOLLOW | O_NONBLOCK (a FIFO swapped in opens at once
 *   instead of waiting for a writer; a symbolic link fails with ELOOP),
 *   fstat, refuse anything but a regular file, then drop O_NONBLOCK by
 *   reopening the same inode through /proc/self/fd (Node has no fcntl);
 * - the opened file must be the one the walk listed (same device and
 *   inode): a folder swapped for a link cannot lead outside the volume;
 * - fstat (size, mtime, ctime, inode) before and after reading, through the
 *   same descriptor: the caller discards a copy when they differ;
 * - every wait on the kernel races the abort signal, so unplug, SIGTERM or
 *   Ctrl-C end a session at once. A read stuck in the kernel (a hung USB
 *   device) cannot be interrupted by any process: it is left behind, its
 *   descriptor closed when it returns, and reported (onWait, stuckReads).
 */
import { createHash } from 'node:crypto'
import { type BigIntStats, constants as C } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { errnoCode } from '../common/errors.js'
import { DIRECT_ALIGN } from './direct.js'

/** What a file was at one moment, as fstat says. */
export interface Fingerprint {
  dev: bigint
  ino: bigint
  size: bigint
  mtimeNs: bigint
  ctimeNs: bigint
}

export function fingerprint(st: BigIntStats): Fingerprint {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs }
}

/** How `after` differs from `before` (and from the bytes read), or null when the file stood still. */
export function describeChange(before: Fingerprint, after: Fingerprint, bytesRead: number): string | null {
  const what: string[] = []
  if (after.ino !== before.ino || after.dev !== before.dev) what.push('replaced by another file')
  if (after.size !== before.size) what.push(`size ${before.size} -> ${after.size} bytes`)
  else if (BigInt(bytesRead) !== after.size) what.push(`${bytesRead} bytes read of ${after.size}`)
  if (after.mtimeNs !== before.mtimeNs) what.push('modified (mtime changed)')
  if (after.ctimeNs !== before.ctimeNs && after.mtimeNs === before.mtimeNs) what.push('status changed (ctime changed)')
  return what.length ? what.join(', ') : null
}

/** The path holds something other than a regular file (a FIFO, a device, a socket, a folder). */
export class NotRegularError extends Error {
  constructor(readonly what: string) {
    super(`not a regular file (${what}): not read`)
    this.name = 'NotRegularError'
  }
}

/** The path holds another file than the one listed (deleted and re-created, or a folder on the way swapped). */
export class ReplacedError extends Error {
  constructor() {
    super('the file was replaced by another one after it was listed')
    this.name = 'ReplacedError'
  }
}

export function fileType(st: {
  isFIFO(): boolean
  isCharacterDevice(): boolean
  isBlockDevice(): boolean
  isSocket(): boolean
  isDirectory(): boolean
}): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)'
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device node'
  if (st.isSocket()) return 'a socket'
  if (st.isDirectory()) return 'a folder'
  return 'not a regular file'
}

/** Rejects with the signal's reason as soon as it aborts; `p` is left to settle on its own. */
export function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p
  if (signal.aborted) {
    p.catch(() => undefined)
    return Promise.reject(abortError(signal))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('ingest aborted')
}

/** Reads from camera files that have not returned (kernel waits), across sessions: started when and on which file. */
const waiting = new Map<number, { since: number; path: string }>()
let waitSeq = 0

/** Camera reads waiting longer than `olderThanMs` (a hung USB device): status reports them; the process cannot end them. */
export function stuckReads(olderThanMs: number, now = Date.now()): { since: number; path: string }[] {
  return [...waiting.values()].filter((w) => now - w.since >= olderThanMs)
}

/** Waits for a kernel call on a camera file, racing the abort signal and registering the wait while it lasts. */
async function kernelWait<T>(p: Promise<T>, path: string, signal: AbortSignal | undefined, onWait?: (since: number | null) => void): Promise<T> {
  const id = ++waitSeq
  const since = Date.now()
  waiting.set(id, { since, path })
  onWait?.(since)
  const done = p.finally(() => waiting.delete(id))
  try {
    return await raceAbort(done, signal)
  } finally {
    onWait?.(null)
  }
}

export interface OpenedSource {
  fh: FileHandle
  before: Fingerprint
  /** A kernel wait on this descriptor may still be running (left behind by an abort): close without waiting for it. */
  abandoned: boolean
}

/**
 * Opens a listed camera file for reading: never blocks on what is not a
 * regular file, never follows a link, and must be the inode the walk saw.
 */
export async function openCameraFile(
  abs: Buffer,
  listed: { dev: bigint; ino: bigint },
  o: { signal?: AbortSignal | undefined; onWait?: (since: number | null) => void; display: string },
): Promise<OpenedSource> {
  const opening = open(abs, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK)
  const first = await kernelWait(opening, o.display, o.signal, o.onWait).catch((err: unknown) => {
    // Aborted while the kernel was still opening it: close it whenever the open returns.
    if (o.signal?.aborted) opening.then((fh) => fh.close()).catch(() => undefined)
    if (errnoCode(err) === 'ELOOP') throw new NotRegularError('a symbolic link')
    throw err
  })
  let fh = first
  try {
    const st = await kernelWait(first.stat({ bigint: true }), o.display, o.signal, o.onWait)
    if (!st.isFile()) throw new NotRegularError(fileType(st))
    if (st.dev !== listed.dev || st.ino !== listed.ino) throw new ReplacedError()
    // Clear O_NONBLOCK: the same inode through its descriptor's /proc link (no path lookup on the camera).
    try {
      const again = await open(`/proc/self/fd/${first.fd}`, C.O_RDONLY)
      const st2 = await again.stat({ bigint: true })
      if (st2.dev !== st.dev || st2.ino !== st.ino) {
        await again.close()
        throw new ReplacedError()
      }
      fh = again
      void first.close().catch(() => undefined)
    } catch (err) {
      // No /proc: keep the first descriptor (O_NONBLOCK does not change reads of a regular file on Linux).
      if (err instanceof ReplacedError) throw err
    }
    return { fh, before: fingerprint(st), abandoned: false }
  } catch (err) {
    void first.close().catch(() => undefined)
    throw err
  }
}

/**
 * A second descriptor of an opened camera file with O_DIRECT (same inode,
 * through its /proc link), or undefined where the file system or /proc
 * refuses it. Read into aligned buffers (the staging writer's), the bytes go
 * from the device to the buffer that is hashed and written: no copy out of
 * the page cache (profiled here at about a twelfth of an ingest's CPU with
 * a warm cache), and a camera's files do not push the station's cache out.
 */
export async function openDirect(src: OpenedSource, o: { signal?: AbortSignal | undefined; display: string }): Promise<FileHandle | undefined> {
  let fh: FileHandle | undefined
  try {
    const opening = open(`/proc/self/fd/${src.fh.fd}`, C.O_RDONLY | C.O_DIRECT)
    fh = await kernelWait(opening, o.display, o.signal).catch((err: unknown) => {
      // Aborted while the kernel was still opening it: close it whenever the open returns.
      if (o.signal?.aborted) opening.then((late) => late.close()).catch(() => undefined)
      throw err
    })
    const st = await kernelWait(fh.stat({ bigint: true }), o.display, o.signal)
    if (st.dev === src.before.dev && st.ino === src.before.ino) return fh
  } catch {
    // No O_DIRECT here (tmpfs, some FUSE file systems) or no /proc: the ordinary descriptor reads everything.
  }
  void fh?.close().catch(() => undefined)
  return undefined
}

export interface ReadResult {
  sha256: string
  bytes: number
  after: Fingerprint
  /** How the file changed while it was read (before vs after fstat), or null. */
  changed: string | null
}

/**
 * Reads an opened camera file once from offset 0 to its end, hashing each
 * chunk and handing it to `sink` (the staging writer and its read-back);
 * then fstat again. Up to `readAhead` reads (default 2) are in flight at
 * once into buffers no sink holds, so a slow camera (a USB 2.0 device, a
 * throttled bus) always has a request queued while this process hashes
 * the last chunk or waits for a core: with one read at a time, every
 * moment between its completion and the next request is the camera idle.
 * A buffer stays with its sink until that settles (the read-back compares
 * the very bytes that were hashed), so with n buffers up to n - 1 chunks
 * are being written and read back while the next is read (with one, none:
 * each chunk is read, hashed, written and compared in turn). Bytes are
 * taken strictly in file order: a read issued ahead of a short one (the
 * file ends there, or grew) is dropped and done again from where the
 * short one ended. Closes the descriptor (without waiting for a read left
 * stuck by an abort).
 */
export async function readCameraFile(
  src: OpenedSource,
  o: {
    chunk: number
    display: string
    signal?: AbortSignal | undefined
    /** Takes the bytes of buffer `slot` at `pos`; the buffer is read into again only when its promise settled. */
    sink?: (buf: Buffer, pos: number, slot: number) => Promise<void>
    /** The read buffers to take in turn (the staging writer's aligned ones); else two of `chunk` bytes. */
    bufs?: Buffer[] | undefined
    /** An O_DIRECT descriptor of the same file (openDirect) for reads at aligned offsets into `bufs`; closed here. */
    direct?: FileHandle | undefined
    /** Reads in flight at once (default 2), as buffers allow. */
    readAhead?: number
    onBytes?: (n: number) => void
    onWait?: (since: number | null) => void
    /** Buffer `slot` may still be read into after this returns (a read not waited for): it must not be used again. */
    leftBehind?: (slot: number) => void
  },
): Promise<ReadResult> {
  const { fh, before } = src
  const wait = <T>(p: Promise<T>): Promise<T> =>
    kernelWait(p, o.display, o.signal, o.onWait).catch((err: unknown) => {
      if (o.signal?.aborted) src.abandoned = true
      throw err
    })
  try {
    const h = createHash('sha256')
    const bufs = o.bufs ?? [Buffer.allocUnsafe(o.chunk), Buffer.allocUnsafe(o.chunk)]
    const chunk = bufs[0]!.length
    const size = Number(before.size)
    let direct = chunk % DIRECT_ALIGN === 0 ? o.direct : undefined
    // A direct read needs an aligned offset (a short read mid-file leaves none) and is refused with EINVAL where the
    // buffer's address does not suit the camera's device: that read and all after it go through the page cache.
    const read = async (buf: Buffer, at: number): Promise<{ bytesRead: number }> => {
      if (direct && at % DIRECT_ALIGN === 0) {
        try {
          return await direct.read(buf, 0, chunk, at)
        } catch (err) {
          if (errnoCode(err) !== 'EINVAL') throw err
          direct = undefined
        }
      }
      return fh.read(buf, 0, chunk, at)
    }
    const ahead = Math.max(1, o.readAhead ?? 2)
    // Buffers neither being read into nor held by a sink; reads in flight, in file order; sinks not yet settled.
    const free = bufs.map((_, i) => i)
    const reads: { slot: number; at: number; p: Promise<{ bytesRead: number }> }[] = []
    const sinks = new Set<Promise<void>>()
    let pos = 0
    let next = 0
    let ended = false
    // The first sink that failed (a write, a read-back mismatch): the copy stops at the next step, not at the file's end.
    let failure: { err: unknown } | undefined
    let stat: Promise<BigIntStats> | undefined
    // The read taken out of `reads` and waited for: a sink letting go meanwhile runs issue(), which must count it.
    let waiting = false
    // Past the size fstat gave, one read at a time (the one waited for counts): the one that finds the end (or that
    // the file grew). Not counting it left a read past the end in flight as the end was found, its slot retired.
    const issue = (): void => {
      while (!ended && free.length > 0 && reads.length < ahead && ((reads.length === 0 && !waiting) || next <= size)) {
        const slot = free.shift()!
        const p = read(bufs[slot]!, next)
        p.catch(() => undefined) // awaited in order below; a read dropped or left behind must not surface unhandled
        reads.push({ slot, at: next, p })
        next += chunk
      }
    }
    try {
      for (;;) {
        if (failure) throw failure.err
        issue()
        const r = reads.shift()
        if (!r) {
          // Every buffer is with a sink: wait for one to let go (a sink's failure is thrown here).
          await Promise.race(sinks)
          continue
        }
        let bytesRead: number
        try {
          waiting = true
          ;({ bytesRead } = await wait(r.p))
        } catch (err) {
          reads.unshift(r) // left behind in the kernel (or failed): its buffer is not free
          throw err
        } finally {
          waiting = false
        }
        if (r.at !== pos) {
          free.push(r.slot) // read ahead of a short read: not the next bytes
          continue
        }
        if (bytesRead === 0) {
          free.push(r.slot)
          break
        }
        // A short read (the end, or a file that changed) moves the next read to where it ended.
        if (bytesRead < chunk) next = pos + bytesRead
        const cur = bufs[r.slot]!.subarray(0, bytesRead)
        const sunk = o.sink?.(cur, pos, r.slot)
        if (sunk) {
          sinks.add(sunk)
          sunk.then(
            () => {
              sinks.delete(sunk)
              free.push(r.slot)
              issue()
            },
            (err: unknown) => {
              failure ??= { err }
            },
          )
        }
        h.update(cur)
        if (!sunk) free.push(r.slot)
        pos += bytesRead
        o.onBytes?.(bytesRead)
      }
      ended = true
      // Every byte is read: the fstat after goes out now, beside the last chunks' writes and read-backs, not after them.
      stat = wait(fh.stat({ bigint: true }))
      stat.catch(() => undefined) // awaited below, once the sinks settled
      await Promise.all(sinks)
    } finally {
      ended = true
      // A read still under way must not have its buffer used again (the kernel may still write into it: a hung
      // camera's read left behind); no sink may still hold a buffer.
      for (const r of reads) o.leftBehind?.(r.slot)
      await Promise.allSettled(sinks)
    }
    const after = fingerprint(await stat)
    return { sha256: h.digest('hex'), bytes: pos, after, changed: describeChange(before, after, pos) }
  } finally {
    const ds = o.direct ? [fh, o.direct] : [fh]
    if (src.abandoned) for (const d of ds) void d.close().catch(() => undefined)
    else await Promise.all(ds.map((d) => d.close().catch(() => undefined)))
  }
}
