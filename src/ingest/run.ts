/**
 * The state of one running ingest session that the copy pipeline reports
 * into: what happened to each raw path (ingested, present, failed with its
 * reason), the live progress, and the report being built. Also the rules a
 * pass needs: which recording a file already is, and how a per-file error
 * is told.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Identity, RecordingFacts } from '../camera/names.js'
import { findBySource } from '../catalog/recordings.js'
import { knownVolumeFiles, rememberVolumeFile } from '../catalog/sessions.js'
import { errnoCode, errorMessage } from '../common/errors.js'
import type { SourceRead } from './copy.js'
import { type Fingerprint, NotRegularError, raceAbort, ReplacedError } from './source.js'
import type { IngestOptions, IngestProgress, IngestReport } from './types.js'
import type { CameraFile } from './walk.js'

/** Ends the session early (stop request, full disk, camera gone); the message says why. */
export class StopSession extends Error {}

/** What happened to one raw path, as of its latest attempt in this session. */
export type Outcome =
  | { kind: 'ingested' | 'present'; fp: Fingerprint }
  | { kind: 'failed'; error: string; sourcePath: string; fp: Fingerprint; nextPass: boolean }

/** A file that kept changing while it was read, every time. */
export class ChangedWhileCopying extends Error {
  constructor(
    readonly changes: string[],
    readonly growing: boolean,
  ) {
    super(
      growing
        ? `still-growing: the camera was still writing this file (${changes.join('; ')}): not ingested; let the recording finish, then dock again`
        : `changed-while-copying: the file changed during each of ${changes.length} reads (${changes.join('; ')}): not ingested; dock again`,
    )
    this.name = 'ChangedWhileCopying'
  }
}

/** The shared state of one running session: what pipeline.ts reports into. */
export class SessionRun {
  readonly outcomes = new Map<string, Outcome>()
  readonly progress: IngestProgress
  private pending = new Set<string>()

  constructor(
    readonly o: IngestOptions,
    readonly report: IngestReport,
    readonly volume: { id: number; key: string },
    readonly identity: Identity,
  ) {
    this.progress = { sessionId: report.sessionId, filesDone: 0, filesTotal: 0, filesStored: 0, bytesDone: 0, bytesTotal: 0, pass: 0, waitingSince: null }
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

  knownShas(f: CameraFile, facts: RecordingFacts): Map<string, { id: number; session: number | null }> {
    return knownRecordings(this, f, facts)
  }

  present(f: CameraFile, r: SourceRead, earlier: { id: number; session: number | null }): void {
    rememberPresent(this, f, r, earlier.id)
    this.outcomes.set(f.rawB64, { kind: 'present', fp: r.after })
    this.stored()
    this.report.present.push({ id: earlier.id, sha256: r.sha256, size: r.size, sourcePath: f.sourcePath, raw: f.rawB64, earlierSession: earlier.session })
  }

  ingested(f: CameraFile, r: SourceRead, id: number): void {
    this.outcomes.set(f.rawB64, { kind: 'ingested', fp: r.after })
    this.stored()
    this.report.ingested.push({ id, sha256: r.sha256, size: r.size, sourcePath: f.sourcePath, raw: f.rawB64 })
    this.report.bytesIngested += r.size
    this.o.logger.debug({ event: 'ingest.file', sessionId: this.sessionId, id, sourcePath: f.sourcePath, sha256: r.sha256, size: r.size }, 'ingested')
  }

  private stored(): void {
    this.progress.filesStored++
    this.o.onProgress?.(this.progress)
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
export function keptChanging(before: Outcome | undefined, f: CameraFile, passes: number): string {
  if (before && before.kind !== 'failed' && f.listed.size > before.fp.size && f.listed.ino === before.fp.ino)
    return `still-growing: the camera was still writing this file (${before.fp.size} -> ${f.listed.size} bytes between listings); the versions read so far are in the vault, not the last one; let the recording finish, then dock again`
  return `kept changing: new or changed at each of ${passes} listings of the volume; dock again`
}

/** Same inode, size and times: the file the listing shows is the version that was read. */
function sameFile(a: Fingerprint, b: Fingerprint): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs
}

/** A recording this file already is: from this volume by raw name, else from this device by path (stored recordings only). */
export function knownRecordings(
  s: Pick<SessionRun, 'o' | 'volume'>,
  f: CameraFile,
  facts: RecordingFacts,
): Map<string, { id: number; session: number | null }> {
  const out = new Map<string, { id: number; session: number | null }>()
  for (const v of knownVolumeFiles(s.o.db, s.volume.id, f.rawB64)) if (!out.has(v.sha256)) out.set(v.sha256, { id: v.recordingId, session: v.sessionId })
  const byDevice = findBySource(s.o.db, facts.deviceId, f.sourcePath, {})
  if (byDevice && byDevice.status === 'stored' && !out.has(byDevice.sha256)) out.set(byDevice.sha256, { id: byDevice.id, session: byDevice.sessionId })
  return out
}

/** Ties a file found present to its earlier recording for later dockings of this volume. */
export function rememberPresent(s: Pick<SessionRun, 'o' | 'volume' | 'sessionId'>, f: CameraFile, r: SourceRead, recordingId: number): void {
  rememberVolumeFile(s.o.db, s.volume.id, { rawPath: f.rawB64, sha256: r.sha256, size: r.size, recordingId, sessionId: s.sessionId })
}

/** A per-file error as the report says it. */
export function describeFileError(err: unknown): { error: string; nextPass: boolean } {
  if (err instanceof ChangedWhileCopying) return { error: err.message, nextPass: false }
  if (err instanceof NotRegularError) return { error: `replaced after it was listed: ${err.message}`, nextPass: true }
  if (err instanceof ReplacedError) return { error: err.message, nextPass: true }
  const code = errnoCode(err)
  if (code === 'ENOENT') return { error: 'the file vanished from the camera while it was being read (ENOENT)', nextPass: true }
  if (code === 'EIO') return { error: 'the camera returned a read error (EIO): the medium may be damaged or was unplugged', nextPass: false }
  return { error: errorMessage(err), nextPass: false }
}
