/**
 * The station-wide budget for ingest buffers. Each file being copied holds
 * up to STAGING_SLOTS slots (a chunk-sized read buffer and its read-back
 * scratch, direct.ts): one camera keeps its camera read, hash, write and
 * read-back overlapping. With many cameras docked at once the slots per
 * file shrink to a fair share of the budget, never below one: a slot is
 * all a file needs to stay correct (its chunk is held unmodified until its
 * read-back compared), only the overlap is lost.
 *
 * Slots are kept and reused, not allocated per file: a 20 MiB buffer per
 * file left to the garbage collector is what let eight cameras' copies
 * reach 450-500 MB of resident memory. A slot remembers where its aligned
 * start lies (direct.ts probes it once), so reuse also saves the probe.
 *
 * A camera's session counts in the share from its start (`reader`), not
 * only once its file asks: cameras docked together list their files at
 * slightly different moments, and the first files to ask took four slots
 * each, leaving the last cameras' first files to wait for a whole file to
 * end (3 of 8 throttled cameras 0.7-1.5 s behind the rest in every run of
 * bench/throttled-dock, 2026-12-01).
 *
 * No starvation, no deadlock: waiting files are served in arrival order as
 * soon as one slot is free; a file holds slots only while it reads (never
 * while it waits for anything but its own I/O; the disk gate is taken
 * before the slots, never after), and gives them all back when its read
 * ends. A slot whose camera read did not settle (a hung device left behind
 * by an abort) is retired, not reused: the kernel may still write into it;
 * its place in the budget goes to a new slot.
 */
import { waitInQueue } from '../common/waiting.js'
import { DIRECT_ALIGN, READBACK_BYTES, STAGING_SLOTS } from './direct.js'

/** One read buffer and its read-back scratch in one allocation, with room to align both. */
export interface Slot {
  /** The chunk size it was made for. */
  readonly chunk: number
  readonly raw: Buffer
  /** Where a direct write from `raw` is accepted (direct.ts findAligned): -1 until probed. */
  aligned: number
}

export interface BufferLease {
  readonly slots: readonly Slot[]
  /** Gives every slot back (but a retired one); idempotent. */
  release(): void
  /** Slot `i` must never be used again (a read into it may still be under way in the kernel). */
  retire(i: number): void
}

export interface BufferSnapshot {
  /** The budget, in slots. */
  slots: number
  inUse: number
  /** Files waiting for their first slot. */
  waiting: number
  /** Files holding slots now. */
  holders: number
  /** Sessions counted in the share (`reader`), whether or not a file of theirs holds or waits for slots now. */
  readers: number
  /** The most slots in use at once since the station opened. */
  peakInUse: number
  /** Slots made since the station opened (reused ones are made once). */
  made: number
  retired: number
}

/**
 * `bytes` of zeroed memory that start on a page boundary. An ordinary
 * Buffer this large comes from malloc, 16 bytes into a page on glibc; a
 * resizable ArrayBuffer's store is reserved from V8's page allocator, so
 * it starts on a page (its size fixed: it is never resized). Node cannot
 * say where a Buffer lies, so this is what V8 does, not a promise: direct.ts
 * still probes where a direct write is accepted, and a buffer off the page
 * is only slower, never wrong.
 */
export function pageAligned(bytes: number): Buffer {
  // ES2024's resizable ArrayBuffer (V8 11, Node 20); the project's lib is ES2022, so its constructor is typed by hand.
  const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer
  return Buffer.from(new Resizable(bytes, { maxByteLength: bytes }))
}

/** Bytes of one slot for `chunk`: the read buffer, its read-back scratch and the alignment room. */
export const slotBytes = (chunk: number): number => chunk + Math.min(chunk, READBACK_BYTES) + DIRECT_ALIGN

/** How many slots a budget of `bytes` holds with chunks of `chunk` (at least one: a file needs one to be copied at all). */
export const budgetSlots = (bytes: number, chunk: number): number => Math.max(1, Math.floor(bytes / slotBytes(chunk)))

/**
 * How many slots a file that wants `want` gets when `free` are free, the
 * budget is `slots` and `files` files (it included) hold or wait for
 * slots: its fair share, at least one, never more than is free. Pure.
 */
