import { constants as C } from 'node:fs'
import { type FileHandle, open, rm } from 'node:fs/promises'
import type { CopyResult } from '../vault/hash.js'
import { type BufferLease, type IngestBuffers, ownLease, slotsWanted } from './buffers.js'
import { type StagingWriter, stagingWriter } from './direct.js'
import { openReadBack, type ReadBack } from './readback.js'
import { type Fingerprint, openCameraFile, openDirect, readCameraFile } from './source.js'

export type { CopyResult } from '../vault/hash.js'

/** A camera file as the walk listed it: where it is and which inode it was. */
export interface SourceRef {
  absPath: Buffer
  /** Display form of its path, for messages. */
  sourcePath: string
  dev: bigint
  ino: bigint
}

export interface ReadOptions {
  chunk: number
  /** The station's budget of read buffers (buffers.ts); without one, a file's buffers are its own. */
  buffers?: IngestBuffers | undefined
  signal?: AbortSignal | undefined
  onBytes?: (n: number) => void
  /** A kernel call on the camera started (its time) or returned (null). */
  onWait?: (since: number | null) => void
}

/** One read of a camera file: its hash and how it stood before and after. */
export interface SourceRead extends CopyResult {
  before: Fingerprint
  after: Fingerprint
  /** How the file changed while it was read, or null when it stood still. */
  changed: string | null
}

/**
 * Hashes a camera file without writing anything (re-dock of a file already
 * in the vault: one read, no write).
 */
export async function hashSource(f: SourceRef, o: ReadOptions): Promise<SourceRead> {
  const src = await openCameraFile(f.absPath, f, { signal: o.signal, onWait: o.onWait, display: f.sourcePath })
  // Two slots at most: the next read under way while this chunk is hashed (nothing is written).
  const lease = await leaseFor(o, Math.min(2, slotsWanted(Number(src.before.size), o.chunk))).catch(async (err: unknown) => {
    await src.fh.close().catch(() => undefined)
    throw err
  })
  try {
    const bufs = lease.slots.map((s) => s.raw.subarray(0, o.chunk))
    const r = await readCameraFile(src, { ...o, display: f.sourcePath, bufs, leftBehind: (i) => lease.retire(i) })
    return { sha256: r.sha256, size: r.bytes, before: src.before, after: r.after, changed: r.changed }
  } finally {
    lease.release()
  }
}

/** Up to `want` slots from the station's budget, else the file's own. */
function leaseFor(o: ReadOptions, want: number): Promise<BufferLease> {
  return o.buffers ? o.buffers.acquire(want, o.chunk, o.signal) : Promise.resolve(ownLease(want, o.chunk))
}

/** A camera file whose bytes are in staging but not yet durable and verified. */
export interface StagedCopy extends SourceRead {
  /** The staging file. */
  path: string
  /** fsync, then the staged file must be as long as the camera file (every range was compared as written); on failure the staging file is removed. */
  finalize(): Promise<void>
  /** Drop it: the staging file is removed. */
  discard(): Promise<void>
}

export interface StageOptions extends ReadOptions {
  /** Read each written range back and compare it with the bytes written (readback.ts); config ingest.readBackVerify. */
  readBack?: boolean | undefined
  /** For fault tests only: runs after the range at `pos` of the staging file is written and before it is read back. */
  afterWrite?: ((stagingPath: string, pos: number, n: number) => void) | undefined
}

/**
 * One pass over a camera file: each chunk is read once, hashed, written to
 * the staging file and read back and compared with what was written, with
 * the next read already under way meanwhile. Resolves when every byte is
 * written and compared, with the before/after fstat of the source: a caller
 * must discard a copy whose source `changed`. `finalize()` then fsyncs and
 * checks the staged file's length, so a caller can overlap one file's fsync
 * with the next file's copy. Any failure removes the staging file: nothing
 * partial is left to trust.
 */
