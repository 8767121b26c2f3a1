import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { extname } from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { BodyvaultError } from '../common/errors.js'
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
 * against the strong ETag (the SHA-256), and the right Content-Type.
 * `beforeSend` runs after the range is decided and before any byte leaves
 * (the access record is written there, so no footage is read unlogged).
 */
export async function sendObject(
  req: FastifyRequest,
  reply: FastifyReply,
  o: { path: string; size: number; sha256: string; fileName: string; contentType?: string; beforeSend: (s: Served) => void },
): Promise<FastifyReply> {
  const etag = `"${o.sha256}"`
  reply.header('accept-ranges', 'bytes').header('etag', etag).header('cache-control', 'private, no-transform')
  reply.header('content-type', o.contentType ?? contentTypeOf(o.fileName))
  reply.header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(o.fileName)}`)
  const ifRange = req.headers['if-range']
  const rangeHeader = typeof req.headers.range === 'string' && (ifRange === undefined || ifRange === etag) ? req.headers.range : undefined
  const r = parseRange(rangeHeader, o.size)
  if (r.kind === 'invalid') throw new BodyvaultError('BAD_RANGE', r.reason)
  if (r.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${o.size}`)
    throw new BodyvaultError('RANGE_NOT_SATISFIABLE', `the object has ${o.size} bytes`)
  }
  const [start, end] = r.kind === 'partial' ? [r.start, r.end] : [0, o.size - 1]
  const length = o.size === 0 ? 0 : end - start + 1
  o.beforeSend({ range: r.kind === 'partial' ? `bytes=${start}-${end}` : 'full', bytes: length })
  if (r.kind === 'partial') reply.status(206).header('content-range', `bytes ${start}-${end}/${o.size}`)
  reply.header('content-length', String(length))
  if (req.method === 'HEAD' || length === 0) return reply.send()
  return reply.send(createReadStream(o.path, { start, end, highWaterMark: 1 << 20 }))
}

/** Sends an evidence package built for this one request as a download, and removes the file once sent or abandoned. */
export function sendEvidencePackage(
  reply: FastifyReply,
  o: { path: string; bytes: number; sha256: string; fileName: string; contentType: string },
): FastifyReply {
  const stream = createReadStream(o.path)
  stream.on('close', () => void rm(o.path, { force: true }))
  reply
    .header('content-type', o.contentType)
    .header('content-length', String(o.bytes))
    .header('x-package-sha256', o.sha256)
    .header('content-disposition', `attachment; filename="${o.fileName}"`)
  return reply.send(stream)
}