export function grantSize(want: number, free: number, slots: number, files: number): number {
  if (free < 1) return 0
  const share = Math.max(1, Math.floor(slots / Math.max(1, files)))
  return Math.max(1, Math.min(want, free, share))
}

/** How many slots a file of `size` bytes can use in chunks of `chunk`: up to STAGING_SLOTS, one per chunk it has. */
export const slotsWanted = (size: number, chunk: number): number => Math.max(1, Math.min(STAGING_SLOTS, Math.ceil(size / chunk)))

interface Waiter {
  want: number
  chunk: number
  grant: (l: BufferLease) => void
}

export class IngestBuffers {
  private readonly free: Slot[] = []
  private readonly waiting: Waiter[] = []
  private inUse = 0
  private holders = 0
  private readers = 0
  private peak = 0
  private made = 0
  private retired = 0

  private readonly watchers = new Set<(s: BufferSnapshot) => void>()

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`ingest buffer slots must be a positive integer, got ${slots}`)
  }

  /** Calls `fn` after every grant and every release (tests count the slots with it); returns the unsubscribe. */
  observe(fn: (s: BufferSnapshot) => void): () => void {
    this.watchers.add(fn)
    return () => this.watchers.delete(fn)
  }

  private changed(): void {
    if (this.watchers.size === 0) return
    const s = this.snapshot()
    for (const fn of this.watchers) fn(s)
  }

  /**
   * A session that will read its camera's files one after another: counted in every grant's fair share from now
   * until the returned function is called (idempotent).
   */
  reader(): () => void {
    this.readers++
    let counted = true
    return () => {
      if (!counted) return
      counted = false
      this.readers--
      this.pump()
    }
  }

  /** Up to `want` slots for chunks of `chunk` bytes: at least one, as soon as one is free and no earlier file waits. */
  acquire(want: number, chunk: number, signal?: AbortSignal): Promise<BufferLease> {
    const p = waitInQueue(
      this.waiting,
      (grant: (l: BufferLease) => void): Waiter => ({ want, chunk, grant }),
      signal,
      () => this.pump(),
    )
    this.pump()
    return p
  }

  snapshot(): BufferSnapshot {
    return {
      slots: this.slots,
      inUse: this.inUse,
      waiting: this.waiting.length,
      holders: this.holders,
      readers: this.readers,
      peakInUse: this.peak,
      made: this.made,
      retired: this.retired,
    }
  }

  private pump(): void {
    let granted = false
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!
      const n = grantSize(w.want, this.slots - this.inUse, this.slots, Math.max(this.holders + this.waiting.length, this.readers))
      if (n === 0) break
      this.waiting.shift()
      this.holders++
      const got = Array.from({ length: n }, () => this.take(w.chunk))
      this.peak = Math.max(this.peak, this.inUse)
      w.grant(this.lease(got))
      granted = true
    }
    if (granted) this.changed()
  }

  /** A free slot for `chunk`, counted in use (a free one made for another chunk size is dropped: never more slots than the budget). */
  private take(chunk: number): Slot {
    this.inUse++
    const i = this.free.findIndex((s) => s.chunk === chunk)
    if (i >= 0) return this.free.splice(i, 1)[0]!
    if (this.free.length + this.inUse > this.slots) this.free.shift()
    this.made++
    return { chunk, raw: pageAligned(slotBytes(chunk)), aligned: -1 }
  }

  private lease(slots: Slot[]): BufferLease {
    const out = new Set(slots.map((_, i) => i))
    let held = true
    return {
      slots,
      retire: (i) => {
        if (!out.delete(i)) return
        this.retired++
        this.inUse--
        this.afterRelease()
      },
      release: () => {
        if (!held) return
        held = false
        for (const i of out) this.free.push(slots[i]!)
        this.inUse -= out.size
        out.clear()
        this.holders--
        this.afterRelease()
      },
    }
  }

  private afterRelease(): void {
    this.changed()
    this.pump()
  }
}

/** Slots for one file outside any station's budget (a test's own copy): made for it, dropped with it. */
export function ownLease(want: number, chunk: number): BufferLease {
  const slots = Array.from({ length: want }, (): Slot => ({ chunk, raw: pageAligned(slotBytes(chunk)), aligned: -1 }))
  return { slots, release: () => undefined, retire: () => undefined }
}
