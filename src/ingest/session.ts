/**
 * One ingest session over a mounted camera volume. The promise it keeps:
 * the session ends `complete` only when every media file on the volume, as
 * the last enumeration found it, is in the vault byte for byte as a version
 * the camera had (src/ingest/source.ts says how a read is known to be one
 * version). Otherwise it ends `incomplete` and lists each file with its
 * reason. The flow: refuse a folder that is not one camera
 * (NOT_A_CAMERA) or holds no media (NO_MEDIA); list; copy (pipeline.ts);
 * list again, and copy what is new or changed since, until a listing finds
 * nothing new (at most `maxPasses` passes).
 */
import { readdir, realpath } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { looksLikeCamera } from '../camera/match.js'
import { idsFromNames, volumeKeys } from '../camera/volume-id.js'
import type { DockingProfile } from '../camera/profile.js'
import type { Identity } from '../camera/names.js'
import type { Db } from '../catalog/db.js'
import { abandonSession, endSession, runningSessions, startSession, volumeForKeys } from '../catalog/sessions.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { appendEvent } from '../ledger/ledger.js'
import type { Vault } from '../vault/store.js'
import { describeFileError, knownRecordings, type Outcome, rememberPresent, runPass, StopSession } from './pipeline.js'
import { ReadBackVerifier } from './readback.js'
import type { RecordedHook } from './record.js'
import type { SourceRead } from './copy.js'
import { raceAbort, type Fingerprint } from './source.js'
import { camerasInside, NotACameraError, readMountTable, volumeFileSystem } from './volume.js'
import { type CameraFile, type ListedFile, type Listing, listCamera } from './walk.js'

/** What ingest needs from the station, the same for every session (built once in src/station/). */
export interface IngestContext {
  db: Db
  vault: Vault
  stationId: string
  /** Who the ledger names as the actor, e.g. "station:station-01". */
  actor: string
  settings: IngestSettings
  logger: Logger
  /** Every loaded profile: file-name patterns that name a device, and volume markers (whether a folder is a camera). */
  profiles?: readonly DockingProfile[]
  /**
   * Called inside the transaction that records each new recording, so what
   * the station does next (queue its media jobs) commits with it or not at
   * all: a crash never leaves a recording without its jobs.
   */
  onRecorded?: RecordedHook
}

/** The `ingest` section of the configuration. */
export interface IngestSettings {
  chunkBytes: number
  readBackVerify: boolean
  minFreeBytes: number
  /** Reads of a file that changed while it was read, done again before it fails `changed-while-copying`. */
  changeRetries: number
  /** Enumeration passes: after the first, a pass copies what is new or changed since the last listing. */
  maxPasses: number
}

/** One camera's session: where it is mounted, how to read it, and who is asking. */
export interface IngestSessionOptions {
  /** The mounted camera folder. */
  root: string
  profile: DockingProfile
  /** Device/officer from the docked camera (unlock hook, CLI), used where file names say nothing. */
  identity?: Identity
  /** The USB device behind the volume, when the dock knows it (its serial is the volume's strongest identity). */
  usb?: { vendorId: string; productId: string; serial: string | null } | null
  /** Defaults to the context's logger. */
  logger?: Logger
  signal?: AbortSignal
  onProgress?: (p: IngestProgress) => void
  /** Each listing of the volume, as it is made (the dock derives the clock drift and the device from it). */
  onListing?: (l: Listing) => void
  /** Fair share of the disk between cameras (the station daemon's scheduler): awaited before each file is read. */
  diskGate?: (bytes: number, signal?: AbortSignal) => Promise<() => void>
}

export type IngestOptions = Omit<IngestContext, 'settings' | 'logger'> & IngestSettings & IngestSessionOptions & { logger: Logger }

