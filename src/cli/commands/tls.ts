import { existsSync, readFileSync } from 'node:fs'
import { describeCertificate, stationCertPaths } from '../../api/tls.js'
import { BodyvaultError } from '../../common/errors.js'
import { loadConfig } from '../../config/load.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'

const usage = usageOf('tls')

/** Prints the certificate the daemon serves (the configured one, else the station certificate made at its first start). */
async function cmdTls(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  if (positionals[0] !== 'show') return showUsage(usage)
  const cfg = loadConfig({ file: values.config })
  const path = cfg.tls?.cert ?? stationCertPaths(cfg.dataDir).cert
  if (!existsSync(path))
    throw new BodyvaultError(
      'CONFIG_INVALID',
      `no certificate at ${path}: the daemon makes the station certificate at its first start off loopback (or set tls.cert and tls.key)`,
    )
  const pem = readFileSync(path, 'utf8')
  const d = describeCertificate(pem)
  if (values.json) io.stdout(`${JSON.stringify({ path, ...d, pinnedPubKey: `sha256//${d.spkiSha256}`, pem }, null, 2)}\n`)
  else
    io.stdout(
      [
        `certificate: ${path}`,
        `subject:     ${d.subject.replace(/\n/g, ', ')}`,
        `names:       ${d.names}`,
        `valid:       ${d.validFrom} to ${d.validTo}`,
        `SHA-256:     ${d.sha256}`,
        `public key (SPKI) SHA-256: ${d.spkiSha256}`,
        `  curl --pinnedpubkey 'sha256//${d.spkiSha256}' https://HOST:PORT/healthz`,
        '',
        pem.trimEnd(),
        '',
      ].join('\n'),
    )
  return EXIT.ok
}

export const tlsCommand: Command = { name: 'tls', usage, run: cmdTls }
