/**
 * Writing a staged copy with O_DIRECT: the bytes go from the read buffer to
 * the disk without first being copied into the page cache. Profiling an
 * ingest here (perf, 2 GiB) put that copy (`copy_folio_from_iter_atomic`) at
 * about a quarter of its CPU, more than the read from the camera; a direct
 * write of the same bytes costs a tenth of it. It also means the read-back
 * (readback.ts, O_DIRECT too) reads what reached the disk, not pages the
 * writer left in memory.
 *
 * O_DIRECT needs the buffer address, the file offset and the length aligned
 * to the device's logical block. Node cannot say where a Buffer lies in
 * memory, so each slot (buffers.ts: a read buffer and its read-back scratch
 * in one allocation of chunk + 1 MiB + 4 KiB, from the station's budget)
 * has its aligned start found by trying, the first time a direct writer
 * gets it: a 4 KiB direct write at offset 0 fails with EINVAL until the
 * address is aligned (then the file is truncated again). The slot keeps it. A write that is not aligned (the file's last bytes, a short read
 * from the camera) goes through an ordinary descriptor of the same file;
 * Linux keeps the two coherent and one fsync covers both. Where the data
 * dir's file system refuses O_DIRECT, everything goes the ordinary way.
 */
import { constants as C } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { ownLease, type Slot } from './buffers.js'

/** The alignment O_DIRECT is asked to meet: the largest logical block of common disks. */
export const DIRECT_ALIGN = 4096
/** Files below this are written the ordinary way: the probe would cost more than the copy it saves. */
export const DIRECT_MIN_BYTES = 4 << 20
/**
 * Chunks in flight per file: one being read from the camera, the others
 * being written and read back (each slot's bytes are held until their
 * read-back compared them). Four keep the camera read, the hash and the
 * disk busy at once; 4 x 4 MiB read buffers per file, fewer when many
 * files share the station's budget (buffers.ts).
 */
export const STAGING_SLOTS = 4
/** A slot's read-back buffer: a chunk is read back and compared in pieces of this size (its memory is a fifth, not half, of the slots'). */
export const READBACK_BYTES = 1 << 20

/** A staged file's writer: `write(buf, pos)` writes all of `buf` at `pos`, directly where it can. */
export interface StagingWriter {
  /** One read buffer per slot, all of the same length; direct writes need them (their addresses are aligned when `direct`). */
  bufs: Buffer[]
  /** One read-back buffer per read buffer, READBACK_BYTES or the chunk if shorter, aligned the same way (readback.ts reads into them). */
  scratch: Buffer[]
  direct: boolean
  write(buf: Buffer, pos: number): Promise<void>
  close(): Promise<void>
}

async function writeAll(fh: FileHandle, buf: Buffer, at: number): Promise<void> {
  let off = 0
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, at + off)
    off += bytesWritten
  }
}

/**
 * A writer for the staging file `out` (opened by the caller, who owns and
 * fsyncs it) with read buffers of `chunk` bytes (rounded down to the
 * alignment when direct) cut from `slots` (made for `chunk`; by default
 * STAGING_SLOTS of its own). `size` is the file's expected length.
 */
export async function stagingWriter(
  path: string,
  out: FileHandle,
  chunk: number,
  size: number,
  slots: readonly Slot[] = ownLease(STAGING_SLOTS, chunk).slots,
): Promise<StagingWriter> {
  const plain = (): StagingWriter => ({
    bufs: slots.map((s) => s.raw.subarray(0, chunk)),
    scratch: slots.map((s) => s.raw.subarray(chunk, chunk + Math.min(chunk, READBACK_BYTES))),
    direct: false,
    write: (buf, pos) => writeAll(out, buf, pos),
    close: async () => undefined,
  })
  if (size < DIRECT_MIN_BYTES || chunk < DIRECT_ALIGN) return plain()
  let dfh: FileHandle
  try {
    dfh = await open(path, C.O_WRONLY | C.O_DIRECT)
  } catch {
    return plain()
  }
  const len = chunk - (chunk % DIRECT_ALIGN)
  const back = Math.min(len, READBACK_BYTES)
  let probed = false
  for (const s of slots) {
    if (s.aligned >= 0) continue
    s.aligned = await findAligned(dfh, s.raw)
    probed = true
    if (s.aligned < 0) {
      await dfh.close()
      await out.truncate(0)
      return plain()
    }
  }
  // A probe wrote up to 4 KiB of a buffer's garbage at offset 0: the copy starts from an empty file.
  if (probed) await out.truncate(0)
  const bufs = slots.map((s) => s.raw.subarray(s.aligned, s.aligned + len))
  const scratch = slots.map((s) => s.raw.subarray(s.aligned + len, s.aligned + len + back))
  let direct = true
  return {
    bufs,
    scratch,
    direct,
    write: async (buf, pos) => {
      let off = 0
      const whole = buf.length - (buf.length % DIRECT_ALIGN)
      // Only an aligned offset and length from one of the aligned buffers go direct; anything else, and whatever follows an EINVAL, the ordinary way.
      if (
        direct &&
        pos % DIRECT_ALIGN === 0 &&
        whole > 0 &&
        bufs.some((b) => b.buffer === buf.buffer && (buf.byteOffset - b.byteOffset) % DIRECT_ALIGN === 0)
      ) {
        try {
          while (off < whole) {
            const { bytesWritten } = await dfh.write(buf, off, whole - off, pos + off)
            if (bytesWritten === 0 || bytesWritten % DIRECT_ALIGN !== 0) {
              off += bytesWritten
              break
            }
            off += bytesWritten
          }
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
          direct = false
        }
      }
      if (off < buf.length) await writeAll(out, buf.subarray(off), pos + off)
    },
    close: () => dfh.close(),
  }
}

/**
 * The first offset into `raw` from which a direct write is accepted (-1: none, O_DIRECT does not work here). The probe
 * writes go through libuv's pool: done synchronously they stalled the event loop (158 ms in one ingest) while other
 * cameras' chunks waited for their hash and compare.
 */
async function findAligned(fh: FileHandle, raw: Buffer): Promise<number> {
  for (let off = 0; off < DIRECT_ALIGN; off += 8) {
    try {
      await fh.write(raw, off, DIRECT_ALIGN, 0)
      return off
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') return -1
    }
  }
  return -1
}
