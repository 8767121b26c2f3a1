import { UsageError } from '../../common/errors.js'
import { local, parseId } from '../args.js'
import { endSignIn, evidenceActor } from '../identity.js'
import { holdsOf, listHolds, type HoldRow } from '../../catalog/cases.js'
import { placeHold, releaseHold } from '../../retention/actions.js'
import { table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('hold')

async function cmdHold(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { reason: { type: 'string' }, by: { type: 'string' }, as: { type: 'string' }, all: { type: 'boolean', default: false }, recording: { type: 'string' } },
    usage,
  )
  if (values.help) return showUsage(usage)
  const [sub, ...rest] = positionals
  const st = station(values)
  try {
    const policy = st.policy
    const zone = st.cfg.station.timezone
    const out = (obj: unknown, text: string): number => {
      io.stdout(values.json ? JSON.stringify(obj, null, 2) + '\n' : text + '\n')
      return EXIT.ok
    }
    switch (sub) {
      case 'place': {
        if (rest.length === 0) throw new UsageError(`hold place needs at least one recording id\n\nUsage: bodyvault ${usage}`)
        const ids = rest.map((x) => parseId(x, 'recording id'))
        // A supervisor's decision: the ledger names the signed-in person.
        const who = await evidenceActor(st, values, 'a legal hold', 'holds:write')
        const ctx = { db: st.db, policy, actor: who.actor, now: new Date() }
        const holds: HoldRow[] = st.db.transaction(() => ids.map((id) => placeHold(ctx, id, values.reason))).immediate()
        return out(
          holds,
          holds
            .map((h) => `hold #${h.id} placed on recording ${h.recordingId} by ${h.placedBy}: nothing of it is purged until the hold is released`)
            .join('\n'),
        )
      }
      case 'release': {
        if (rest.length !== 1) throw new UsageError(`hold release takes one hold id\n\nUsage: bodyvault ${usage}`)
        const who = await evidenceActor(st, values, 'releasing a legal hold', 'holds:write')
        const ctx = { db: st.db, policy, actor: who.actor, now: new Date() }
        const h = releaseHold(ctx, parseId(rest[0]!, 'hold id'), values.reason)
        return out(h, `hold #${h.id} on recording ${h.recordingId} released by ${h.releasedBy}`)
      }
      case 'list': {
        const rows = values.recording !== undefined ? holdsOf(st.db, parseId(values.recording, '--recording'), !values.all) : listHolds(st.db, !values.all)
        const lines = [['HOLD', 'RECORDING', 'PLACED', 'BY', 'RELEASED', 'REASON']]
        for (const h of rows)
          lines.push([
            `#${h.id}`,
            String(h.recordingId),
            local(h.placedAt, zone),
            h.placedBy,
            h.releasedAt ? `${local(h.releasedAt, zone)} ${h.releasedBy}` : '-',
            h.reason,
          ])
        return out(rows, `${table(lines)}\n${rows.length} hold(s)${values.all ? '' : ' in force'}`)
      }
      default:
        throw new UsageError(`hold: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    }
  } finally {
    endSignIn(st)
    st.close()
  }
}

export const holdCommand: Command = { name: 'hold', usage, run: cmdHold }
