import { describeAnchoring } from '../../anchor/sources.js'
import { verifyVault } from '../../verify/vault.js'
import { bytes } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('verify')

async function cmdVerify(args: string[]): Promise<number> {
  const { values } = parse(args, { quick: { type: 'boolean' } }, usage)
  if (values.help) return showUsage(usage)
  const st = station(values, { checkIntegrity: true })
  try {
    const report = await verifyVault(st.db, st.vault, {
      chunkBytes: st.cfg.ingest.chunkBytes,
      stationId: st.cfg.station.id,
      anchors: st.anchorSources(),
      quick: values.quick === true,
      fixity: st.cfg.fixity,
    })
    if (values.json) {
      io.stdout(JSON.stringify(report, null, 2) + '\n')
    } else {
      for (const p of report.problems) io.stdout(`${p.kind}\t${p.subject}\t${p.detail}\n`)
      for (const n of report.notes) io.stdout(`note\t${n}\n`)
      if (report.anchoring) io.stdout(`anchoring: ${describeAnchoring(report.anchoring)}\n`)
      // A broken chain of keys is on the record for ever: every report says so, though it is not a new problem.
      for (const b of report.keys.breaks)
        io.stdout(`KEY CHAIN BROKEN at event ${b.seq}: the station key was replaced without the old one by ${b.actor} at ${b.at} (${b.reason})\n`)
      io.stdout(
        `${report.ok ? 'ok' : 'PROBLEMS FOUND'}: ${report.checked.events} events, ${report.checked.recordings} recordings, ${report.checked.objects} objects (${bytes(report.checked.bytes)}) ${values.quick ? 'looked at' : 'checked'}; ${report.problems.length} problems\n`,
      )
    }
    return report.ok ? EXIT.ok : EXIT.problems
  } finally {
    st.close()
  }
}

export const verifyCommand: Command = { name: 'verify', usage, run: cmdVerify }
