import { stat } from 'node:fs/promises'
import type { Db } from '../catalog/db.js'
import { findBySource } from '../catalog/recordings.js'
import { errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import type { DockingProfile } from '../camera/profile.js'
import { appendEvent } from '../ledger/ledger.js'
import type { Vault } from '../vault/store.js'
import { hashSource, stageCopy, type StagedCopy } from './copy.js'
import { recordingFacts, type Identity, type RecordingFacts } from '../camera/names.js'
import { ReadBackVerifier } from './readback.js'
import { type RecordedHook, recordIngested } from './record.js'
import { listCamera, type CameraFile, type Skipped } from './walk.js'

/** What ingest needs from the station, the same for every session (built once in src/station/). */
export interface IngestContext {
  db: Db
  vault: Vault
  stationId: string
  /** Who the ledger names as the actor, e.g. "station:station-01". */
  actor: string
  settings: IngestSettings
  logger: Logger
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
}

/** One camera's session: where it is mounted, how to read it, and who is asking. */
export interface IngestSessionOptions {
  /** The mounted camera folder. */
  root: string
  profile: DockingProfile
  /** Device/officer from the docked camera (unlock hook, CLI), used where file names say nothing. */
  identity?: Identity
  /** Defaults to the context's logger. */
  logger?: Logger
  signal?: AbortSignal
  onProgress?: (p: IngestProgress) => void
  /** Fair share of the disk between cameras (the station daemon's scheduler): awaited before each file is read. */
  diskGate?: (bytes: number, signal?: AbortSignal) => Promise<() => void>
}

type IngestOptions = Omit<IngestContext, 'settings' | 'logger'> & IngestSettings & IngestSessionOptions & { logger: Logger }

export interface IngestProgress {
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
  current?: string
}

export interface IngestReport {
  sessionId: number
  state: 'complete' | 'incomplete'
  root: string
  profileId: string
  ingested: { id: number; sha256: string; size: number; sourcePath: string }[]
  /** Already in the vault from an earlier docking: nothing stored again. */
  present: { id: number; sha256: string; size: number; sourcePath: string }[]
  skipped: Skipped[]
  failed: { sourcePath: string; error: string }[]
  filesTotal: number
  bytesTotal: number
  bytesIngested: number
  durationMs: number
}

class StopSession extends Error {}

/**
 * One ingest session over a mounted camera: list, then for each file copy
 * once while hashing, fsync, read back, rename into the vault and commit
 * the row with its ledger event. A per-file error does not stop the rest;
 * a full disk, a vanished camera or a stop request end the session early.
 * The session ends `complete` only when every media file on the camera is
 * verified in the vault.
 */
export async function ingestCamera(ctx: IngestContext, session: IngestSessionOptions): Promise<IngestReport> {
  const o: IngestOptions = { ...ctx, ...ctx.settings, ...session, logger: session.logger ?? ctx.logger }
  const started = Date.now()
  const log = o.logger.child({ root: o.root, profile: o.profile.id })
  o.vault.ensureLayout()
  const cleaned = await o.vault.cleanStaging()
  if (cleaned.length) log.warn({ event: 'staging.cleaned', files: cleaned.length }, 'removed staging leftovers of an interrupted ingest')
  markAbandonedSessions(o.db)

  const listing = await listCamera(o.root, o.profile)
  const sessionId = Number(
    o.db
      .prepare("INSERT INTO ingest_sessions (source_root, profile_id, device_id, pid, started_at, state, files_seen) VALUES (?, ?, ?, ?, ?, 'running', ?)")
      .run(listing.root, o.profile.id, o.identity?.deviceId ?? null, process.pid, new Date().toISOString(), listing.files.length).lastInsertRowid,
  )
  for (const s of listing.skipped) log.info({ event: 'ingest.skip', sessionId, sourcePath: s.sourcePath, reason: s.reason }, 'skipped')

  const report: IngestReport = {
    sessionId,
    state: 'complete',
    root: listing.root,
    profileId: o.profile.id,
    ingested: [],
    present: [],
    skipped: listing.skipped,
    failed: [],
    filesTotal: listing.files.length,
    bytesTotal: listing.files.reduce((a, f) => a + f.size, 0),
    bytesIngested: 0,
    durationMs: 0,
  }
  log.info({ event: 'ingest.start', sessionId, files: report.filesTotal, bytes: report.bytesTotal }, 'ingest session started')
  const progress: IngestProgress = { filesDone: 0, filesTotal: report.filesTotal, bytesDone: 0, bytesTotal: report.bytesTotal }
  const verifier = o.readBackVerify ? new ReadBackVerifier(o.chunkBytes) : undefined

  const files = listing.files
  // Two stages overlap: while file N is fsynced, read back and committed
  // (stage B, `inflight`), file N+1 is already being copied (stage A).
  // Stage B never rejects: it records its own failure, and a full disk
  // found there stops the session before the next commit.
  let inflight: Promise<void> | undefined
  let stopReason: string | undefined
  const settle = async (): Promise<void> => {
    await inflight
    inflight = undefined
    if (stopReason) throw new StopSession(stopReason)
  }
  const failFile = (f: CameraFile, err: unknown): void => {
    const error = describeFileError(err)
    report.failed.push({ sourcePath: f.sourcePath, error })
    log.error({ event: 'ingest.file_failed', sessionId, sourcePath: f.sourcePath, err: error }, 'file not ingested')
  }
  let index = 0
  try {
    for (; index < files.length; index++) {
      if (o.signal?.aborted) throw new StopSession('not copied: ingest was stopped')
      const f = files[index]!
      progress.current = f.sourcePath
      o.onProgress?.(progress)
      try {
        const release = await o.diskGate?.(f.size, o.signal)
        const staged = await stageFile(o, f, report, verifier, progress).finally(() => release?.())
        try {
          await settle()
        } catch (err) {
          await staged?.copy.discard()
          throw err
        }
        if (staged) {
          inflight = commitStaged(o, staged, sessionId, report).catch((err: unknown) => {
            const code = errnoCode(err)
            if (code === 'ENOSPC' || code === 'EDQUOT') stopReason = diskFullMessage(o.vault)
            failFile(staged.file, err)
          })
        }
      } catch (err) {
        if (err instanceof StopSession) throw err
        await settle()
        const code = errnoCode(err)
        if (code === 'ENOSPC' || code === 'EDQUOT') throw new StopSession(diskFullMessage(o.vault))
        if (o.signal?.aborted) throw new StopSession('not copied: ingest was stopped')
        failFile(f, err)
        if (!(await exists(listing.root))) {
          index++
          throw new StopSession('not copied: the camera was disconnected')
        }
      }
      progress.filesDone++
      o.onProgress?.(progress)
    }
    await settle()
  } catch (err) {
    if (!(err instanceof StopSession)) throw err
    await inflight
    for (const f of files.slice(index)) report.failed.push({ sourcePath: f.sourcePath, error: err.message })
    log.error({ event: 'ingest.stopped', sessionId, reason: err.message, remaining: files.length - index }, 'ingest session stopped early')
  } finally {
    await inflight
    await verifier?.close()
  }

  report.state = report.failed.length === 0 ? 'complete' : 'incomplete'
  report.durationMs = Date.now() - started
  o.db
    .transaction(() => {
      o.db
        .prepare(
          `UPDATE ingest_sessions SET ended_at = ?, state = ?, files_ingested = ?, files_present = ?, files_skipped = ?, files_failed = ?, bytes_ingested = ?, failures = ? WHERE id = ?`,
        )
        .run(
          new Date().toISOString(),
          report.state,
          report.ingested.length,
          report.present.length,
          report.skipped.length,
          report.failed.length,
          report.bytesIngested,
          JSON.stringify(report.failed),
          sessionId,
        )
      appendEvent(o.db, {
        type: 'ingest-session-ended',
        actor: o.actor,
        subject: `session:${sessionId}`,
        payload: {
          sessionId,
          state: report.state,
          root: listing.root,
          profileId: o.profile.id,
          deviceId: o.identity?.deviceId ?? null,
          ingested: report.ingested.length,
          present: report.present.length,
          skipped: report.skipped.length,
          failed: report.failed.length,
          bytesIngested: report.bytesIngested,
        },
      })
    })
    .immediate()
  log.info(
    {
      event: 'ingest.end',
      sessionId,
      state: report.state,
      ingested: report.ingested.length,
      present: report.present.length,
      failed: report.failed.length,
      bytes: report.bytesIngested,
      ms: report.durationMs,
    },
    'ingest session ended',
  )
  return report
}

interface Staged {
  file: CameraFile
  facts: RecordingFacts
  copy: StagedCopy
}

/**
 * Stage A of one file: a re-docked file already in the vault is only hashed
 * (one read, no write) and reported present; anything else is copied to
 * staging while hashed.
 */
async function stageFile(
  o: IngestOptions,
  f: CameraFile,
  report: IngestReport,
  verifier: ReadBackVerifier | undefined,
  progress: IngestProgress,
): Promise<Staged | undefined> {
  const name = f.sourcePath.slice(f.sourcePath.lastIndexOf('/') + 1)
  const facts = recordingFacts(name, f.mtimeMs, o.profile, o.identity)

  const earlier = findBySource(o.db, facts.deviceId, f.sourcePath, { size: f.size })
  if (earlier) {
    const h = await hashSource(f.absPath, f.ino, o.chunkBytes)
    if (h.sha256 === earlier.sha256) {
      progress.bytesDone += f.size
      report.present.push({ id: earlier.id, sha256: h.sha256, size: h.size, sourcePath: f.sourcePath })
      return undefined
    }
  }

  const free = await o.vault.freeBytes()
  if (free < f.size + o.minFreeBytes) throw new StopSession(diskFullMessage(o.vault, f.size + o.minFreeBytes, free))

  const copy = await stageCopy(f.absPath, f.ino, o.vault.stagingPath(), {
    chunk: o.chunkBytes,
    verifier,
    signal: o.signal,
    onBytes: (n) => {
      progress.bytesDone += n
      o.onProgress?.(progress)
    },
  })
  return { file: f, facts, copy }
}

/**
 * Stage B: fsync and read-back check, then (the order that makes invariant
 * 1 hold) atomic rename into objects/, then the row and its ledger event in
 * one transaction.
 */
async function commitStaged(o: IngestOptions, s: Staged, sessionId: number, report: IngestReport): Promise<void> {
  const { file: f, facts, copy } = s
  await copy.finalize()
  const same = findBySource(o.db, facts.deviceId, f.sourcePath, { sha256: copy.sha256 })
  if (same) {
    await copy.discard()
    report.present.push({ id: same.id, sha256: copy.sha256, size: copy.size, sourcePath: f.sourcePath })
    return
  }
  await o.vault.commitObject(copy.path, copy.sha256)
  const { id } = recordIngested(
    o.db,
    {
      sha256: copy.sha256,
      size: copy.size,
      kind: f.kind,
      sourcePath: f.sourcePath,
      stationId: o.stationId,
      deviceId: facts.deviceId,
      officerId: facts.officerId,
      recordedAt: facts.recordedAt,
      recordedOffset: facts.recordedOffset,
      recordedSource: facts.recordedSource,
      important: facts.important,
      category: facts.important ? 'evidence' : null,
      caseNumber: null,
      profileId: o.profile.id,
      sessionId,
    },
    o.actor,
    o.onRecorded,
  )
  report.ingested.push({ id, sha256: copy.sha256, size: copy.size, sourcePath: f.sourcePath })
  report.bytesIngested += copy.size
  o.logger.debug({ event: 'ingest.file', sessionId, id, sourcePath: f.sourcePath, sha256: copy.sha256, size: copy.size }, 'ingested')
}

function diskFullMessage(vault: Vault, need?: number, have?: number): string {
  const numbers = need !== undefined && have !== undefined ? ` (need ${need} bytes, ${have} free)` : ''
  return `not copied: the data disk is full${numbers}: free space in ${vault.dataDir} or move dataDir to a larger disk, then dock again`
}

function describeFileError(err: unknown): string {
  const code = errnoCode(err)
  if (code === 'ENOENT') return 'the file vanished from the camera while it was being read (ENOENT)'
  if (code === 'EIO') return 'the camera returned a read error (EIO): the medium may be damaged or was unplugged'
  if (code === 'ELOOP') return 'the file was replaced by a symbolic link: not followed'
  return errorMessage(err)
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** Sessions left `running` by a process that is gone end as `incomplete`. */
function markAbandonedSessions(db: Db): void {
  const rows = db.prepare("SELECT id, pid FROM ingest_sessions WHERE state = 'running'").all() as { id: number; pid: number }[]
  for (const r of rows) {
    if (r.pid === process.pid) continue
    let alive = true
    try {
      process.kill(r.pid, 0)
    } catch (err) {
      alive = errnoCode(err) === 'EPERM'
    }
    if (!alive) {
      db.prepare("UPDATE ingest_sessions SET state = 'incomplete', ended_at = ?, failures = ? WHERE id = ? AND state = 'running'").run(
        new Date().toISOString(),
        JSON.stringify([{ sourcePath: '', error: 'the ingest process ended before the session finished' }]),
        r.id,
      )
    }
  }
}
