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
import { looksLikeCamera } from '../camera/match.js'
import type { Identity } from '../camera/names.js'
import { idsFromNames, volumeKeys } from '../camera/volume-id.js'
import type { Db } from '../catalog/db.js'
import { abandonSession, endSession, runningSessions, startSession, volumeForKeys } from '../catalog/sessions.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { runPass } from './pipeline.js'
import { keptChanging, SessionRun, StopSession } from './run.js'
import { raceAbort } from './source.js'
import type { IngestContext, IngestOptions, IngestReport, IngestSessionOptions } from './types.js'
import { camerasInside, NotACameraError, readMountTable, volumeFileSystem } from './volume.js'
import { type Listing, listCamera } from './walk.js'

export type { FileEntry, IngestContext, IngestOptions, IngestProgress, IngestReport, IngestSessionOptions, IngestSettings } from './types.js'

/** Nothing on the volume is media: an empty card, or the wrong folder. */
export class NoMediaError extends BodyvaultError {
  constructor(root: string, l: Listing) {
    const other = l.unrecognised.length ? `; ${l.unrecognised.length} other file(s), e.g. ${l.unrecognised[0]!.sourcePath}` : ''
    super('NO_MEDIA', `no media file on ${root}${other}: nothing was ingested; check that this is the camera's volume`)
    this.name = 'NoMediaError'
  }
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
  // In the buffers' fair share from the start, before its listing: see buffers.ts.
  const leave = ctx.buffers?.reader()
  try {
    return await ingestOneCamera(ctx, session)
  } finally {
    leave?.()
  }
}

async function ingestOneCamera(ctx: IngestContext, session: IngestSessionOptions): Promise<IngestReport> {
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
        subject: subjects.session(sessionId),
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
  try {
    o.onSessionEnded?.(report)
  } catch (err) {
    slog.error(
      { event: 'ingest.after_session_failed', err: errorMessage(err), stack: (err as Error).stack },
      'the work after the session (reconciliation) failed',
    )
  }
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
