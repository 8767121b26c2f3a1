import { UsageError } from '../../common/errors.js'
import { local, parseId } from '../args.js'
import { endSignIn, evidenceActor } from '../identity.js'
import { deadlineText, describeRule } from '../../retention/policy.js'
import { setCategory } from '../../retention/actions.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('categorize')

async function cmdCategorize(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { reason: { type: 'string' }, by: { type: 'string' }, as: { type: 'string' } }, usage)
  if (values.help) return showUsage(usage)
  if (positionals.length !== 2) throw new UsageError(`categorize takes a recording id and a category\n\nUsage: bodyvault ${usage}`)
  const id = parseId(positionals[0]!, 'recording id')
  const category = positionals[1] === 'none' ? null : positionals[1]!
  const st = station(values)
  try {
    const who = await evidenceActor(st, values, 'categorize', 'recordings:categorize')
    const ctx = { db: st.db, policy: st.policy, actor: who.actor, now: new Date() }
    const r = setCategory(ctx, id, category, values.reason)
    const d = r.decision
    if (values.json) {
      io.stdout(JSON.stringify({ recordingId: id, from: r.from, to: r.to, deadline: deadlineText(d.deadline), rule: d.rule, ruleRef: d.ref }, null, 2) + '\n')
    } else {
      io.stdout(
        `recording ${id}: ${r.from ?? 'uncategorised'} -> ${r.to ?? 'uncategorised'}; kept until ${d.deadline === 'indefinite' ? 'further notice' : local(d.deadline.toISOString(), st.cfg.station.timezone)} (${describeRule(d.rule, d.ref)})\n`,
      )
    }
    return EXIT.ok
  } finally {
    endSignIn(st)
    st.close()
  }
}

export const categorizeCommand: Command = { name: 'categorize', usage, run: cmdCategorize }
