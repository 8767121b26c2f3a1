/**
 * Writes an evidence package's zip to a temporary file: the small files
 * (manifest, notes, events, proofs, sheets) first, in a fixed order, then the
 * vault objects streamed in (stored, not compressed; ZIP64 where needed, so
 * multi-GB files are fine) and re-hashed on the way: an object that no
 * longer has its SHA-256 aborts the write and nothing is left behind.
 */
import { constants as C, createReadStream, createWriteStream } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import yazl from 'yazl'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import { type ObjectDigest, ObjectHasher } from '../vault/blocks.js'
import { F } from './layout.js'

/** A vault object going into the package under `path`. */
export interface PackageStream {
  path: string
  /** Its file in the vault. */
  object: string
  sha256: string
  size: number
}

const TEXT_MTIME_FALLBACK = new Date('2020-01-01T00:00:00Z')

class HashingStream extends Transform {
  readonly hash = createHash('sha256')
  bytes = 0
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
    cb(null, chunk)
  }
}

/** What the zip hashes to as it is written: its SHA-256 and its block list (the download is checked against both). */
class DigestingStream extends Transform {
  readonly hasher = new ObjectHasher()
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hasher.update(chunk)
    cb(null, chunk)
  }
}

/**
 * The zip at `partial` (created, never overwritten), fsynced; its SHA-256,
 * size and block list. On any failure `partial` is removed and the error says so (`out`
 * names the package the caller is writing).
 */
export async function writePackageZip(o: {
  partial: string
  out: string
  texts: ReadonlyMap<string, Buffer>
  streams: readonly PackageStream[]
  packageId: string
  now: Date
  forceZip64: boolean
}): Promise<ObjectDigest> {
  const { partial, out, texts, streams, packageId, now } = o
  const zip = new yazl.ZipFile()
  const mtime = Number.isNaN(now.getTime()) ? TEXT_MTIME_FALLBACK : now
  const zip64 = o.forceZip64
  const order = [
    F.verify,
    F.manifest,
    F.sums,
    F.packageNote,
    F.packageBody,
    F.packageSig,
    F.checkpointNote,
    F.checkpointBody,
    F.checkpointSig,
    F.pubPem,
    F.vkey,
    F.tool,
  ]
  const rest = [...texts.keys()].filter((p) => !order.includes(p as (typeof order)[number])).sort()
  for (const p of [...order, ...rest]) zip.addBuffer(texts.get(p)!, p, { mtime, mode: 0o100444, compress: true, forceZip64Format: zip64 })
  const hashers: { s: (typeof streams)[number]; h: HashingStream }[] = []
  for (const s of streams) {
    const h = new HashingStream()
    hashers.push({ s, h })
    zip.addReadStreamLazy(s.path, { size: s.size, mtime, mode: 0o100444, compress: false, forceZip64Format: zip64 }, (cb) => {
      const src = createReadStream(s.object, { highWaterMark: 4 << 20 })
      // yazl does not watch lazily added streams for errors: pass them on.
      src.on('error', (err) => zip.emit('error', err))
      cb(null, src.pipe(h))
    })
  }
  zip.end({ forceZip64Format: zip64, comment: `bodyvault evidence package ${packageId}: see VERIFY.md` })
  const zipHash = new DigestingStream()
  try {
    const fh = await open(partial, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o640)
    await fh.close()
    const zipError = new Promise<never>((_, reject) => zip.on('error', reject))
    const sink = createWriteStream(partial)
    const written = pipeline(zip.outputStream, zipHash, sink)
    written.catch(() => undefined) // raced below; a later rejection is not news
    try {
      await Promise.race([written, zipError])
    } catch (err) {
      sink.destroy()
      throw err
    }
    for (const { s, h } of hashers) {
      const got = h.hash.digest('hex')
      if (got !== s.sha256 || h.bytes !== s.size)
        throw new BodyvaultError(
          'PACKAGE_OBJECT_CORRUPT',
          `vault object for ${s.path} hashes to ${got} (${h.bytes} bytes), recorded ${s.sha256}: the vault copy was altered; run bodyvault verify. No package was written.`,
        )
    }
    const fd = await open(partial, 'r+')
    try {
      await fd.sync()
    } finally {
      await fd.close()
    }
  } catch (err) {
    await rm(partial, { force: true })
    if (err instanceof BodyvaultError) throw err
    throw new BodyvaultError('PACKAGE_WRITE', `cannot write the package ${out}: ${errorMessage(err)}`, 3, { cause: err })
  }
  return zipHash.hasher.digest()
}
