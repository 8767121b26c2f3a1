import { UsageError } from '../../common/errors.js'
import { loadOrCreateStationKey } from '../../ledger/keys.js'
import { table } from '../format.js'
import { EXIT, io, parse, station, type Command, showUsage } from '../common.js'

const usage = 'key show [--pem] [--json]'

/**
 * Prints the station's public key (making the key pair on first use). Record
 * the fingerprint or vkey somewhere the station cannot change it: checking a
 * package against that copy (verify-package --key) is what proves who signed.
 */
async function cmdKey(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { pem: { type: 'boolean', default: false } }, usage)
  if (values.help) return showUsage(usage)
  if (positionals.length !== 1 || positionals[0] !== 'show') throw new UsageError(`key takes one subcommand: show\n\nUsage: bodyvault ${usage}`)
  const st = station(values)
  try {
    const key = loadOrCreateStationKey(st.cfg.dataDir, st.cfg.station.id, st.logger)
    const info = {
      name: key.name,
      keyId: key.keyId.toString('hex'),
      vkey: key.vkey,
      publicKeyHex: key.publicKey.toString('hex'),
      fingerprint: key.fingerprint,
      pem: key.pem,
      path: key.path,
    }
    if (values.json) io.stdout(JSON.stringify(info, null, 2) + '\n')
    else if (values.pem) io.stdout(key.pem)
    else {
      io.stdout(
        table([
          ['key name', info.name],
          ['key id', info.keyId],
          ['vkey', info.vkey],
          ['public key', info.publicKeyHex],
          ['fingerprint', `${info.fingerprint}  (SHA-256 of the DER public key: openssl pkey -pubin -in station.pub.pem -outform DER | sha256sum)`],
          ['private key', `${info.path} (mode 0600, never printed)`],
        ]) +
          '\n' +
          info.pem,
      )
    }
    return EXIT.ok
  } finally {
    st.close()
  }
}

export const keyCommand: Command = { name: 'key', usage, run: cmdKey }
