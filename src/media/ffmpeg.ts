/**
 * The one thin adapter between bodyvault and the ffmpeg / ffprobe binaries.
 *
 * Argument lists are built as data by ./args.ts; this module only resolves the
 * executable, spawns it (never through a shell), feeds `-progress` output to
 * the pure parser in ./probe.ts, keeps the last few KiB of stderr for error
 * reports and enforces a timeout and an AbortSignal.
 *
 * Contract for derivatives (proxies, thumbnails):
 * - the spec's `output` is a TEMPORARY path next to the final one; the caller
 *   renames it into place (same directory, so the rename is atomic) only after
 *   runFfmpeg resolved. A reader therefore never sees a half-written proxy.
 * - when the run fails, times out or is aborted, runFfmpeg deletes `output`
 *   (and `extraOutputs`) before rejecting; when ffmpeg exits 0 but one of
 *   them is missing or empty (e.g. a thumbnail seek past the end), that is
 *   a failure too.
 * - originals are only ever read: the builders pass them as `-i file:<path>`.
 *
 * Processes: each run is spawned in its own process group (detached on
 * POSIX). On timeout or abort the whole group gets SIGTERM, then SIGKILL after
 * `killGraceMs`; the promise settles only after the process has exited, so
 * nothing is left running once it rejects. If the daemon itself is killed,
 * a running ffmpeg is NOT stopped by the broken progress pipe (ffmpeg ignores
 * SIGPIPE): it finishes its bounded input and leaves its temp output behind.
 * Under systemd (KillMode=control-group, the default) the whole cgroup is
 * killed with the service; either way the job layer must sweep stale temp
 * outputs when it starts.
 */
import { spawn } from 'node:child_process'
import { constants as fsConstants, readdirSync } from 'node:fs'
import { access, rm, stat } from 'node:fs/promises'
import { getPriority, setPriority } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'

import { encodersArgs, versionArgs, type CommandSpec, type MediaTool } from './args.js'
import { initialProgressState, parseEncoderList, parseFfmpegVersion, parseProgress, type ProgressEvent, type ProgressState } from './ffmpeg-output.js'

export type FfmpegErrorCode = 'FFMPEG_NOT_FOUND' | 'FFMPEG_FAILED' | 'FFMPEG_TIMEOUT' | 'FFMPEG_ABORTED'

export class FfmpegError extends Error {
  readonly code: FfmpegErrorCode
  /** Exit status, null when the process did not exit normally (signal, not spawned). */
  readonly exitCode: number | null
  /** Signal that ended the process, if any. */
  readonly signal: NodeJS.Signals | null
  /** Last ~4 KiB of stderr ('' if none). */
  readonly stderrTail: string
  readonly cmd: MediaTool | null
  constructor(
    code: FfmpegErrorCode,
    message: string,
    details: {
      exitCode?: number | null
      signal?: NodeJS.Signals | null
      stderrTail?: string
      cmd?: MediaTool | null
      cause?: unknown
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'FfmpegError'
    this.code = code
    this.exitCode = details.exitCode ?? null
    this.signal = details.signal ?? null
    this.stderrTail = details.stderrTail ?? ''
    this.cmd = details.cmd ?? null
  }
}

export interface RunFfmpegOptions {
  /** Hard limit for the run; required so a stuck decoder can never hang a job. */
  timeoutMs: number
  /** Lower the priority by N (0..19) as `nice -n N` would, without its exec: see lowerPriority. */
  nice?: number
  signal?: AbortSignal
  /**
   * Called for each `-progress` block (only for specs that use
   * `-progress pipe:1`); the last one has `done: true`. Exceptions are ignored.
   */
  onProgress?: (event: ProgressEvent) => void
  /** media.ffmpegPath from config; default: `ffmpeg` on PATH. */
  ffmpegPath?: string
  /** media.ffprobePath from config; default: `ffprobe` on PATH. */
  ffprobePath?: string
  /** Time between SIGTERM and SIGKILL on timeout/abort. Default 2000 ms. */
  killGraceMs?: number
  /** Limit for collected stdout (ffprobe JSON, -version). Default 64 MiB. */
  maxStdoutBytes?: number
  /** Called with the pid (= process group id on POSIX) right after spawning. */
  onSpawn?: (pid: number) => void
}

export interface RunFfmpegResult {
  code: 0
  /** The command's stdout (ffprobe JSON, -version text); '' when stdout carried -progress. */
  stdout: string
  stderrTail: string
  durationMs: number
}

export const STDERR_TAIL_BYTES = 4096
const DEFAULT_KILL_GRACE_MS = 2000
const DEFAULT_MAX_STDOUT = 64 * 1024 * 1024

const INSTALL_HINT = "install it (scripts/ensure-system-deps installs Debian's ffmpeg)"

function notFoundMessage(tool: MediaTool): string {
  return `${tool} not found: ${INSTALL_HINT} or set media.${tool}Path`
}

// ---------------------------------------------------------------------------
// executable lookup

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const st = await stat(p)
    if (!st.isFile()) return false
    await access(p, fsConstants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Resolve a command name or path to an absolute executable path: a value with
 * a path separator is checked as is; a bare name is looked up on PATH.
 */
async function resolveExecutable(nameOrPath: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (nameOrPath.length === 0) return null
  if (nameOrPath.includes('/') || nameOrPath.includes(path.sep)) {
    const abs = path.resolve(nameOrPath)
    return (await isExecutableFile(abs)) ? abs : null
  }
  const dirs = (env['PATH'] ?? '').split(path.delimiter).filter((d) => d.length > 0)
  const exts = process.platform === 'win32' ? ['', ...(env['PATHEXT'] ?? '.EXE').split(';')] : ['']
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.resolve(dir, nameOrPath + ext)
      if (await isExecutableFile(candidate)) return candidate
    }
  }
  return null
}