export async function stageCopy(f: SourceRef, stagingPath: string, o: StageOptions): Promise<StagedCopy> {
  let dst: FileHandle | undefined
  let writer: StagingWriter | undefined
  let back: ReadBack | undefined
  let lease: BufferLease | undefined
  const fail = async (err: unknown): Promise<never> => {
    lease?.release()
    await back?.close().catch(() => undefined)
    back = undefined
    await writer?.close().catch(() => undefined)
    writer = undefined
    await dst?.close().catch(() => undefined)
    dst = undefined
    await rm(stagingPath, { force: true })
    throw err
  }
  try {
    // The staging file and the camera file are opened at once, and below the writer's direct descriptor, the camera
    // file's and the read-back's: each open is a trip through libuv's pool, and with eight cameras docked the pool is
    // busy with their reads, so every trip waits its turn; one after another, a file's opens kept its camera idle
    // longer than reading a 4 MiB chunk takes (bench/throttled-dock.ts).
    const [opened, source] = await Promise.allSettled([
      open(stagingPath, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600),
      openCameraFile(f.absPath, f, { signal: o.signal, onWait: o.onWait, display: f.sourcePath }),
    ])
    if (opened.status === 'fulfilled') dst = opened.value
    if (source.status === 'rejected') throw source.reason
    // readCameraFile (which always closes it) owns the camera file from here; until then, whoever fails closes it.
    const src = source.value
    if (opened.status === 'rejected') {
      await src.fh.close().catch(() => undefined)
      throw opened.reason
    }
    const out = opened.value
    // The slots are taken after the disk gate (pipeline.ts), never before: a file holding slots waits for nothing but its own I/O.
    const w = await leaseFor(o, slotsWanted(Number(src.before.size), o.chunk))
      .then((l) => {
        lease = l
        return stagingWriter(stagingPath, out, o.chunk, Number(src.before.size), l.slots)
      })
      .catch(async (err: unknown) => {
        await src.fh.close().catch(() => undefined)
        throw err
      })
    writer = w
    // Where the staging buffers are aligned for direct writes, the camera is read into them directly too (source.ts
    // openDirect, which never rejects: without O_DIRECT it gives nothing).
    const [direct, readBack] = await Promise.all([
      w.direct ? openDirect(src, { signal: o.signal, display: f.sourcePath }) : undefined,
      o.readBack
        ? openReadBack(stagingPath, w.direct).then(
            (rb) => ({ rb }),
            (err: unknown) => ({ err }),
          )
        : undefined,
    ])
    if (readBack && 'err' in readBack) {
      await src.fh.close().catch(() => undefined)
      await direct?.close().catch(() => undefined)
      throw readBack.err
    }
    back = readBack?.rb
    const rb = back
    const held = lease
    const r = await readCameraFile(src, {
      ...o,
      display: f.sourcePath,
      bufs: w.bufs,
      direct,
      sink: async (buf, pos, slot) => {
        await w.write(buf, pos)
        o.afterWrite?.(stagingPath, pos, buf.length)
        await rb?.check(buf, pos, w.scratch[slot]!)
      },
      leftBehind: (i) => held?.retire(i),
    })
    // Every chunk is written and compared: the slots go to the next file (fsync and commit need none).
    lease?.release()
    const sha256 = r.sha256
    const size = r.bytes
    return {
      sha256,
      size,
      before: src.before,
      after: r.after,
      changed: r.changed,
      path: stagingPath,
      finalize: async () => {
        try {
          // One fsync of the file covers what both descriptors wrote.
          await out.sync()
          await w.close()
          writer = undefined
          await out.close()
          dst = undefined
          if (back) {
            await back.finish(size)
            await back.close()
            back = undefined
          }
        } catch (err) {
          await fail(err)
        }
      },
      discard: () => fail(null).catch(() => undefined),
    }
  } catch (err) {
    // `return await`: fail() must settle inside this try, or its rejection goes unobserved meanwhile.
    return await fail(err)
  }
}

/** stageCopy and its finalize in one step (a source that changed while read is refused). */
export async function copyToStaging(f: SourceRef, stagingPath: string, o: StageOptions): Promise<SourceRead> {
  const staged = await stageCopy(f, stagingPath, o)
  if (staged.changed) {
    await staged.discard()
    throw new Error(`changed-while-copying: ${staged.changed}`)
  }
  await staged.finalize()
  return { sha256: staged.sha256, size: staged.size, before: staged.before, after: staged.after, changed: null }
}
