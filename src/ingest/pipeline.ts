/**
 * One enumeration pass of an ingest session over a list of camera files.
 * Two stages overlap: while file N is fsynced and committed (stage B), the
 * files after it are already being copied and read back (stage A), up to
 * COMMITS_AHEAD staged files waiting for their turn: stage B runs one file
 * at a time, in the order the files were listed, so the catalog's rows and
 * the ledger's `ingested` events come in the camera's order. Stage A re-reads
 * a file whose fstat changed during the read (up to `changeRetries` more
 * times) and never hands on a copy of a file that moved under it; stage B
 * renames the verified copy into the vault and records it. A file already
 * recorded from this volume (same raw name and SHA-256) or, as before
 * volume identities, from this device (same path and SHA-256) is reported
 * `present` and stored nothing again.
 */
import { stat } from 'node:fs/promises'
import { type RecordingFacts, recordingFacts } from '../camera/names.js'
import { errnoCode } from '../common/errors.js'
import { hashSource, type StagedCopy, stageCopy } from './copy.js'
import { recordIngested } from './record.js'
import { ChangedWhileCopying, type SessionRun, StopSession } from './run.js'
import { raceAbort } from './source.js'
import type { CameraFile } from './walk.js'

interface Staged {
  file: CameraFile
  facts: RecordingFacts
  copy: StagedCopy
}

/**
 * Staged files (copied and read back, not yet fsynced and recorded) in stage
 * B at once: the one being committed and those waiting behind it. With one
 * (before 2026-11-30 evening), stage A of a file waited for the commit of
 * the file two before it: a small file after a large one waited for the
 * large one's fsync (0.1 to 0.5 s for 700 MB on this VM, strace), and the
 * next large file with it. A waiting staged file holds no buffer slot
 * (copy.ts lets them go before its finalize), only its descriptors and its
 * bytes in staging/.
 */
export const COMMITS_AHEAD = 4

/** Runs stage A and B over `files`; per-file errors are outcomes, a StopSession ends the pass (the caller marks the rest). */
export async function runPass(s: SessionRun, files: CameraFile[]): Promise<void> {
  // Stage B's queue: each promise settles (never rejects) once its file is recorded, found present or failed; in order.
  const commits: Promise<void>[] = []
  let last: Promise<void> = Promise.resolve()
  let stopReason: string | undefined
  const stopped = (): void => {
    if (stopReason) throw new StopSession(stopReason)
  }
  const enqueue = (staged: Staged): void => {
    const done = last.then(async () => {
      // After a full disk, nothing more is committed: the copies waiting are dropped and fail with the reason.
      if (stopReason) {
        await staged.copy.discard()
        s.fail(staged.file, stopReason, staged.copy.after)
        return
      }
      await commitStaged(s, staged).catch((err: unknown) => {
        const code = errnoCode(err)
        if (code === 'ENOSPC' || code === 'EDQUOT') stopReason = s.diskFullMessage()
        s.fail(staged.file, err, staged.copy.after)
      })
    })
    last = done
    commits.push(done)
    void done.then(() => commits.splice(commits.indexOf(done), 1))
  }
  try {
    for (const f of files) {
      if (s.o.signal?.aborted) throw new StopSession('not copied: ingest was stopped')
      // Room in stage B's queue before the disk gate is taken: a file never holds the gate while it waits for commits.
      while (commits.length >= COMMITS_AHEAD) await commits[0]
      stopped()
      const job = s.startJob(f)
      try {
        const release = await s.o.diskGate?.(f.size, s.o.signal)
        const staged = await stageFile(s, f, job).finally(() => release?.())
        if (stopReason) {
          await staged?.copy.discard()
          stopped()
        }
        if (staged) enqueue(staged)
      } catch (err) {
        if (err instanceof StopSession) throw err
        const code = errnoCode(err)
        if (code === 'ENOSPC' || code === 'EDQUOT') throw new StopSession(s.diskFullMessage())
        if (s.o.signal?.aborted) throw new StopSession('not copied: ingest was stopped')
        s.fail(f, err, f.listed)
        if (!(await exists(s.root, s.o.signal))) throw new StopSession('not copied: the camera was disconnected')
      }
      job.done()
    }
    await last
    stopped()
  } finally {
    // Whatever ends the pass, no commit is left running behind it: every staged file is recorded, or failed and removed.
    await last
  }
}

