/**
 * Pure parsers for what ffmpeg itself prints: its `-progress pipe:1`
 * stream, its version line and its encoder list (for doctor).
 */
import { num } from './probe.js'

export interface ProgressEvent {
  /** Output position in seconds, null while ffmpeg reports N/A. */
  outTimeSec: number | null
  /** Encoding speed as a multiple of real time (`1.5x` -> 1.5), null if N/A. */
  speed: number | null
  /** True on the final block (`progress=end`). */
  done: boolean
}

export interface ProgressState {
  /** Text after the last newline, waiting for the rest of its line. */
  partial: string
  /** Key/values of the block being read. */
  block: Record<string, string>
}

export function initialProgressState(): ProgressState {
  return { partial: '', block: {} }
}

function outTimeOf(block: Record<string, string>): number | null {
  // ffmpeg's out_time_ms is, despite its name, in microseconds (same as out_time_us).
  for (const key of ['out_time_us', 'out_time_ms']) {
    const v = block[key]
    if (v !== undefined) {
      const n = num(v)
      if (n !== null && n >= 0) return n / 1e6
    }
  }
  const t = block['out_time']
  if (t !== undefined) {
    const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(t.trim())
    if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])
  }
  return null
}

/**
 * Incremental parser for `ffmpeg -progress pipe:1`. Feed it chunks as they
 * arrive (split anywhere); it returns the new state and one event per
 * completed block (a block ends with a `progress=continue|end` line).
 */
export function parseProgress(state: ProgressState, chunk: string): { state: ProgressState; events: ProgressEvent[] } {
  const text = state.partial + chunk
  const lines = text.split('\n')
  const partial = lines.pop() ?? ''
  let block = { ...state.block }
  const events: ProgressEvent[] = []
  for (const rawLine of lines) {
    const line = rawLine.replace(/\r$/, '')
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const key = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    if (key === 'progress') {
      const speedM = /^(\d+(?:\.\d+)?(?:e[+-]?\d+)?)x$/i.exec(block['speed'] ?? '')
      events.push({
        outTimeSec: outTimeOf(block),
        speed: speedM ? Number(speedM[1]) : null,
        done: value === 'end',
      })
      block = {}
    } else {
      block[key] = value
    }
  }
  return { state: { partial, block }, events }
}

// ffmpeg -version / -encoders (for doctor)

/** `ffmpeg version 5.1.9-0+deb12u1 Copyright ...` -> `5.1.9-0+deb12u1`. */
export function parseFfmpegVersion(text: string): string | null {
  const m = /^\s*ff(?:mpeg|probe) version (\S+)/m.exec(text)
  return m?.[1] ?? null
}

/** What scripts/lean-ffmpeg appends to the version of Debian's ffmpeg it builds: `5.1.9-0+deb12u1+bodyvault-lean`. */
export const LEAN_BUILD_SUFFIX = '+bodyvault-lean'

/**
 * A lean build (scripts/lean-ffmpeg) of `version` against the Debian ffmpeg package installed now
 * (`debianVersion()` as dpkg gives it, `7:5.1.9-0+deb12u1`; null when it is not installed; asked only for a lean
 * build): null when `version` is no lean build; else whether it is of that same version, and what to do when not
 * (Debian's updates, security fixes among them, reach the lean build only when it is built again).
 */
export function leanBuildState(version: string, debianVersion: () => string | null): { current: boolean; detail: string } | null {
  if (!version.endsWith(LEAN_BUILD_SUFFIX)) return null
  const built = version.slice(0, -LEAN_BUILD_SUFFIX.length)
  const installed = debianVersion()?.replace(/^\d+:/, '') ?? null
  if (installed === built) return { current: true, detail: `lean build of Debian's ffmpeg ${built}, the version installed` }
  return {
    current: false,
    detail: `lean build of Debian's ffmpeg ${built}, but ${installed === null ? "Debian's ffmpeg is not installed, so its updates cannot be compared" : `Debian's ffmpeg is now ${installed}`}: its fixes are not in the lean build; run scripts/lean-ffmpeg and set media.ffmpegPath and media.ffprobePath to what it prints`,
  }
}

/** Encoder names from `ffmpeg -encoders` (lines like ` V....D libx264   ...`). */
export function parseEncoderList(text: string): Set<string> {
  const out = new Set<string>()
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([VAS][F.][S.][X.][B.][D.])\s+(\S+)/.exec(line)
    if (m?.[2] !== undefined && m[2] !== '=') out.add(m[2])
  }
  return out
}