export interface IngestProgress {
  sessionId: number | null
  /** Files whose copy (or check) is done, of those planned so far; never above filesTotal. */
  filesDone: number
  filesTotal: number
  /** Bytes read of the files planned so far; never above bytesTotal (a file that grows raises the total). */
  bytesDone: number
  bytesTotal: number
  /** Enumeration pass (1, then 2... when files appeared or changed). */
  pass: number
  current?: string
  /** When the call on the camera now running started (ms), null when none runs: a long wait is a hung device. */
  waitingSince: number | null
}

export interface FileEntry {
  id: number
  sha256: string
  size: number
  sourcePath: string
  /** The name's bytes (base64), as the camera wrote them. */
  raw: string
}

export interface IngestReport {
  sessionId: number
  state: 'complete' | 'incomplete'
  root: string
  profileId: string
  /** The volume's identity keys, strongest first (usb:, fs:, device:, folder:). */
  volume: { id: number; keys: string[] }
  ingested: FileEntry[]
  /** Already in the vault from an earlier docking of this volume (or device): nothing stored again. */
  present: (FileEntry & { earlierSession: number | null })[]
  /** Not files of the camera (system folders, links, pipes): listed, not ingested. */
  skipped: ListedFile[]
  /** Regular files that are neither media nor sidecars: listed, not ingested (see the profile's ingestUnrecognised). */
  unrecognised: ListedFile[]
  /** Media files (or folders) that are not in the vault, with the reason: the session is incomplete. */
  failed: { sourcePath: string; error: string }[]
  /** Files that changed while read and were read again until a read saw them stand still. */
  retried: { sourcePath: string; attempts: number; changes: string[] }[]
  filesTotal: number
  bytesTotal: number
  bytesIngested: number
  passes: number
  /** When the last listing of the volume began: the state is true as of then. */
  listedAt: string
  durationMs: number
}

/** Nothing on the volume is media: an empty card, or the wrong folder. */
export class NoMediaError extends BodyvaultError {
  constructor(root: string, l: Listing) {
    const other = l.unrecognised.length ? `; ${l.unrecognised.length} other file(s), e.g. ${l.unrecognised[0]!.sourcePath}` : ''
    super('NO_MEDIA', `no media file on ${root}${other}: nothing was ingested; check that this is the camera's volume`, 1)
    this.name = 'NoMediaError'
  }
}

/** The shared state of one running session: what pipeline.ts reports into. */
export class SessionRun {
  readonly outcomes = new Map<string, Outcome>()
  readonly progress: IngestProgress
  verifier: ReadBackVerifier | undefined
  private pending = new Set<string>()

  constructor(
    readonly o: IngestOptions,
    readonly report: IngestReport,
    readonly volume: { id: number; key: string },
    readonly identity: Identity,
  ) {
    this.progress = { sessionId: report.sessionId, filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, pass: 0, waitingSince: null }
  }

  get sessionId(): number {
    return this.report.sessionId
  }
  get root(): string {
    return this.report.root
  }

  readonly onWait = (since: number | null): void => {
    this.progress.waitingSince = since
  }

  pause(ms: number): Promise<void> {
    return raceAbort(sleep(ms), this.o.signal)
  }

  /** Counts a pass's files into the totals. */
  plan(files: CameraFile[], pass: number): void {
    this.progress.pass = pass
    this.progress.filesTotal += files.length
    this.progress.bytesTotal += files.reduce((a, f) => a + f.size, 0)
    for (const f of files) this.pending.add(f.rawB64)
    this.o.onProgress?.(this.progress)
  }

  /** One file's share of the progress: bytes read count once; a read thrown away is taken back. */
  startJob(f: CameraFile): { bytes: (n: number) => void; rewind: () => void; done: () => void } {
    const p = this.progress
    p.current = f.sourcePath
    this.o.onProgress?.(p)
    let planned = f.size
    let read = 0
    return {
      bytes: (n) => {
        read += n
        p.bytesDone += n
        if (read > planned) {
          p.bytesTotal += read - planned
          planned = read
        }
        this.o.onProgress?.(p)
      },
      rewind: () => {
        p.bytesDone -= read
        read = 0
      },
      done: () => {
        this.pending.delete(f.rawB64)
        // A file that came out shorter than listed: its share of the total shrinks to what was read.
        if (read < planned) p.bytesTotal -= planned - read
        p.filesDone++
        this.o.onProgress?.(p)
      },
    }
  }