async function locateTool(tool: MediaTool, configPath: string | undefined): Promise<string> {
  // An explicitly configured path is used or refused; it never silently falls
  // back to whatever happens to be on PATH.
  const found = await resolveExecutable(configPath !== undefined && configPath !== '' ? configPath : tool)
  if (found === null) {
    throw new FfmpegError('FFMPEG_NOT_FOUND', notFoundMessage(tool), { cmd: tool })
  }
  return found
}

/** media.ffmpegPath if set (must be executable), else `ffmpeg` on PATH. Rejects with FFMPEG_NOT_FOUND. */
export function locateFfmpeg(configPath?: string): Promise<string> {
  return locateTool('ffmpeg', configPath)
}

/** media.ffprobePath if set (must be executable), else `ffprobe` on PATH. Rejects with FFMPEG_NOT_FOUND. */
export function locateFfprobe(configPath?: string): Promise<string> {
  return locateTool('ffprobe', configPath)
}

/**
 * `nice -n by` for a child just spawned, without running `nice` first (one
 * exec less per run: 7-20 ms of CPU, and 15-120 ms of wall at a load of 5).
 * The niceness is the caller's plus `by`, at most 19, as `nice -n` sets it.
 * It is set before the child does real work: libuv's spawn returns only once
 * the exec succeeded, while the dynamic loader is still mapping ffmpeg's 215
 * libraries (60-110 ms) before main() starts a thread; on Linux a thread's
 * niceness is its own and a new thread takes its creator's, so the threads
 * ffmpeg starts later inherit it, and any thread already there is set too.
 * A child that already exited (ESRCH) has nothing left to lower; no other
 * failure is expected (lowering one's own child's priority needs no right),
 * and none may orphan the child, so the run goes on at the caller's priority.
 */
export function lowerPriority(pid: number, by: number): void {
  const niceness = Math.min(19, getPriority() + by)
  try {
    setPriority(pid, niceness)
    for (const tid of readdirSync(`/proc/${pid}/task`)) if (Number(tid) !== pid) setPriority(Number(tid), niceness)
  } catch {
    // ESRCH/ENOENT: the child (or a thread) is gone already; see above.
  }
}

// ---------------------------------------------------------------------------
// running

function checkRunOptions(opts: RunFfmpegOptions): void {
  if (typeof opts.timeoutMs !== 'number' || !Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) {
    throw new RangeError(`timeoutMs must be a positive number, got ${String(opts.timeoutMs)}`)
  }
  if (opts.nice !== undefined && (!Number.isInteger(opts.nice) || opts.nice < 0 || opts.nice > 19)) {
    throw new RangeError(`nice must be an integer in 0..19, got ${String(opts.nice)}`)
  }
}

