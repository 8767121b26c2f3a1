/**
 * Reading a byte range of a vault object so that no unchecked byte comes
 * out: every block the range touches is read whole, hashed and compared
 * with its recorded digest (blocks.ts) before its part of the range is
 * passed on. The first block is checked before openCheckedRange returns,
 * so a caller can still answer with an error instead of a body; a later
 * mismatch ends the stream with an error (the HTTP layer then aborts the
 * response: the client never gets a complete-looking body).
 */
import { createHash } from 'node:crypto'
import { constants as C } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { blockCount, blockDigest } from './blocks.js'

/** What the object's recorded facts say it must be. */
export interface RecordedBlocks {
  size: number
  blockBytes: number
  blocks: Buffer
}

/** The bytes on disk are not what was recorded: a block hashes differently, or ends early (the file is shorter). */
export class FixityMismatch extends Error {
  constructor(
    readonly problem: 'block' | 'short',
    /** The block that failed. */
    readonly block: number,
    message: string,
  ) {
    super(message)
    this.name = 'FixityMismatch'
  }
}

export interface CheckedRangeOptions extends RecordedBlocks {
  /** First and last byte, inclusive (0 <= start <= end < size). */
  start: number
  end: number
  /** Called on a mismatch after the first block; what it returns ends the stream (default: the mismatch itself). */
  onMismatch?: (m: FixityMismatch) => Error
}

/** Reads into all of `buf` from `pos` (several reads where the kernel returns fewer bytes); the count read, short at the end of the file. */
export async function readFully(fh: FileHandle, buf: Buffer, pos: number): Promise<number> {
  let got = 0
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, pos + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return got
}

/** Reads block `b` whole and checks it; returns its bytes. */
async function readBlock(fh: FileHandle, o: RecordedBlocks, b: number): Promise<Buffer> {
  const len = Math.min(o.blockBytes, o.size - b * o.blockBytes)
  const buf = Buffer.allocUnsafe(len)
  const got = await readFully(fh, buf, b * o.blockBytes)
  if (got < len) throw new FixityMismatch('short', b, `block ${b} ends after ${got} of ${len} bytes: the file is shorter than recorded`)
  if (!createHash('sha256').update(buf).digest().equals(blockDigest(o.blocks, b)))
    throw new FixityMismatch('block', b, `block ${b} (bytes ${b * o.blockBytes}-${b * o.blockBytes + len - 1}) does not match its recorded SHA-256`)
  return buf
}

/**
 * Opens `path` and checks the length and the range's first block; resolves
 * with a stream of exactly bytes start..end, each block checked before its
 * bytes are pushed, the next block read while this one is sent.
 */
export async function openCheckedRange(path: string, o: CheckedRangeOptions): Promise<Readable> {
  if (o.size === 0 || o.start > o.end || o.end >= o.size) throw new RangeError(`no bytes ${o.start}-${o.end} in an object of ${o.size}`)
  if (o.blocks.length !== blockCount(o.size, o.blockBytes) * 32) throw new RangeError('the block list does not fit the object size')
  const fh = await open(path, C.O_RDONLY | C.O_NOFOLLOW)
  try {
    // No length check here: each block is checked, a short one fails, and bytes past the recorded length are never read.
    const first = Math.floor(o.start / o.blockBytes)
    const head = await readBlock(fh, o, first)
    return new CheckedStream(fh, o, first, head)
  } catch (err) {
    await fh.close()
    throw err
  }
}

class CheckedStream extends Readable {
  private next: number
  private readonly last: number
  private ahead: Promise<Buffer> | undefined
  private head: Buffer | undefined
  private running = false
  private wanted = false

  constructor(
    private readonly fh: FileHandle,
    private readonly o: CheckedRangeOptions,
    private readonly first: number,
    head: Buffer,
  ) {
    super({ highWaterMark: o.blockBytes })
    this.head = head
    this.next = first + 1
    this.last = Math.floor(o.end / o.blockBytes)
  }

  /** The part of block `b` (its bytes `buf`) that the range covers. */
  private slice(b: number, buf: Buffer): Buffer {
    const base = b * this.o.blockBytes
    return buf.subarray(Math.max(0, this.o.start - base), Math.min(buf.length, this.o.end - base + 1))
  }

  override _read(): void {
    if (this.running) {
      this.wanted = true
      return
    }
    this.running = true
    this.wanted = false
    void this.pump().finally(() => {
      this.running = false
      if (this.wanted && !this.destroyed) this._read()
    })
  }

  /** Starts reading block `b` ahead; a failure surfaces when it is awaited, never as an unhandled rejection meanwhile. */
  private prefetch(b: number): void {
    if (b > this.last) {
      this.ahead = undefined
      return
    }
    const p = readBlock(this.fh, this.o, b)
    p.catch(() => undefined)
    this.ahead = p
  }

  private async pump(): Promise<void> {
    try {
      if (this.head) {
        const head = this.head
        this.head = undefined
        this.prefetch(this.next)
        if (!this.push(this.slice(this.first, head))) return
      }
      while (!this.destroyed) {
        if (this.next > this.last) {
          this.push(null)
          return
        }
        const b = this.next++
        const buf = await (this.ahead ?? readBlock(this.fh, this.o, b))
        this.prefetch(this.next)
        if (!this.push(this.slice(b, buf))) return
      }
    } catch (err) {
      this.destroy(err instanceof FixityMismatch && this.o.onMismatch ? this.o.onMismatch(err) : (err as Error))
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const ahead = this.ahead
    this.ahead = undefined
    void (ahead ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.fh.close())
      .then(
        () => cb(err),
        () => cb(err),
      )
  }
}