  knownShas(f: CameraFile, facts: Parameters<typeof knownRecordings>[2]): Map<string, { id: number; session: number | null }> {
    return knownRecordings(this, f, facts)
  }

  present(f: CameraFile, r: SourceRead, earlier: { id: number; session: number | null }): void {
    rememberPresent(this, f, r, earlier.id)
    this.outcomes.set(f.rawB64, { kind: 'present', fp: r.after })
    this.report.present.push({ id: earlier.id, sha256: r.sha256, size: r.size, sourcePath: f.sourcePath, raw: f.rawB64, earlierSession: earlier.session })
  }

  ingested(f: CameraFile, r: SourceRead, id: number): void {
    this.outcomes.set(f.rawB64, { kind: 'ingested', fp: r.after })
    this.report.ingested.push({ id, sha256: r.sha256, size: r.size, sourcePath: f.sourcePath, raw: f.rawB64 })
    this.report.bytesIngested += r.size
    this.o.logger.debug({ event: 'ingest.file', sessionId: this.sessionId, id, sourcePath: f.sourcePath, sha256: r.sha256, size: r.size }, 'ingested')
  }

  retried(f: CameraFile, attempts: number, changes: string[]): void {
    this.report.retried.push({ sourcePath: f.sourcePath, attempts, changes })
    this.o.logger.warn(
      { event: 'ingest.retried', sessionId: this.sessionId, sourcePath: f.sourcePath, attempts, changes },
      'the file changed while it was read: read again until it stood still',
    )
  }

  fail(f: CameraFile, err: unknown, fp: Fingerprint): void {
    const { error, nextPass } = typeof err === 'string' ? { error: err, nextPass: false } : describeFileError(err)
    this.outcomes.set(f.rawB64, { kind: 'failed', error, sourcePath: f.sourcePath, fp, nextPass })
    this.o.logger.error({ event: 'ingest.file_failed', sessionId: this.sessionId, sourcePath: f.sourcePath, err: error }, 'file not ingested')
  }

  /** Every file still planned in this pass fails with the reason the session stopped. */
  failPending(files: CameraFile[], reason: string): number {
    let n = 0
    for (const f of files) {
      if (!this.pending.has(f.rawB64)) continue
      this.pending.delete(f.rawB64)
      this.outcomes.set(f.rawB64, { kind: 'failed', error: reason, sourcePath: f.sourcePath, fp: f.listed, nextPass: false })
      n++
    }
    return n
  }

  /** Whether a file of a new listing must be (re)read: new, changed since it was read, or failed in a way a new look may fix. */
  needs(f: CameraFile): boolean {
    const out = this.outcomes.get(f.rawB64)
    if (!out) return true
    // A failure a new look cannot fix (it kept changing at every read, a read error) is not tried again in this session.
    if (out.kind === 'failed') return out.nextPass
    return !sameFile(out.fp, f.listed)
  }

  diskFullMessage(need?: number, have?: number): string {
    const numbers = need !== undefined && have !== undefined ? ` (need ${need} bytes, ${have} free)` : ''
    return `not copied: the data disk is full${numbers}: free space in ${this.o.vault.dataDir} or move dataDir to a larger disk, then dock again`
  }
}

/** Why a file still new or changed at the last allowed listing is not in the vault as it is now. */
function keptChanging(before: Outcome | undefined, f: CameraFile, passes: number): string {
  if (before && before.kind !== 'failed' && f.listed.size > before.fp.size && f.listed.ino === before.fp.ino)
    return `still-growing: the camera was still writing this file (${before.fp.size} -> ${f.listed.size} bytes between listings); the versions read so far are in the vault, not the last one; let the recording finish, then dock again`
  return `kept changing: new or changed at each of ${passes} listings of the volume; dock again`
}