function usesProgressPipe(args: readonly string[]): boolean {
  const i = args.indexOf('-progress')
  return i >= 0 && args[i + 1] === 'pipe:1'
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = []
  private size = 0
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.size += chunk.length
    if (this.size > this.limit * 2) this.compact()
  }
  private compact(): void {
    const all = Buffer.concat(this.chunks)
    const tail = all.subarray(Math.max(0, all.length - this.limit))
    this.chunks = [tail]
    this.size = tail.length
  }
  toString(): string {
    this.compact()
    return (this.chunks[0] ?? Buffer.alloc(0)).toString('utf8')
  }
}

type EndReason = 'timeout' | 'abort' | 'stdout-limit'

type Outcome =
  | {
      kind: 'exit'
      code: number | null
      signal: NodeJS.Signals | null
      reason: EndReason | null
      stdout: string
      stderrTail: string
    }
  | { kind: 'spawn-error'; error: NodeJS.ErrnoException; stderrTail: string }

/**
 * Run one ffmpeg/ffprobe command. Resolves only on exit code 0 (and, for a
 * spec with `output`, a non-empty output file); otherwise rejects with an
 * FfmpegError after the process has exited and `output` has been removed.
 */
export async function runFfmpeg(spec: CommandSpec, opts: RunFfmpegOptions): Promise<RunFfmpegResult> {
  checkRunOptions(opts)
  const started = performance.now()
  const tool = spec.cmd
  const outputs = [...(spec.output !== undefined ? [spec.output] : []), ...(spec.extraOutputs ?? [])]
  const cleanup = async (): Promise<void> => {
    await Promise.all(outputs.map((o) => rm(o, { force: true })))
  }

  if (opts.signal?.aborted) {
    throw new FfmpegError('FFMPEG_ABORTED', `${tool} aborted before it started`, { cmd: tool })
  }
  const exe = await locateTool(tool, tool === 'ffmpeg' ? opts.ffmpegPath : opts.ffprobePath)
  const niceBy = process.platform !== 'win32' && opts.nice !== undefined ? opts.nice : 0
  if (opts.signal?.aborted) {
    throw new FfmpegError('FFMPEG_ABORTED', `${tool} aborted before it started`, { cmd: tool })
  }

  const groupKill = process.platform !== 'win32'
  const progressOnStdout = usesProgressPipe(spec.args)
  const maxStdout = opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT
  const killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS

  const outcome = await new Promise<Outcome>((resolve) => {
    const child = spawn(exe, [...spec.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: groupKill,
      windowsHide: true,
    })
    if (child.pid !== undefined && niceBy > 0) lowerPriority(child.pid, niceBy)
    const stderr = new TailBuffer(STDERR_TAIL_BYTES)
    const stdoutChunks: string[] = []
    let stdoutBytes = 0
    let progress: ProgressState = initialProgressState()
    let reason: EndReason | null = null
    let killTimer: NodeJS.Timeout | undefined
    let settled = false

    const kill = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return
      try {
        if (groupKill) process.kill(-child.pid, sig)
        else child.kill(sig)
      } catch {
        // ESRCH: already gone.
      }
    }
    const stop = (why: EndReason): void => {
      if (reason !== null || settled) return
      reason = why
      kill('SIGTERM')
      killTimer = setTimeout(() => kill('SIGKILL'), killGraceMs)
    }
    const onAbort = (): void => stop('abort')
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs)
    opts.signal?.addEventListener('abort', onAbort, { once: true })

    const finish = (value: Outcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (killTimer !== undefined) clearTimeout(killTimer)
      opts.signal?.removeEventListener('abort', onAbort)
      resolve(value)
    }

    if (child.pid !== undefined && opts.onSpawn) {
      try {
        opts.onSpawn(child.pid)
      } catch {
        // A caller's bookkeeping error must not orphan the process.
      }
    }

    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      if (progressOnStdout) {
        const r = parseProgress(progress, chunk)
        progress = r.state
        if (opts.onProgress) {
          for (const e of r.events) {
            try {
              opts.onProgress(e)
            } catch {
              // Progress is advisory; a throwing listener must not crash the daemon.
            }
          }
        }
        return
      }
      stdoutBytes += Buffer.byteLength(chunk)
      if (stdoutBytes > maxStdout) {
        stop('stdout-limit')
        return
      }
      stdoutChunks.push(chunk)
    })
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))

    child.on('error', (error: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES, EAGAIN) arrive here without a pid and
      // may not be followed by 'close'.
      if (child.pid === undefined) finish({ kind: 'spawn-error', error, stderrTail: stderr.toString() })
    })
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      finish({ kind: 'exit', code, signal, reason, stdout: stdoutChunks.join(''), stderrTail: stderr.toString() })
    })
  })

  const durationMs = Math.round(performance.now() - started)

  if (outcome.kind === 'spawn-error') {
    await cleanup()
    const errno = outcome.error.code
    if (errno === 'ENOENT' || errno === 'EACCES' || errno === 'ENOTDIR') {
      throw new FfmpegError('FFMPEG_NOT_FOUND', notFoundMessage(tool), { cmd: tool, cause: outcome.error })
    }
    throw new FfmpegError('FFMPEG_FAILED', `${tool} could not be started: ${outcome.error.message}`, {
      cmd: tool,
      cause: outcome.error,
    })
  }

  const { code, signal, reason, stdout, stderrTail } = outcome
  const details = { exitCode: code, signal, stderrTail, cmd: tool }
  if (reason === 'timeout') {
    await cleanup()
    throw new FfmpegError('FFMPEG_TIMEOUT', `${tool} timed out after ${opts.timeoutMs} ms`, details)
  }
  if (reason === 'abort') {
    await cleanup()
    throw new FfmpegError('FFMPEG_ABORTED', `${tool} aborted`, details)
  }
  if (reason === 'stdout-limit') {
    await cleanup()
    throw new FfmpegError('FFMPEG_FAILED', `${tool} wrote more than ${maxStdout} bytes to stdout`, details)
  }
  if (code !== 0) {
    await cleanup()
    const how = code !== null ? `exited with code ${code}` : `was killed by ${signal ?? 'a signal'}`
    const lastLine = stderrTail.trim().split('\n').pop() ?? ''
    throw new FfmpegError('FFMPEG_FAILED', `${tool} ${how}${lastLine ? `: ${lastLine}` : ''}`, details)
  }
  for (const o of outputs) {
    let size = -1
    try {
      size = (await stat(o)).size
    } catch {
      // missing: handled below
    }
    if (size <= 0) {
      await cleanup()
      throw new FfmpegError('FFMPEG_FAILED', `${tool} exited 0 but wrote no output to ${o}`, details)
    }
  }
  return { code: 0, stdout, stderrTail, durationMs }
}

