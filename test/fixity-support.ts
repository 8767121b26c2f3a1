// Shared by the fixity tests: cameras of random bytes, damaging a vault
// object the way a failing disk or a careless admin would, and reading an
// HTTP body to its end or its abort (fewer bytes than Content-Length).
import { randomBytes } from 'node:crypto'
import { chmodSync, closeSync, mkdirSync, openSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { DateTime } from 'luxon'
import { tempDir } from './helpers.js'

export const MiB = 1 << 20

/** Station-local file-name time `days` days ago. */
export const ago = (days: number, hour = 8): string =>
  DateTime.now().setZone('Asia/Shanghai').minus({ days }).set({ hour, minute: 0, second: 0 }).toFormat('yyyyMMddHHmmss')

/** A camera folder of gat947-named files of random bytes, one per size (their recordings come out in this order). */
export function randomCamera(t: { teardown: (fn: () => void) => void }, sizes: number[]): string {
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (const [i, size] of sizes.entries())
    writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_${ago(2, 8 + i)}_${String(i + 1).padStart(4, '0')}.MP4`), randomBytes(size))
  return cam
}

/** Inverts one byte of a (read-only) vault object in place. */
export function flipByte(path: string, at: number): void {
  chmodSync(path, 0o644)
  const fd = openSync(path, 'r+')
  try {
    const b = Buffer.alloc(1)
    readSync(fd, b, 0, 1, at)
    b[0] = b[0]! ^ 0xff
    writeSync(fd, b, 0, 1, at)
  } finally {
    closeSync(fd)
    chmodSync(path, 0o444)
  }
}

export function truncateObject(path: string, size: number): void {
  chmodSync(path, 0o644)
  truncateSync(path, size)
  chmodSync(path, 0o444)
}

export interface Body {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** The body ended normally (false: the connection was cut). */
  complete: boolean
  /** Content-Length as declared (NaN without one). */
  declared: number
  // biome-ignore lint/suspicious/noExplicitAny: error answers are JSON read field by field
  json: any
}

/** GET (or HEAD) a URL and read the body to its end or to the connection's abort. */
export function getBody(url: string, o: { token?: string; range?: string; method?: string } = {}): Promise<Body> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    if (o.token) headers.authorization = `Bearer ${o.token}`
    if (o.range) headers.range = o.range
    const req = request(url, { method: o.method ?? 'GET', headers }, (res) => {
      const parts: Buffer[] = []
      let done = false
      const finish = (complete: boolean): void => {
        if (done) return
        done = true
        const body = Buffer.concat(parts)
        let json: unknown
        try {
          json = JSON.parse(body.toString('utf8'))
        } catch {
          json = undefined
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, complete, declared: Number(res.headers['content-length'] ?? Number.NaN), json })
      }
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => finish(res.complete))
      res.on('aborted', () => finish(false))
      res.on('error', () => finish(false))
      res.on('close', () => finish(res.complete))
    })
    req.on('error', reject)
    req.end()
  })
}