/** Same inode, size and times: the file the listing shows is the version that was read. */
function sameFile(a: Fingerprint, b: Fingerprint): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs
}

/** Sessions left `running` by a process that is gone end as `incomplete`. */
function markAbandonedSessions(db: Db): void {
  for (const r of runningSessions(db)) {
    if (r.pid === process.pid) continue
    let alive = true
    try {
      process.kill(r.pid, 0)
    } catch (err) {
      alive = errnoCode(err) === 'EPERM'
    }
    if (!alive) abandonSession(db, r.id, new Date().toISOString())
  }
}

/** Runs one session (see the file comment); resolves with its report, or rejects NOT_A_CAMERA / NO_MEDIA before any session is recorded. */
export async function ingestCamera(ctx: IngestContext, session: IngestSessionOptions): Promise<IngestReport> {
  const o: IngestOptions = { ...ctx, ...ctx.settings, ...session, logger: session.logger ?? ctx.logger }
  const started = Date.now()
  const log = o.logger.child({ root: o.root, profile: o.profile.id })
  o.vault.ensureLayout()
  const cleaned = await o.vault.cleanStaging()
  if (cleaned.length) log.warn({ event: 'staging.cleaned', files: cleaned.length }, 'removed staging leftovers of an interrupted ingest')
  markAbandonedSessions(o.db)

  const profiles = [o.profile, ...(o.profiles ?? [])]
  const table = await readMountTable()
  const realRoot = await raceAbort(realpath(o.root), o.signal)
  const inside = await camerasInside(realRoot, table, async (p) => looksLikeCamera(profiles, await readdir(p).catch(() => [])))
  if (inside.length) throw new NotACameraError(o.root, inside)
  const first = await listCamera(realRoot, o.profile, { signal: o.signal })
  if (first.files.length === 0 && first.problems.length === 0) throw new NoMediaError(o.root, first)
  o.onListing?.(first)

  const named = idsFromNames(
    first.files.map((f) => f.sourcePath.slice(f.sourcePath.lastIndexOf('/') + 1)),
    profiles,
  )
  const fs = await raceAbort(volumeFileSystem(first.root, table), o.signal)
  const keys = volumeKeys({ usb: o.usb, fs, deviceId: o.identity?.deviceId, namedDevice: named.deviceId, folder: first.root })
  const now = new Date().toISOString()
  const volume = volumeForKeys(o.db, keys, now)
  const identity: Identity = { deviceId: o.identity?.deviceId ?? named.deviceId, officerId: o.identity?.officerId ?? named.officerId }
  const sessionId = startSession(o.db, {
    sourceRoot: first.root,
    profileId: o.profile.id,
    deviceId: identity.deviceId ?? null,
    volumeId: volume.id,
    volumeKey: keys[0]!,
    filesSeen: first.files.length,
    pid: process.pid,
    startedAt: now,
  })
  const report: IngestReport = {
    sessionId,
    state: 'incomplete',
    root: first.root,
    profileId: o.profile.id,
    volume: { id: volume.id, keys },
    ingested: [],
    present: [],
    skipped: first.skipped,
    unrecognised: first.unrecognised,
    failed: [],
    retried: [],
    filesTotal: 0,
    bytesTotal: 0,
    bytesIngested: 0,
    passes: 0,
    listedAt: first.listedAt,
    durationMs: 0,
  }
  const run = new SessionRun(o, report, { id: volume.id, key: keys[0]! }, identity)
  const slog = log.child({ sessionId })
  for (const s of first.skipped) slog.info({ event: 'ingest.skip', sourcePath: s.sourcePath, reason: s.reason }, 'not a file of the camera: passed over')
  for (const s of first.unrecognised) slog.info({ event: 'ingest.unrecognised', sourcePath: s.sourcePath }, 'not a media file: listed, not ingested')
  slog.info({ event: 'ingest.start', files: first.files.length, bytes: first.files.reduce((a, f) => a + f.size, 0), volume: keys }, 'ingest session started')

  let last = first
  let stopped: string | undefined
  let files = first.files
  run.verifier = o.readBackVerify ? new ReadBackVerifier(o.chunkBytes) : undefined
  try {
    for (let pass = 1; ; pass++) {
      report.passes = pass
      run.plan(files, pass)
      await runPass(run, files)
      // Before saying anything: list the volume again; what is new or changed since is copied first.
      last = await listCamera(first.root, o.profile, { signal: o.signal }).catch((err: unknown) => {
        if (o.signal?.aborted) throw new StopSession('not copied: ingest was stopped')
        throw new StopSession(
          errnoCode(err) === 'ENOENT' ? 'not copied: the camera was disconnected' : `the volume could not be listed again: ${errorMessage(err)}`,
        )
      })
      o.onListing?.(last)
      const todo = last.files.filter((f) => run.needs(f))
      if (todo.length === 0) break
      if (pass >= o.maxPasses) {
        for (const f of todo) run.fail(f, keptChanging(run.outcomes.get(f.rawB64), f, pass), f.listed)
        break
      }
      slog.info({ event: 'ingest.pass', pass: pass + 1, files: todo.length }, 'files appeared or changed since the last listing: copying them')
      files = todo
    }
  } catch (err) {
    // Whatever ends the session early, it ends recorded as incomplete, never left `running`.
    stopped = err instanceof StopSession ? err.message : `not copied: ${errorMessage(err)}`
    if (!(err instanceof StopSession)) slog.error({ event: 'ingest.error', err: errorMessage(err), stack: (err as Error).stack }, 'ingest session failed')
    const n = run.failPending(files, stopped)
    slog.error({ event: 'ingest.stopped', reason: stopped, remaining: n }, 'ingest session stopped early')
  } finally {
    await run.verifier?.close()
  }

  report.skipped = last.skipped
  report.unrecognised = last.unrecognised
  for (const out of run.outcomes.values()) if (out.kind === 'failed') report.failed.push({ sourcePath: out.sourcePath, error: out.error })
  for (const p of last.problems) report.failed.push({ sourcePath: p.sourcePath, error: p.reason })
  report.listedAt = last.listedAt
  report.filesTotal = run.progress.filesTotal
  report.bytesTotal = run.progress.bytesTotal
  report.state = report.failed.length === 0 && !stopped ? 'complete' : 'incomplete'
  report.durationMs = Date.now() - started
  o.db
    .transaction(() => {
      endSession(o.db, sessionId, {
        endedAt: new Date().toISOString(),
        state: report.state,
        filesSeen: report.filesTotal,
        ingested: report.ingested.length,
        present: report.present.length,
        skipped: report.skipped.length,
        bytesIngested: report.bytesIngested,
        failures: report.failed,
        unrecognised: report.unrecognised,
        passes: report.passes,
        listedAt: report.listedAt,
      })
      appendEvent(o.db, {
        type: 'ingest-session-ended',
        actor: o.actor,
        subject: `session:${sessionId}`,
        payload: {
          sessionId,
          state: report.state,
          root: report.root,
          profileId: o.profile.id,
          deviceId: identity.deviceId ?? null,
          volume: keys[0]!,
          ingested: report.ingested.length,
          present: report.present.length,
          skipped: report.skipped.length,
          unrecognised: report.unrecognised.length,
          failed: report.failed.length,
          retried: report.retried.length,
          passes: report.passes,
          bytesIngested: report.bytesIngested,
        },
      })
    })
    .immediate()
  slog.info(
    {
      event: 'ingest.end',
      state: report.state,
      ingested: report.ingested.length,
      present: report.present.length,
      failed: report.failed.length,
      unrecognised: report.unrecognised.length,
      retried: report.retried.length,
      passes: report.passes,
      listedAt: report.listedAt,
      bytes: report.bytesIngested,
      ms: report.durationMs,
    },
    'ingest session ended',
  )
  return report
}