/**
 * Stage A of one file: a file this volume already gave (same raw name, same
 * content) is only hashed (one read, no write) and reported present;
 * anything else is copied to staging while hashed. A read during which the
 * file's fstat changed is thrown away and done again.
 */
async function stageFile(s: SessionRun, f: CameraFile, job: ReturnType<SessionRun['startJob']>): Promise<Staged | undefined> {
  const o = s.o
  const changes: string[] = []
  let growing = true
  const attempts = 1 + o.changeRetries
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await s.pause(250 * (attempt - 1))
    const read = { chunk: o.chunkBytes, buffers: o.buffers, signal: o.signal, onBytes: job.bytes, onWait: s.onWait }
    const facts = recordingFacts(f.sourcePath.slice(f.sourcePath.lastIndexOf('/') + 1), f.mtimeMs, o.profile, s.identity)
    const known = s.knownShas(f, facts)
    if (known.size > 0) {
      const h = await hashSource(f, read)
      if (h.changed) {
        job.rewind()
        changes.push(h.changed)
        growing &&= h.after.size > h.before.size
        continue
      }
      if (known.has(h.sha256)) {
        s.present(f, h, known.get(h.sha256)!)
        return undefined
      }
      job.rewind() // a new version at a known path: copied below, its bytes counted again
    }
    const free = await o.vault.freeBytes()
    if (free < f.size + o.minFreeBytes) throw new StopSession(s.diskFullMessage(f.size + o.minFreeBytes, free))
    const copy = await stageCopy(f, o.vault.stagingPath(), {
      ...read,
      readBack: o.readBackVerify,
      afterWrite: o.afterStagedWrite && ((path, pos, n) => o.afterStagedWrite?.(f.sourcePath, path, pos, n)),
    })
    if (copy.changed) {
      await copy.discard()
      job.rewind()
      changes.push(copy.changed)
      growing &&= copy.after.size > copy.before.size
      continue
    }
    if (changes.length) s.retried(f, attempt, changes)
    return {
      file: f,
      facts: recordingFacts(f.sourcePath.slice(f.sourcePath.lastIndexOf('/') + 1), Number(copy.before.mtimeNs / 1_000_000n), o.profile, s.identity),
      copy,
    }
  }
  throw new ChangedWhileCopying(changes, growing)
}

/**
 * Stage B: fsync and the staged copy's length check (stage A compared every
 * range as it was written), then (the order that makes invariant
 * 1 hold) atomic rename into objects/, then the row, its ledger event and
 * the volume-file row in one transaction.
 */
async function commitStaged(s: SessionRun, st: Staged): Promise<void> {
  const { file: f, facts, copy } = st
  const o = s.o
  await copy.finalize()
  const earlier = s.knownShas(f, facts).get(copy.sha256)
  if (earlier) {
    await copy.discard()
    s.present(f, copy, earlier)
    return
  }
  await o.vault.commitObject(copy.path, copy.sha256)
  const attribution = o.resolveOfficer
    ? {
        resolve: o.resolveOfficer,
        input: {
          deviceId: facts.deviceId,
          officerId: facts.officerId,
          officerFrom: officerFrom(s, f, facts),
          usb: o.usb ?? null,
          recordedAt: facts.recordedAt,
          kind: f.kind,
          counter: facts.counter,
          sessionId: s.sessionId,
        },
      }
    : undefined
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
      sessionId: s.sessionId,
    },
    o.actor,
    o.onRecorded,
    { volumeId: s.volume.id, volumeKey: s.volume.key, rawPath: f.rawB64 },
    attribution,
  )
  s.ingested(f, copy, id)
}

/** Where the camera's officer for this file came from: its own name, else the unlock tool (or `ingest --officer`), else the other files' names. */
function officerFrom(s: SessionRun, f: CameraFile, facts: RecordingFacts): 'file-name' | 'camera-identity' | null {
  if (facts.officerId === null) return null
  const own = recordingFacts(f.sourcePath.slice(f.sourcePath.lastIndexOf('/') + 1), 0, s.o.profile).officerId
  if (own !== null) return 'file-name'
  return s.o.identity?.officerId === facts.officerId ? 'camera-identity' : 'file-name'
}

async function exists(path: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await raceAbort(stat(path), signal)
    return true
  } catch {
    return false
  }
}
