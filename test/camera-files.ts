// Camera files for the ingest-truth tests and the torture test: content
// made fast and unique (a random MiB per seed with a counter stamped into
// each MiB), media signatures, SHA-256 of what a file holds right now.
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'

const MIB = 1 << 20

/** An MP4 `ftyp` box: the leading bytes that say "video" whatever the name. */
export const MP4_HEAD = Buffer.from([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')])

/** Writes `size` bytes of content unique to `seed` (optionally starting with `head`); returns its SHA-256. */
export function writeContent(path: string | Buffer, size: number, seed: number, head?: Buffer): string {
  const block = randomBytes(MIB)
  block.writeUInt32LE(seed >>> 0, 0)
  const h = createHash('sha256')
  const fd = openSync(path, 'w')
  try {
    for (let pos = 0; pos < size; pos += MIB) {
      const n = Math.min(MIB, size - pos)
      const chunk = Buffer.from(block.subarray(0, n))
      if (n >= 12) chunk.writeDoubleLE(pos / MIB, 4)
      if (pos === 0 && head) head.copy(chunk, 0, 0, Math.min(head.length, n))
      writeSync(fd, chunk, 0, n, pos)
      h.update(chunk)
    }
  } finally {
    closeSync(fd)
  }
  return h.digest('hex')
}

/** Overwrites `len` bytes at `at` with fresh random bytes (one pwrite). */
export function rewriteRange(path: string | Buffer, at: number, len: number): void {
  const fd = openSync(path, 'r+')
  try {
    writeSync(fd, randomBytes(len), 0, len, at)
  } finally {
    closeSync(fd)
  }
}

/** Appends `len` random bytes. */
export function append(path: string | Buffer, len: number): void {
  const fd = openSync(path, 'a')
  try {
    for (let done = 0; done < len; done += MIB) writeSync(fd, randomBytes(Math.min(MIB, len - done)))
  } finally {
    closeSync(fd)
  }
}

export function sha256Of(path: string | Buffer): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}
