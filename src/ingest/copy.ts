import { createHash } from 'node:crypto'
import { constants as C } from 'node:fs'
import { open, rm, type FileHandle } from 'node:fs/promises'
import { type CopyResult, hashHandle } from '../vault/hash.js'
import type { ReadBackVerifier } from './readback.js'

export type { CopyResult } from '../vault/hash.js'

export class SourceChangedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SourceChangedError'
  }
}

/**
 * Opens a camera file for reading only, refusing to follow a link and
 * checking it is still the regular file that was listed (same inode).
 */
async function openSource(absPath: string, ino: number): Promise<FileHandle> {
  const fh = await open(absPath, C.O_RDONLY | C.O_NOFOLLOW)
  const st = await fh.stat()
  if (!st.isFile() || st.ino !== ino) {
    await fh.close()
    throw new SourceChangedError('the file was replaced while the camera was being read')
  }
  return fh
}

/**
 * Hashes a camera file without writing anything (re-dock of a file already
 * in the vault: one read, no write).
 */
export async function hashSource(absPath: string, ino: number, chunk: number): Promise<CopyResult> {
  return hashHandle(await openSource(absPath, ino), chunk)
}

async function writeAll(fh: FileHandle, buf: Buffer, at: number): Promise<void> {
  let off = 0
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, at + off)
    off += bytesWritten
  }
}

/** A camera file whose bytes are in staging but not yet durable and verified. */
export interface StagedCopy extends CopyResult {
  /** The staging file. */
  path: string
  /** fsync, then the read-back hash must equal the source hash; on failure the staging file is removed. */
  finalize(): Promise<void>
  /** Drop it: the staging file is removed. */
  discard(): Promise<void>
}

/**
 * One pass over a camera file: each chunk is read once, hashed, and written
 * to the staging file, with the next read already under way while this one
 * is hashed and written. Resolves when every byte is written; `finalize()`
 * then fsyncs and checks the read-back, so a caller can overlap one file's
 * fsync with the next file's copy. Any failure removes the staging file:
 * nothing partial is left for anyone to trust.
 */
export async function stageCopy(
  absPath: string,
  ino: number,
  stagingPath: string,
  opts: { chunk: number; verifier?: ReadBackVerifier | undefined; onBytes?: (n: number) => void; signal?: AbortSignal | undefined },
): Promise<StagedCopy> {
  const { chunk } = opts
  const src = await openSource(absPath, ino)
  let dst: FileHandle | undefined
  let follow: ReturnType<ReadBackVerifier['follow']> | undefined
  let pending: Promise<{ bytesRead: number }> | undefined
  const fail = async (err: unknown): Promise<never> => {
    follow?.abandon()
    await dst?.close().catch(() => undefined)
    await rm(stagingPath, { force: true })
    throw err
  }
  try {
    dst = await open(stagingPath, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600)
    follow = opts.verifier?.follow(stagingPath)
    const h = createHash('sha256')
    const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)]
    let pos = 0
    let i = 0
    pending = src.read(bufs[0]!, 0, chunk, 0)
    for (;;) {
      const { bytesRead }: { bytesRead: number } = await pending
      pending = undefined
      if (bytesRead === 0) break
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('ingest aborted')
      const cur = bufs[i]!.subarray(0, bytesRead)
      i ^= 1
      // The next read goes to the other buffer, whose write has completed;
      // this chunk's write runs on the thread pool while it is hashed here.
      pending = src.read(bufs[i]!, 0, chunk, pos + bytesRead)
      const written = writeAll(dst, cur, pos)
      h.update(cur)
      await written
      pos += bytesRead
      follow?.advance(pos)
      opts.onBytes?.(bytesRead)
    }
    const sha256 = h.digest('hex')
    const size = pos
    const out = dst
    return {
      sha256,
      size,
      path: stagingPath,
      finalize: async () => {
        try {
          await out.sync()
          await out.close()
          dst = undefined
          if (follow) {
            const back = await follow.finish()
            follow = undefined
            if (back.sha256 !== sha256 || back.bytes !== size) {
              throw new Error(
                `read-back verification failed: staged copy has ${back.bytes} bytes with SHA-256 ${back.sha256}, camera gave ${size} bytes with ${sha256}`,
              )
            }
          }
        } catch (err) {
          await fail(err)
        }
      },
      discard: () => fail(null).catch(() => undefined),
    }
  } catch (err) {
    // A read still under way must not surface later as an unhandled rejection.
    pending?.catch(() => undefined)
    // `return await`: fail() must settle inside this try, not after `finally` has awaited the close,
    // or its rejection goes unobserved meanwhile and Node ends the process (unhandled rejection).
    return await fail(err)
  } finally {
    await src.close().catch(() => undefined)
  }
}

/** stageCopy and its finalize in one step. */
export async function copyToStaging(absPath: string, ino: number, stagingPath: string, opts: Parameters<typeof stageCopy>[3]): Promise<CopyResult> {
  const staged = await stageCopy(absPath, ino, stagingPath, opts)
  await staged.finalize()
  return { sha256: staged.sha256, size: staged.size }
}
