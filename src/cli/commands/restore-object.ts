import { UsageError } from '../../common/errors.js'
import { restoreObjects, restoreTargets } from '../../offload/restore.js'
import { operatorActor } from '../identity.js'
import { bytes } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('restore-object')

/**
 * Brings evicted footage back into the local vault from its verified S3
 * copy (a recording id: its original and its derivatives), hashed on the
 * way, each with a `fetched-back` event naming the person.
 */
async function cmdRestoreObject(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { by: { type: 'string' }, 'originals-only': { type: 'boolean', default: false } }, usage)
  if (values.help) return showUsage(usage)
  if (positionals.length === 0) throw new UsageError(`name at least one object (SHA-256) or recording id\n\nUsage: bodyvault ${usage}`)
  const st = station(values)
  try {
    const actor = operatorActor(st, values.by)
    const targets = restoreTargets(st.db, positionals, { derivatives: !values['originals-only'] })
    const out = await restoreObjects({ db: st.db, vault: st.vault, s3: st.offload()?.s3 ?? null, logger: st.logger }, targets, actor)
    const fetched = out.filter((o) => o.status === 'fetched')
    const failed = out.filter((o) => o.status === 'failed')
    if (values.json) io.stdout(JSON.stringify({ objects: out, fetched: fetched.length, fetchedBytes: fetched.reduce((a, o) => a + o.size, 0) }, null, 2) + '\n')
    else {
      for (const o of out) io.stdout(`${o.status.padEnd(7)}  ${o.sha256}  ${o.what}${o.error ? `: ${o.error}` : ''}\n`)
      io.stdout(
        `${fetched.length} fetched from S3 (${bytes(fetched.reduce((a, o) => a + o.size, 0))}), ${out.length - fetched.length - failed.length} already local, ${failed.length} failed\n`,
      )
    }
    return failed.length ? EXIT.problems : EXIT.ok
  } finally {
    st.close()
  }
}

export const restoreObjectCommand: Command = { name: 'restore-object', usage, run: cmdRestoreObject }
