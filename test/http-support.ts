import { request } from 'node:http'

export interface HttpResult {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: test responses are arbitrary JSON, read field by field
  json: any
  buf: Buffer
  headers: Record<string, string | string[] | undefined>
}

/**
 * One HTTP request with node:http rather than fetch: the path, repeated
 * and oversized headers and odd header values go out exactly as given
 * (fetch would normalise or refuse them). `raw` is sent as the body with
 * its length (node would send a DELETE body without one, and the server
 * would read it as a second request).
 */
export function httpCall(
  url: string,
  o: { method?: string; token?: string | undefined; headers?: Record<string, string | string[]>; raw?: string | undefined; body?: unknown } = {},
): Promise<HttpResult> {
  const headers: Record<string, string | string[]> = { ...o.headers }
  if (o.token) headers.authorization = `Bearer ${o.token}`
  let raw = o.raw
  if (o.body !== undefined) {
    raw = JSON.stringify(o.body)
    headers['content-type'] ??= 'application/json'
  }
  if (raw !== undefined) headers['content-length'] = String(Buffer.byteLength(raw))
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => {
        const buf = Buffer.concat(parts)
        let json: unknown
        try {
          json = JSON.parse(buf.toString('utf8'))
        } catch {
          json = undefined
        }
        resolve({ status: res.statusCode ?? 0, json, buf, headers: res.headers })
      })
    })
    req.on('error', reject)
    req.end(raw)
  })
}
