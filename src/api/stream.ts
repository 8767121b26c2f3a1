import { rm } from 'node:fs/promises'
import { extname } from 'node:path'
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { BodyvaultError } from '../common/errors.js'
import type { CheckedObject } from '../fixity/fixity.js'
import { FixityMismatch, openCheckedRange } from '../vault/checked-read.js'
import { parseRange } from './range.js'

const TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4a': 'audio/mp4',
  '.mov': 'video/quicktime',
  '.avi': 'video/x-msvideo',
  '.mkv': 'video/x-matroska',
  '.ts': 'video/mp2t',
  '.mts': 'video/mp2t',
  '.3gp': 'video/3gpp',
  '.asf': 'video/x-ms-asf',
  '.h264': 'video/h264',
  '.264': 'video/h264',
  '.h265': 'video/h265',
  '.265': 'video/h265',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.aac': 'audio/aac',
  '.amr': 'audio/amr',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.heic': 'image/heic',
  '.bmp': 'image/bmp',
  '.srt': 'application/x-subrip',
  '.nmea': 'text/plain',
  '.gpx': 'application/gpx+xml',
  '.json': 'application/json',
}

export function contentTypeOf(fileName: string): string {
  return TYPES[extname(fileName).toLowerCase()] ?? 'application/octet-stream'
}

export interface Served {
  /** "bytes=START-END" actually sent, or "full". */
  range: string
  bytes: number
}

/**
 * Streams one vault object with HTTP Range (206, multi-GB offsets), If-Range
 * against the strong ETag (the SHA-256), and the right Content-Type. Every
 * byte is checked against the object's recorded block hashes before it is
 * sent (src/fixity/): the range's first block before the headers, so a bad
 * copy is an error answer (or is repaired first); a later bad block aborts
 * the response. `beforeSend` runs after the range is decided and the first
 * block passed, before any byte leaves (the access record is written
 * there, so no footage is read unlogged).
 */
export async function sendObject(
  req: FastifyRequest,
  reply: FastifyReply,
  o: { object: CheckedObject; fileName: string; contentType?: string; beforeSend: (s: Served) => void },
): Promise<FastifyReply> {
  const { size, sha256 } = o.object
  const etag = `"${sha256}"`
  reply.header('accept-ranges', 'bytes').header('etag', etag).header('cache-control', 'private, no-transform')
  reply.header('content-type', o.contentType ?? contentTypeOf(o.fileName))
  reply.header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(o.fileName)}`)
  const ifRange = req.headers['if-range']
  const rangeHeader = typeof req.headers.range === 'string' && (ifRange === undefined || ifRange === etag) ? req.headers.range : undefined
  const r = parseRange(rangeHeader, size)
  if (r.kind === 'invalid') throw new BodyvaultError('BAD_RANGE', r.reason)
  if (r.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${size}`)
    throw new BodyvaultError('RANGE_NOT_SATISFIABLE', `the object has ${size} bytes`)
  }
  const [start, end] = r.kind === 'partial' ? [r.start, r.end] : [0, size - 1]
  const length = size === 0 ? 0 : end - start + 1
  let body: Readable | undefined
  if (req.method !== 'HEAD' && length > 0) {
    try {
      body = await o.object.stream(start, end)
    } catch (err) {
      reply.removeHeader('etag').removeHeader('content-disposition')
      throw err
    }
  }
  try {
    o.beforeSend({ range: r.kind === 'partial' ? `bytes=${start}-${end}` : 'full', bytes: length })
  } catch (err) {
    body?.destroy()
    throw err
  }
  if (r.kind === 'partial') reply.status(206).header('content-range', `bytes ${start}-${end}/${size}`)
  reply.header('content-length', String(length))
  return body ? reply.send(body) : reply.send()
}

/**
 * Sends an evidence package built for this one request as a download, each
 * block checked against the hashes taken while it was written (a mismatch
 * aborts the response and `onMismatch` reports it), and removes the file
 * once sent or abandoned.
 */
export async function sendEvidencePackage(
  reply: FastifyReply,
  o: {
    path: string
    bytes: number
    sha256: string
    blockBytes: number
    blocks: Buffer
    fileName: string
    contentType: string
    onMismatch: (m: FixityMismatch) => Error
  },
): Promise<FastifyReply> {
  let stream: Readable
  try {
    stream = await openCheckedRange(o.path, { size: o.bytes, blockBytes: o.blockBytes, blocks: o.blocks, start: 0, end: o.bytes - 1, onMismatch: o.onMismatch })
  } catch (err) {
    await rm(o.path, { force: true })
    throw err instanceof FixityMismatch ? o.onMismatch(err) : err
  }
  stream.on('close', () => void rm(o.path, { force: true }))
  reply
    .header('content-type', o.contentType)
    .header('content-length', String(o.bytes))
    .header('x-package-sha256', o.sha256)
    .header('content-disposition', `attachment; filename="${o.fileName}"`)
  return reply.send(stream)
}
