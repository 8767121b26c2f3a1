/**
 * Pure helpers for the station status: transfer rate and ETA of a docked
 * camera, and the camera clock drift its file times reveal.
 */

/**
 * Bytes per second over a sliding window of progress samples. A sample
 * whose bytes went down (a new session) starts over.
 */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = []
  constructor(private readonly windowMs = 5000) {}

  add(t: number, bytes: number): void {
    const last = this.samples[this.samples.length - 1]
    if (last && bytes < last.bytes) this.samples = []
    if (last && t === last.t) last.bytes = bytes
    else this.samples.push({ t, bytes })
    const cutoff = t - this.windowMs
    // Keep one sample at or before the cutoff, so the window is always covered.
    while (this.samples.length > 2 && this.samples[1]!.t <= cutoff) this.samples.shift()
  }

  /** Bytes per second, or null until two samples at least 100 ms apart exist. */
  rate(): number | null {
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    if (!first || !last || last.t - first.t < 100) return null
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t)
  }
}

/** Seconds left at the given rate; null when the rate is unknown or zero. */
export function etaSeconds(bytesDone: number, bytesTotal: number, rate: number | null): number | null {
  const left = Math.max(0, bytesTotal - bytesDone)
  if (left === 0) return 0
  if (rate === null || rate <= 0) return null
  return Math.ceil(left / rate)
}

export interface ClockDrift {
  /** How far the newest file time runs ahead of the station clock, in seconds (0 when it does not). */
  aheadSec: number
  /** True when that is more than the tolerance: the camera clock is probably wrong. */
  flagged: boolean
  /** The newest file time (UTC ISO), or null when the camera holds no files. */
  newest: string | null
}

/**
 * Camera clock drift: a recording cannot start after the moment it is
 * docked, so a file time ahead of the station clock (beyond a tolerance for
 * clock skew) means the camera clock runs fast.
 */
export function clockDrift(fileTimesMs: number[], nowMs: number, toleranceMs: number): ClockDrift {
  if (fileTimesMs.length === 0) return { aheadSec: 0, flagged: false, newest: null }
  const newest = fileTimesMs.reduce((a, b) => Math.max(b, a), -Infinity)
  const ahead = Math.max(0, newest - nowMs)
  return { aheadSec: Math.round(ahead / 1000), flagged: ahead > toleranceMs, newest: new Date(newest).toISOString() }
}
