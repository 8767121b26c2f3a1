/**
 * Fair share of the data disk between cameras docked at once.
 *
 * At most `streams` files are read at the same time across all cameras
 * (a spinning disk or a USB hub does better with a few sequential streams
 * than with many interleaved ones). When a stream frees up, it goes to the
 * waiting camera that has been served the fewest bytes so far (ties: the
 * one waiting longest), so a camera full of large files cannot starve one
 * with a few small ones: each camera gets an equal byte share, at file
 * granularity. A camera that joins starts level with the least-served
 * camera present, not at zero, so it cannot claim the disk for a burst.
 */

import { abortReason, waitInQueue } from '../common/waiting.js'

/** Awaited by an ingest session before it reads a file of `bytes`; call the returned function when the read is done. */
export type DiskGate = (bytes: number, signal?: AbortSignal) => Promise<() => void>

export interface Waiter {
  key: string
  /** Arrival order. */
  seq: number
}

/** Which waiter is served next: the least bytes served, then the earliest arrival. Pure. */
export function nextWaiter(waiters: readonly Waiter[], served: ReadonlyMap<string, number>): number {
  let best = -1
  for (let i = 0; i < waiters.length; i++) {
    const w = waiters[i]!
    if (best < 0) {
      best = i
      continue
    }
    const b = waiters[best]!
    const sw = served.get(w.key) ?? 0
    const sb = served.get(b.key) ?? 0
    if (sw < sb || (sw === sb && w.seq < b.seq)) best = i
  }
  return best
}

interface Pending extends Waiter {
  bytes: number
  grant: (release: () => void) => void
}

export interface DiskShareSnapshot {
  streams: number
  active: number
  waiting: number
  servedBytes: Record<string, number>
}

export class DiskShare {
  private readonly served = new Map<string, number>()
  /** Bytes served to each camera before its latest grant (its start tag). */
  private readonly started = new Map<string, number>()
  private readonly waiting: Pending[] = []
  private active = 0
  private seq = 0

  constructor(readonly streams: number) {
    if (!Number.isInteger(streams) || streams < 1) throw new RangeError(`disk streams must be a positive integer, got ${streams}`)
  }

  /** The gate one camera's session uses. */
  gate(key: string): DiskGate {
    return (bytes, signal) => this.acquire(key, bytes, signal)
  }

  /** Drops a camera's account (its session ended). */
  forget(key: string): void {
    this.served.delete(key)
    this.started.delete(key)
  }

  snapshot(): DiskShareSnapshot {
    return { streams: this.streams, active: this.active, waiting: this.waiting.length, servedBytes: Object.fromEntries(this.served) }
  }

  acquire(key: string, bytes: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal))
    if (!this.served.has(key)) this.served.set(key, this.level())
    const p = waitInQueue(this.waiting, (grant: (release: () => void) => void): Pending => ({ key, seq: this.seq++, bytes, grant }), signal)
    this.pump()
    return p
  }

  /**
   * Where a newcomer starts: level with the least-served camera present,
   * counted before that camera's current file (start-time fair queueing),
   * so joining while another camera reads a large file costs it nothing.
   */
  private level(): number {
    let min: number | undefined
    for (const [k, v] of this.served) {
      const s = this.started.get(k) ?? v
      if (min === undefined || s < min) min = s
    }
    return min ?? 0
  }

  private pump(): void {
    while (this.active < this.streams && this.waiting.length > 0) {
      const i = nextWaiter(this.waiting, this.served)
      const p = this.waiting.splice(i, 1)[0]!
      this.active++
      const before = this.served.get(p.key) ?? 0
      this.started.set(p.key, before)
      this.served.set(p.key, before + p.bytes)
      let released = false
      p.grant(() => {
        if (released) return
        released = true
        this.active--
        this.pump()
      })
    }
  }
}
