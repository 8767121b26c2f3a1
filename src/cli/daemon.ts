import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createHash, X509Certificate } from 'node:crypto'
import { rootCertificates } from 'node:tls'
import { parseListen } from '../api/server.js'
import { stationCertPaths, TLS_DEFAULTS, tlsWanted } from '../api/tls.js'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import type { Config } from '../config/schema.js'

/**
 * How the CLI reaches the daemon running on this machine (status, fixity,
 * doctor): its URL on loopback, over HTTPS when the daemon serves TLS for
 * its listen address (it does on any address but loopback), trusting
 * exactly the daemon's certificate: the station's own, or the configured
 * one, read from disk, its public key pinned.
 */
export interface DaemonEndpoint {
  base: string
  /** The certificate the daemon serves (PEM), when it serves TLS. */
  cert?: string
}

type DaemonConfig = Pick<Config, 'listen' | 'dataDir' | 'tls'>

/** The daemon's base URL from the configured listen address (a wildcard address is asked on loopback). */
export function daemonUrl(cfg: DaemonConfig): string {
  const { host, port } = parseListen(cfg.listen)
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `${tlsWanted({ ...TLS_DEFAULTS, ...cfg.tls }, host) ? 'https' : 'http'}://${h.includes(':') ? `[${h}]` : h}:${port}`
}

export function daemonEndpoint(cfg: DaemonConfig): DaemonEndpoint {
  const base = daemonUrl(cfg)
  if (base.startsWith('http:')) return { base }
  const file = cfg.tls?.cert ?? stationCertPaths(cfg.dataDir).cert
  try {
    return { base, cert: readFileSync(file, 'utf8') }
  } catch (err) {
    throw new BodyvaultError(
      'DAEMON_HTTP',
      `the daemon serves HTTPS at ${base} but its certificate ${file} cannot be read (${errorMessage(err)}): has the daemon started once? Run this command as the daemon's user`,
    )
  }
}

const spki = (pem: string | Buffer): string =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')

/** A GET to the daemon; rejects with the socket's error (ECONNREFUSED and the like) when nothing answers. */
export function daemonGet(
  ep: DaemonEndpoint,
  path: string,
  o: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(path, ep.base)
  const pinned = ep.cert ? spki(ep.cert) : undefined
  return new Promise((resolve, reject) => {
    const opts = { method: 'GET', headers: o.headers ?? {}, timeout: o.timeoutMs ?? 5000 }
    const req = pinned
      ? httpsRequest(url, {
          ...opts,
          // The daemon's own certificate (self-signed) or a CA's: trusted only if it carries the key read from disk.
          ca: [...rootCertificates, ep.cert as string],
          checkServerIdentity: (_host, peer) =>
            peer.raw && spki(peer.raw) === pinned
              ? undefined
              : new Error(`the daemon at ${ep.base} does not serve the certificate on disk (public key differs)`),
        })
      : httpRequest(url, opts)
    req.once('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${ep.base} in time`), { code: 'ETIMEDOUT' })))
    req.once('error', reject)
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('error', reject)
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.end()
  })
}
