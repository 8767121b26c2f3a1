/**
 * Per-block SHA-256 of vault objects, so that any byte range can be checked
 * before it is served without reading the whole object (design.md
 * "Fixity"). An object of `size` bytes has ceil(size / blockBytes) blocks,
 * the last one short; its block list is the 32-byte SHA-256 of each block,
 * concatenated in order (an empty object has none). A block list is trusted
 * only when it was computed in the same pass as the object's whole SHA-256
 * and that hash is the recorded one: ObjectHasher gives both from one read.
 */
import { createHash, type Hash } from 'node:crypto'
import { constants as C } from 'node:fs'
import { open } from 'node:fs/promises'

/** 1 MiB: a Range costs at most two extra MiB of reading; a 4 GB original keeps a 128 KiB list. */
export const BLOCK_BYTES = 1 << 20
const DIGEST = 32

/** The whole SHA-256, the length and the block list of what was hashed. */
export interface ObjectDigest {
  sha256: string
  size: number
  blockBytes: number
  /** 32 bytes per block, in order. */
  blocks: Buffer
}

/**
 * Hashes a byte stream once into both its whole SHA-256 and its block
 * list. Ingest, the media worker, repair and the fixity job feed it the
 * chunks they already read (any chunk size; blocks are cut at fixed
 * offsets), so the block list costs no second read.
 */
export class ObjectHasher {
  private readonly whole = createHash('sha256')
  private block: Hash | undefined
  private inBlock = 0
  private size = 0
  private readonly digests: Buffer[] = []

  constructor(readonly blockBytes = BLOCK_BYTES) {}

  update(chunk: Buffer): void {
    this.whole.update(chunk)
    this.size += chunk.length
    let off = 0
    while (off < chunk.length) {
      this.block ??= createHash('sha256')
      const n = Math.min(chunk.length - off, this.blockBytes - this.inBlock)
      this.block.update(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n))
      this.inBlock += n
      off += n
      if (this.inBlock === this.blockBytes) this.closeBlock()
    }
  }

  digest(): ObjectDigest {
    if (this.inBlock > 0) this.closeBlock()
    return { sha256: this.whole.digest('hex'), size: this.size, blockBytes: this.blockBytes, blocks: Buffer.concat(this.digests) }
  }

  private closeBlock(): void {
    this.digests.push(this.block!.digest())
    this.block = undefined
    this.inBlock = 0
  }
}

/** How many blocks an object of `size` bytes has. */
export const blockCount = (size: number, blockBytes: number): number => Math.ceil(size / blockBytes)

/** The recorded digest of block `i` of a block list. */
export const blockDigest = (blocks: Buffer, i: number): Buffer => blocks.subarray(i * DIGEST, (i + 1) * DIGEST)

/** True when `blocks` is a well-formed list for `size` bytes in blocks of `blockBytes`. */
export const blocksFit = (blocks: Buffer, size: number, blockBytes: number): boolean => blocks.length === blockCount(size, blockBytes) * DIGEST

/** The first block at which two lists differ (-1: none). */
export function firstDifferentBlock(a: Buffer, b: Buffer): number {
  const n = Math.max(a.length, b.length) / DIGEST
  for (let i = 0; i < n; i++) if (!blockDigest(a, i).equals(blockDigest(b, i))) return i
  return -1
}

export interface DigestOptions {
  chunkBytes?: number
  blockBytes?: number
  /** Awaited after each read with the bytes it returned, before the next read starts (the fixity job's I/O budget and its pause). */
  afterRead?: (bytes: number) => Promise<void>
  signal?: AbortSignal
}

/** One read of a file into its ObjectDigest, the next read under way while this chunk is hashed. */
export async function digestFile(path: string, o: DigestOptions = {}): Promise<ObjectDigest> {
  const chunk = o.chunkBytes ?? 4 << 20
  const h = new ObjectHasher(o.blockBytes)
  const fh = await open(path, C.O_RDONLY | C.O_NOFOLLOW)
  const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)]
  let pending: Promise<{ bytesRead: number }> | undefined
  try {
    let pos = 0
    let i = 0
    pending = fh.read(bufs[0]!, 0, chunk, 0)
    for (;;) {
      const { bytesRead } = await pending
      pending = undefined
      if (bytesRead === 0) break
      await o.afterRead?.(bytesRead)
      o.signal?.throwIfAborted()
      const cur = bufs[i]!.subarray(0, bytesRead)
      pos += bytesRead
      i ^= 1
      pending = fh.read(bufs[i]!, 0, chunk, pos)
      h.update(cur)
    }
    return h.digest()
  } finally {
    await pending?.catch(() => undefined)
    await fh.close()
  }
}
