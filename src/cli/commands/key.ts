import { UsageError } from '../../common/errors.js'
import { readKeyChain, type KeyChain } from '../../ledger/key-chain.js'
import { replaceStationKey, rotateStationKey, type KeyChange } from '../../ledger/key-rotation.js'
import { operatorActor } from '../identity.js'
import { table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('key')

/** The chain of keys as lines: one per key, and each break. */
export function chainLines(chain: KeyChain): string[][] {
  const rows = chain.keys.map((k) => [
    `event ${k.seq}`,
    `${k.how} ${k.at}`,
    `${k.fingerprint ?? '(key unknown: lost before the vault was marked)'}${k.signsTo === null ? '  (current)' : `  (signed up to event ${k.signsTo})`}`,
  ])
  for (const b of chain.breaks) rows.push([`event ${b.seq}`, 'CHAIN BROKEN', `key replaced without the old one by ${b.actor} at ${b.at}: ${b.reason}`])
  return rows
}

function chainJson(chain: KeyChain) {
  return {
    chain: chain.keys.map((k) => ({ seq: k.seq, how: k.how, at: k.at, fingerprint: k.fingerprint, signsFrom: k.signsFrom, signsTo: k.signsTo })),
    breaks: chain.breaks,
  }
}

/**
 * Prints the station's public key and its chain of keys; rotates it (the
 * old key at hand) or replaces it (the old key lost). Never makes a key over
 * an existing vault: the vault's own key is made with it. Record the
 * fingerprint or vkey somewhere the station cannot change it: checking a
 * package against that copy (verify-package --key) is what proves who signed.
 */
async function cmdKey(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { pem: { type: 'boolean', default: false }, reason: { type: 'string' }, by: { type: 'string' } }, usage)
  if (values.help) return showUsage(usage)
  const sub = positionals[0]
  if (positionals.length !== 1 || !['show', 'rotate', 'replace'].includes(sub ?? ''))
    throw new UsageError(`key takes one subcommand: show, rotate or replace\n\nUsage: bodyvault ${usage}`)
  const st = station(values)
  try {
    if (sub === 'rotate' || sub === 'replace') {
      const o = {
        dataDir: st.cfg.dataDir,
        stationId: st.cfg.station.id,
        // A replacement is an administrator's decision on the record: --by names the person.
        actor: operatorActor(st, values.by),
        reason: values.reason,
        logger: st.logger,
      }
      const r: KeyChange = sub === 'rotate' ? rotateStationKey(st.db, o) : replaceStationKey(st.db, o)
      const out = {
        change: sub,
        seq: r.event.seq,
        previousFingerprint: r.previousFingerprint,
        fingerprint: r.key.fingerprint,
        keyId: r.key.keyId.toString('hex'),
        vkey: r.key.vkey,
        ...(r.setAside ? { setAside: r.setAside } : {}),
        checkpoint: r.checkpoint,
      }
      if (values.json) io.stdout(JSON.stringify(out, null, 2) + '\n')
      else {
        io.stdout(
          sub === 'rotate'
            ? `station key rotated (event ${r.event.seq}, signed by the old key and the new one)\n`
            : `station key REPLACED without the old one (event ${r.event.seq}): the chain of keys is broken here; verify and doctor will show it from now on\n`,
        )
        io.stdout(
          table([
            ['previous', r.previousFingerprint ?? '(unknown)'],
            ['new', r.key.fingerprint],
            ['vkey', r.key.vkey],
            ...(r.setAside ? [['set aside', `${r.setAside} (the key file the ledger did not name; never used again)`]] : []),
            ['checkpoint', 'error' in r.checkpoint ? `none signed: ${r.checkpoint.error}` : `signed by the new key over ${r.checkpoint.treeSize} events`],
          ]) + '\n',
        )
        io.stdout(`Back up ${r.key.path} now, and publish the new fingerprint where the station cannot change it.\n`)
      }
      return EXIT.ok
    }
    const key = st.key()
    const chain = readKeyChain(st.db)
    const info = {
      name: key.name,
      keyId: key.keyId.toString('hex'),
      vkey: key.vkey,
      publicKeyHex: key.publicKey.toString('hex'),
      fingerprint: key.fingerprint,
      pem: key.pem,
      path: key.path,
      ...chainJson(chain),
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
          '\n\nchain of keys (from the ledger):\n' +
          table(chainLines(chain)) +
          '\n\n' +
          info.pem,
      )
    }
    return EXIT.ok
  } finally {
    st.close()
  }
}

export const keyCommand: Command = { name: 'key', usage, run: cmdKey }
