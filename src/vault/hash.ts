import { createHash } from 'node:crypto'
import { constants as C } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'

/** SHA-256 and length of what was read. */
export interface CopyResult {
  sha256: string
  size: number
}

/** SHA-256 and length of any file (vault objects, for verify). */
export async function hashFile(path: string, chunk: number): Promise<CopyResult> {
  return hashHandle(await open(path, C.O_RDONLY | C.O_NOFOLLOW), chunk)
}

/** Reads a file once, the next read under way while this chunk is hashed; closes it. */
export async function hashHandle(src: FileHandle, chunk: number): Promise<CopyResult> {
  try {
    const h = createHash('sha256')
    const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)]
    let pos = 0
    let i = 0
    let pending = src.read(bufs[0]!, 0, chunk, 0)
    for (;;) {
      const { bytesRead } = await pending
      if (bytesRead === 0) break
      const cur = bufs[i]!.subarray(0, bytesRead)
      pos += bytesRead
      i ^= 1
      pending = src.read(bufs[i]!, 0, chunk, pos)
      h.update(cur)
    }
    return { sha256: h.digest('hex'), size: pos }
  } finally {
    await src.close()
  }
}