// ---------------------------------------------------------------------------
// doctor

export interface FfmpegInfo {
  ffmpegPath: string
  version: string | null
  ffprobePath: string | null
  ffprobeVersion: string | null
  encoders: { libx264: boolean; aac: boolean; mjpeg: boolean }
}

/**
 * What `bodyvault doctor` reports about the media tools. Rejects with
 * FFMPEG_NOT_FOUND when ffmpeg itself is missing; a missing ffprobe is
 * reported as null paths instead.
 */
export async function ffmpegInfo(opts: { ffmpegPath?: string; ffprobePath?: string; timeoutMs?: number } = {}): Promise<FfmpegInfo> {
  const timeoutMs = opts.timeoutMs ?? 15_000
  const ffmpegPath = await locateFfmpeg(opts.ffmpegPath)
  const run = { timeoutMs, ffmpegPath, ...(opts.ffprobePath !== undefined ? { ffprobePath: opts.ffprobePath } : {}) }
  const version = parseFfmpegVersion((await runFfmpeg(versionArgs('ffmpeg'), run)).stdout)
  const encoders = parseEncoderList((await runFfmpeg(encodersArgs(), run)).stdout)
  let ffprobePath: string | null = null
  let ffprobeVersion: string | null = null
  try {
    ffprobePath = await locateFfprobe(opts.ffprobePath)
    ffprobeVersion = parseFfmpegVersion((await runFfmpeg(versionArgs('ffprobe'), run)).stdout)
  } catch (err) {
    if (!(err instanceof FfmpegError)) throw err
  }
  return {
    ffmpegPath,
    version,
    ffprobePath,
    ffprobeVersion,
    encoders: { libx264: encoders.has('libx264'), aac: encoders.has('aac'), mjpeg: encoders.has('mjpeg') },
  }
}
