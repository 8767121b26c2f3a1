import { getFinding, listFindings, type FindingKind } from '../../catalog/findings.js'
import { UsageError } from '../../common/errors.js'
import { resolveFinding } from '../../registry/findings.js'
import { local, parseId } from '../args.js'
import { endSignIn, evidenceActor } from '../identity.js'
import { EXIT, io, parse, showUsage, type Command } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'
import { table } from '../format.js'

const usage = usageOf('finding')
const options = {
  kind: { type: 'string' },
  all: { type: 'boolean', default: false },
  resolution: { type: 'string' },
  as: { type: 'string' },
  by: { type: 'string' },
} as const

/** `bodyvault finding ...`: what the station flagged for a clerk or a supervisor, and their resolution (a ledger event). */
async function cmdFinding(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, options, usage)
  if (values.help) return showUsage(usage)
  const [sub, id] = positionals
  const st = station(values)
  try {
    const zone = st.cfg.station.timezone
    const out = (obj: unknown, text: string): number => {
      io.stdout(values.json ? JSON.stringify(obj, null, 2) + '\n' : text + '\n')
      return EXIT.ok
    }
    switch (sub) {
      case 'list': {
        if (values.kind !== undefined && values.kind !== 'officer-conflict' && values.kind !== 'reconciliation')
          throw new UsageError('--kind is officer-conflict or reconciliation')
        const rows = listFindings(st.db, { kind: values.kind as FindingKind | undefined, open: values.all ? undefined : true })
        return out(
          rows,
          `${table([['ID', 'KIND', 'CODE', 'DEVICE', 'FOUND', 'STATE'], ...rows.map((f) => [String(f.id), f.kind, f.code, f.deviceNumber ?? '-', local(f.foundAt, zone), f.resolvedAt ? 'resolved' : 'open'])])}\n${rows.map((f) => `#${f.id}: ${f.message}`).join('\n')}\n${rows.length} finding(s)${values.all ? '' : ' open'}`,
        )
      }
      case 'show': {
        if (!id) throw new UsageError('finding show <id>')
        const f = getFinding(st.db, parseId(id, 'finding id'))
        if (!f) throw new UsageError(`finding ${id} does not exist`)
        return out(
          f,
          `#${f.id} ${f.kind}/${f.code}: ${f.message}${f.resolvedAt ? `\nresolved ${local(f.resolvedAt, zone)} by ${f.resolvedBy}: ${f.resolution}` : ''}`,
        )
      }
      case 'resolve': {
        if (!id || values.resolution === undefined) throw new UsageError('finding resolve <id> --resolution TEXT [--as USER]')
        // A clerk's or a supervisor's decision: the signed-in person, with the same right as through the API.
        const who = await evidenceActor(st, values, 'resolving a finding', 'findings:resolve')
        const f = resolveFinding({ db: st.db, actor: who.actor, now: new Date() }, parseId(id, 'finding id'), values.resolution)
        return out(f, `finding ${f.id} resolved`)
      }
      default:
        throw new UsageError(`finding: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    }
  } finally {
    endSignIn(st)
    st.close()
  }
}

export const findingCommand: Command = { name: 'finding', usage, run: cmdFinding }
