import { UsageError } from '../../common/errors.js'
import { parseTrustedKey, readTrustedKeyFile, readWitnessKey, verifyEvidencePackage } from '../../export/verify-package.js'
import { bytes } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'

const usage = usageOf('verify-package')

/**
 * Checks an evidence package offline: needs no station, config or catalog.
 * --key/--key-hex give the station key as obtained independently (PEM from
 * `bodyvault key show --pem`, a vkey, or hex); without it only the package's
 * consistency with the key it carries is proven, which anyone can forge.
 * --witness-key (repeatable) names a witness whose co-signature the checkpoint must carry.
 */
async function cmdVerifyPackage(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { key: { type: 'string' }, 'key-hex': { type: 'string' }, 'witness-key': { type: 'string', multiple: true } },
    usage,
  )
  if (values.help) return showUsage(usage)
  if (positionals.length !== 1) throw new UsageError(`verify-package takes one package (zip file or unzipped folder)\n\nUsage: bodyvault ${usage}`)
  if (values.key !== undefined && values['key-hex'] !== undefined) throw new UsageError('give --key or --key-hex, not both')
  const trustedKey =
    values.key !== undefined ? await readTrustedKeyFile(values.key) : values['key-hex'] !== undefined ? parseTrustedKey(values['key-hex']) : undefined
  const witnessKeys = await Promise.all((values['witness-key'] ?? []).map((k) => readWitnessKey(k)))
  const report = await verifyEvidencePackage(positionals[0]!, { ...(trustedKey ? { trustedKey } : {}), witnessKeys })
  if (values.json) {
    io.stdout(JSON.stringify(report, null, 2) + '\n')
  } else {
    for (const f of report.failures) io.stdout(`FAIL ${f.code}${f.file ? ` ${f.file}` : ''}: ${f.detail}\n`)
    for (const w of report.warnings) io.stdout(`warning: ${w}\n`)
    const cp = report.checkpoint
    const w = report.witnesses
    const witnessed = w.length ? `; co-signed by ${w.length} witness(es), ${w.filter((x) => x.verified).length} checked with --witness-key` : ''
    io.stdout(
      `${report.ok ? 'ok' : 'PACKAGE DOES NOT VERIFY'}: package ${report.packageId ?? '?'}, ${report.checked.files} files (${bytes(report.checked.bytes)}), ${report.checked.recordings} recordings, ${report.checked.events} events${cp ? `, checkpoint ${cp.origin} at ${cp.treeSize} events` : ''}; key ${report.stationKey?.fingerprint ?? '?'} ${report.trustedKey === 'matched' ? '(matches the trusted key)' : report.trustedKey === 'mismatch' ? '(NOT the trusted key)' : '(not compared with a trusted key)'}${witnessed}; ${report.failures.length} failure(s)\n`,
    )
  }
  return report.ok ? EXIT.ok : EXIT.problems
}

export const verifyPackageCommand: Command = { name: 'verify-package', usage, run: cmdVerifyPackage }
