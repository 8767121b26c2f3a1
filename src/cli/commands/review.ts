import { UsageError } from '../../common/errors.js'
import { getSample, sampleItems } from '../../catalog/reviews.js'
import { drawSample, recordOutcome, type ReviewCtx } from '../../review/sample.js'
import { currentMonth, monthBounds } from '../../stats/monthly.js'
import { parseId } from '../args.js'
import { table } from '../format.js'
import { endSignIn, evidenceActor } from '../identity.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('review')

async function cmdReview(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { month: { type: 'string' }, 'per-officer': { type: 'string' }, seed: { type: 'string' }, note: { type: 'string' }, as: { type: 'string' } },
    usage,
  )
  if (values.help) return showUsage(usage)
  const [sub, ...rest] = positionals
  const st = station(values)
  try {
    const zone = st.cfg.station.timezone
    const ctxAs = async (what: string): Promise<ReviewCtx> => {
      const who = await evidenceActor(st, values, what, 'reviews:write')
      return { db: st.db, actor: who.actor, person: who.user.policeNo ?? `account:${who.user.id}`, stationId: st.cfg.station.id, now: new Date() }
    }
    const show = (id: number): { text: string; obj: unknown } => {
      const s = getSample(st.db, id)
      if (!s) throw new UsageError(`no review sample ${id}`)
      const items = sampleItems(st.db, id)
      const lines = [['OFFICER', 'RECORDING', 'OUTCOME', 'NOTE', 'BY']]
      for (const i of items) lines.push([i.officerId, String(i.recordingId), i.outcome ?? '-', i.note ?? '', i.decidedBy ?? ''])
      return {
        obj: { ...s, items },
        text: `随机抽查 sample #${s.id}: ${s.month}, ${s.perOfficer} per officer, seed ${s.seed} (by ${s.requestedBy})\n${table(lines)}`,
      }
    }
    const out = (r: { text: string; obj: unknown }): number => {
      io.stdout(values.json ? JSON.stringify(r.obj, null, 2) + '\n' : r.text + '\n')
      return EXIT.ok
    }
    switch (sub) {
      case 'sample': {
        const n = Number(values['per-officer'])
        if (values['per-officer'] === undefined || !Number.isInteger(n))
          throw new UsageError(`review sample needs --per-officer N\n\nUsage: bodyvault ${usage}`)
        const month = values.month ?? currentMonth(zone)
        const { from, to } = monthBounds(month, zone)
        const r = drawSample(await ctxAs('a random review sample'), { month, from, to, perOfficer: n, seed: values.seed })
        return out(show(r.sample.id))
      }
      case 'outcome': {
        if (rest.length !== 3) throw new UsageError(`review outcome takes a sample id, a recording id and an outcome\n\nUsage: bodyvault ${usage}`)
        const ctx = await ctxAs('a review outcome')
        const item = recordOutcome(ctx, parseId(rest[0]!, 'sample id'), parseId(rest[1]!, 'recording id'), rest[2]!, values.note)
        return out({ obj: item, text: `sample #${item.sampleId}, recording ${item.recordingId}: ${item.outcome}${item.note ? ` (${item.note})` : ''}` })
      }
      case 'show':
        if (rest.length !== 1) throw new UsageError(`review show takes a sample id\n\nUsage: bodyvault ${usage}`)
        return out(show(parseId(rest[0]!, 'sample id')))
      default:
        throw new UsageError(`review: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    }
  } finally {
    endSignIn(st)
    st.close()
  }
}

export const reviewCommand: Command = { name: 'review', usage, run: cmdReview }
