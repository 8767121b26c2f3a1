import { createHash, randomBytes, webcrypto, X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import type * as X509 from '@peculiar/x509'
import { BodyvaultError, errorMessage } from '../common/errors.js'

/**
 * HTTPS for the daemon. The certificate and key come from the config
 * (`tls.cert`, `tls.key`: a certificate the station's IT signed), or the
 * daemon makes a station certificate at its first start: an ECDSA P-256
 * key from node:crypto, a self-signed certificate made with @peculiar/x509
 * (node:crypto reads certificates but cannot write one), valid 5 years,
 * its names (SANs) from `station.hostnames`, the machine's host name and
 * the listen address. Clerks' PCs trust it by installing it, or pin its
 * public key (`bodyvault tls show` prints the SHA-256 of its SPKI for
 * `curl --pinnedpubkey`).
 */
export interface TlsSettings {
  /** auto: TLS unless the daemon listens on loopback only; on: always; off: never (loopback only). */
  mode: 'auto' | 'on' | 'off'
  cert: string | null
  key: string | null
}

export const TLS_DEFAULTS: TlsSettings = { mode: 'auto', cert: null, key: null }

export const tlsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { type: 'string', enum: ['auto', 'on', 'off'] },
    cert: { type: ['string', 'null'], minLength: 1 },
    key: { type: ['string', 'null'], minLength: 1 },
  },
} as const

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}

/** Whether the daemon serves TLS on this listen host; plain HTTP off loopback is refused. */
export function tlsWanted(s: TlsSettings, host: string): boolean {
  if (s.mode === 'on') return true
  if (s.mode === 'off') {
    if (!isLoopback(host))
      throw new BodyvaultError(
        'CONFIG_INVALID',
        `tls.mode "off" is only for a loopback listen address (not ${host}): passwords and tokens would cross the LAN in clear`,
      )
    return false
  }
  return !isLoopback(host)
}

export function stationCertPaths(dataDir: string): { cert: string; key: string } {
  return { cert: join(dataDir, 'tls', 'station.crt'), key: join(dataDir, 'tls', 'station.key') }
}

/** The names a station certificate covers: the configured host names, this machine's name, localhost, the listen address (and loopback). */
export function certificateNames(hostnames: readonly string[], listenHost: string): { dns: string[]; ips: string[] } {
  const all = [...hostnames, hostname(), 'localhost', listenHost, '127.0.0.1', '::1'].filter((h) => h && h !== '0.0.0.0' && h !== '::')
  const dns = [...new Set(all.filter((h) => !isIP(h)).map((h) => h.toLowerCase()))]
  const ips = [...new Set(all.filter((h) => isIP(h)))]
  return { dns, ips }
}

export async function makeStationCertificate(o: { stationId: string; dns: string[]; ips: string[]; now?: Date }): Promise<{ cert: string; key: string }> {
  // Loaded here, not at start-up (~0.25 CPU-s): only a first start or `tls` makes a certificate.
  // Its dependency injection needs the Reflect metadata polyfill, loaded once before it.
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof X509.cryptoProvider.set>[0])
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const now = o.now ?? new Date()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(15).toString('hex')}`,
    name: `CN=bodyvault ${o.stationId.replace(/[,+="<>#;\\]/g, '_')}`,
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + 5 * 365 * 86_400_000),
    keys: keys as unknown as X509.X509CertificateCreateSelfSignedParams['keys'],
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        ...o.dns.map((value) => ({ type: 'dns' as const, value })),
        ...o.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`
  return { cert: cert.toString('pem'), key }
}

/**
 * The daemon's certificate and key: the configured pair, else the station
 * certificate in the data dir, made now if there is none (the key 0600).
 */
export async function loadOrMakeCertificate(o: {
  settings: TlsSettings
  dataDir: string
  stationId: string
  hostnames: readonly string[]
  listenHost: string
}): Promise<{ cert: string; key: string; path: string; generated: boolean }> {
  const read = (cert: string, key: string) => {
    try {
      return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), path: cert }
    } catch (err) {
      throw new BodyvaultError('CONFIG_INVALID', `tls: cannot read the certificate or key (${errorMessage(err)}): fix tls.cert and tls.key`)
    }
  }
  if (o.settings.cert || o.settings.key) {
    if (!o.settings.cert || !o.settings.key) throw new BodyvaultError('CONFIG_INVALID', 'tls.cert and tls.key go together: set both, or neither')
    return { ...read(o.settings.cert, o.settings.key), generated: false }
  }
  const p = stationCertPaths(o.dataDir)
  if (existsSync(p.cert) && existsSync(p.key)) return { ...read(p.cert, p.key), generated: false }
  const made = await makeStationCertificate({ stationId: o.stationId, ...certificateNames(o.hostnames, o.listenHost) })
  mkdirSync(dirname(p.cert), { recursive: true, mode: 0o700 })
  writeFileSync(`${p.key}.tmp`, made.key, { mode: 0o600 })
  chmodSync(`${p.key}.tmp`, 0o600)
  renameSync(`${p.key}.tmp`, p.key)
  writeFileSync(`${p.cert}.tmp`, made.cert, { mode: 0o644 })
  renameSync(`${p.cert}.tmp`, p.cert)
  return { ...made, path: p.cert, generated: true }
}

/** What `bodyvault tls show` prints: names, validity, fingerprint, and the base64 SHA-256 of the SPKI (curl --pinnedpubkey sha256//...). */
export function describeCertificate(pem: string): { subject: string; names: string; validFrom: string; validTo: string; sha256: string; spkiSha256: string } {
  const c = new X509Certificate(pem)
  const spki = c.publicKey.export({ type: 'spki', format: 'der' })
  return {
    subject: c.subject,
    names: c.subjectAltName ?? '',
    validFrom: new Date(c.validFrom).toISOString(),
    validTo: new Date(c.validTo).toISOString(),
    sha256: c.fingerprint256,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
  }
}
