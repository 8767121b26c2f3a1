import { describeAnchoring, gatherOutside } from '../../anchor/sources.js'
import { writeCheckpoint } from '../../ledger/checkpoint.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('checkpoint')

/**
 * Prints the latest signed checkpoint, signing a new one first if the ledger grew since, after
 * taking it to the bucket and the witnesses (one anchor pass), with the anchoring level it reached.
 */
async function cmdCheckpoint(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  const st = station(values)
  try {
    const key = st.key() // never a new key over an existing vault: KEY_MISMATCH when the file is not the ledger's
    const { checkpoint, created } = writeCheckpoint(st.db, key, { logger: st.logger })
    await st.anchorNow()
    const anchoring = (await gatherOutside({ db: st.db, publicKey: key.publicKey, ...st.anchorSources() })).report
    if (values.json) {
      io.stdout(JSON.stringify({ ...checkpoint, created, anchoring }, null, 2) + '\n')
    } else {
      io.stdout(
        `checkpoint ${checkpoint.id} (${created ? 'signed now' : `signed ${checkpoint.createdAt}`}): ${checkpoint.treeSize} events, root ${checkpoint.rootHash}, key ${checkpoint.keyId}\nanchoring: ${describeAnchoring(anchoring)}\n\n${checkpoint.note}`,
      )
    }
    return EXIT.ok
  } finally {
    st.close()
  }
}

export const checkpointCommand: Command = { name: 'checkpoint', usage, run: cmdCheckpoint }
