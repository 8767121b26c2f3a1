/**
 * What the data dir's disk was doing while a bench measured: so a reader can
 * tell "the disk was slow this round" from "ingest did not use it".
 *
 * - `watchDisk(dir)`: /proc/diskstats of the block device holding `dir`,
 *   read at the start and the end (MB read and written, busy % from
 *   io_ticks, the mean queue depth from the weighted time (iostat's aqu-sz),
 *   the mean time a read and a write request took) and sampled every 50 ms
 *   for the requests in flight (their peak);
 * - `latencyProbe(dir)`: the disk's time for one 4 MiB O_DIRECT write and
 *   one 4 MiB O_DIRECT read at queue depth 1 (`dd`, 8 of each), same minute;
 * - `settleDiscards(dir)`: after a `rm` of gigabytes on a file system mounted
 *   with `discard`, the device trims them for a second or more once the
 *   journal commits: waits (sync, then until no sector was discarded for
 *   0.5 s, at most 15 s) so each round starts on a disk that is not trimming
 *   the last one, and says how long that took.
 * The figures are the whole device's: on a shared machine other work's
 * requests are in them (a busy disk with ingest's own requests few is
 * another engineer's bench).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** The /proc/diskstats line of the device (or partition) holding `dir`, by its major:minor. */
export function deviceOf(dir: string): string | undefined {
  const dev = statSync(dir).dev
  const major = Math.floor(dev / 256) & 0xfff
  const minor = (dev & 0xff) | ((Math.floor(dev / 2 ** 12) & 0xfff00) >>> 0)
  for (const l of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = l.trim().split(/\s+/)
    if (Number(f[0]) === major && Number(f[1]) === minor) return f[2]
  }
  return undefined
}

interface Counters {
  t: number
  reads: number
  readMs: number
  rSectors: number
  writes: number
  writeMs: number
  wSectors: number
  inFlight: number
  ioTicks: number
  weighted: number
  dSectors: number
}

function counters(dev: string): Counters | undefined {
  for (const l of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = l.trim().split(/\s+/)
    if (f[2] !== dev) continue
    const n = (i: number): number => Number(f[i] ?? 0)
    return {
      t: performance.now(),
      reads: n(3),
      rSectors: n(5),
      readMs: n(6),
      writes: n(7),
      wSectors: n(9),
      writeMs: n(10),
      inFlight: n(11),
      ioTicks: n(12),
      weighted: n(13),
      dSectors: n(16),
    }
  }
  return undefined
}

export interface DiskState {
  device: string
  seconds: number
  readMB: number
  writtenMB: number
  /** io_ticks over the wall: the share of the time the device had a request. */
  busyPct: number
  /** Time-weighted mean of the requests in flight (iostat's aqu-sz). */
  depth: number
  /** The most in flight in a 50 ms sample. */
  peak: number
  /** Mean ms a read and a write request took (iostat's r_await, w_await). */
  readAwaitMs: number
  writeAwaitMs: number
}

/** Starts watching the device of `dir`; `stop()` gives what it did meanwhile (undefined where /proc/diskstats has no line for it). */
export function watchDisk(dir: string): { stop(): DiskState | undefined } {
  const dev = deviceOf(dir)
  const c0 = dev ? counters(dev) : undefined
  let peak = 0
  const timer = setInterval(() => {
    peak = Math.max(peak, (dev && counters(dev)?.inFlight) || 0)
  }, 50)
  return {
    stop: () => {
      clearInterval(timer)
      const c1 = dev ? counters(dev) : undefined
      if (!dev || !c0 || !c1) return undefined
      const ms = c1.t - c0.t
      const d = (k: keyof Counters): number => c1[k] - c0[k]
      return {
        device: dev,
        seconds: ms / 1000,
        readMB: (d('rSectors') * 512) / 1e6,
        writtenMB: (d('wSectors') * 512) / 1e6,
        busyPct: (100 * d('ioTicks')) / ms,
        depth: d('weighted') / ms,
        peak,
        readAwaitMs: d('reads') ? d('readMs') / d('reads') : 0,
        writeAwaitMs: d('writes') ? d('writeMs') / d('writes') : 0,
      }
    },
  }
}

export const describeDisk = (s: DiskState | undefined): string =>
  s
    ? `${s.device} ${s.busyPct.toFixed(0)}% busy, ${s.depth.toFixed(1)} requests in flight on average (peak ${s.peak}), ` +
      `${(s.readMB / s.seconds).toFixed(0)} MB/s read + ${(s.writtenMB / s.seconds).toFixed(0)} MB/s written, ` +
      `a read took ${s.readAwaitMs.toFixed(1)} ms, a write ${s.writeAwaitMs.toFixed(1)} ms`
    : 'no /proc/diskstats line for the data dir'

const sh = (cmd: string): void => void execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] })

/** ms for one 4 MiB O_DIRECT write and one 4 MiB O_DIRECT read at queue depth 1 (8 of each, `dd`) in `dir`. */
export function latencyProbe(dir: string): { writeMs: number; readMs: number } {
  const f = join(dir, 'latency-probe')
  const timed = (cmd: string): number => {
    const t0 = performance.now()
    sh(cmd)
    return (performance.now() - t0) / 8
  }
  try {
    const writeMs = timed(`dd if=/dev/zero of=${f} bs=4M count=8 oflag=direct,dsync status=none`)
    const readMs = timed(`dd if=${f} of=/dev/null bs=4M count=8 iflag=direct status=none`)
    return { writeMs, readMs }
  } finally {
    rmSync(f, { force: true })
  }
}

/** After a large `rm`: sync, then waits until the device of `dir` discarded nothing for 0.5 s (at most 15 s); the seconds waited. */
export async function settleDiscards(dir: string): Promise<number> {
  const t0 = performance.now()
  sh('sync')
  const dev = deviceOf(dir)
  if (!dev) return 0
  let last = counters(dev)?.dSectors ?? 0
  let quiet = 0
  while (quiet < 2 && performance.now() - t0 < 15_000) {
    await new Promise((r) => setTimeout(r, 250))
    const now = counters(dev)?.dSectors ?? 0
    quiet = now === last ? quiet + 1 : 0
    last = now
  }
  return (performance.now() - t0) / 1000
}
