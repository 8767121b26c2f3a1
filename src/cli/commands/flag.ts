import { UsageError } from '../../common/errors.js'
import { flagsOf, listFlags, type FlagRow } from '../../catalog/flags.js'
import type { UserRow } from '../../catalog/users.js'
import { approveFlagRemoval, requestFlagRemoval, setFlag, withdrawFlagRemoval, type FlagCtx } from '../../retention/flags.js'
import { describeRule } from '../../retention/policy.js'
import { local, parseId } from '../args.js'
import { table } from '../format.js'
import { endSignIn, evidenceActor } from '../identity.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('flag')

/** The person behind an account: the police number (what makes two accounts one person). */
const personOf = (u: UserRow): string => u.policeNo ?? `account:${u.id}`

async function cmdFlag(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      reason: { type: 'string' },
      as: { type: 'string' },
      all: { type: 'boolean', default: false },
      pending: { type: 'boolean', default: false },
      recording: { type: 'string' },
    },
    usage,
  )
  if (values.help) return showUsage(usage)
  const [sub, ...rest] = positionals
  const st = station(values)
  try {
    const zone = st.cfg.station.timezone
    const out = (obj: unknown, text: string): number => {
      io.stdout(values.json ? JSON.stringify(obj, null, 2) + '\n' : text + '\n')
      return EXIT.ok
    }
    const ctxAs = async (what: string, right: 'flags:write' | 'flags:approve'): Promise<FlagCtx> => {
      const who = await evidenceActor(st, values, what, right)
      return { db: st.db, policy: st.policy, actor: who.actor, person: personOf(who.user), now: new Date() }
    }
    const one = (n: number) => {
      if (rest.length !== n) throw new UsageError(`flag ${sub} takes ${n === 1 ? 'one flag id' : 'a recording id and a flag'}\n\nUsage: bodyvault ${usage}`)
    }
    switch (sub) {
      case 'set': {
        one(2)
        const ctx = await ctxAs('a retention flag', 'flags:write')
        const r = setFlag(ctx, parseId(rest[0]!, 'recording id'), rest[1]!, values.reason)
        return out(
          r.flag,
          `flag #${r.flag.id} ${r.flag.flag} set on recording ${r.flag.recordingId} by ${r.flag.setBy}: kept by ${describeRule(r.decision.rule, r.decision.ref)}`,
        )
      }
      case 'remove': {
        one(1)
        const ctx = await ctxAs("asking for a flag's removal", 'flags:write')
        const f = requestFlagRemoval(ctx, parseId(rest[0]!, 'flag id'), values.reason)
        return out(f, `removal of flag #${f.id} (${f.flag}, recording ${f.recordingId}) asked for: it stays until a supervisor other than ${f.setBy} approves`)
      }
      case 'approve': {
        one(1)
        // flags:approve asks a fresh second factor (a step-up, issue 23) before the approval is recorded.
        const ctx = await ctxAs("approving a flag's removal", 'flags:approve')
        const r = approveFlagRemoval(ctx, parseId(rest[0]!, 'flag id'), values.reason)
        return out(
          r.flag,
          `flag #${r.flag.id} (${r.flag.flag}) removed from recording ${r.flag.recordingId}, approved by ${r.flag.removedBy}; now kept by ${describeRule(r.decision.rule, r.decision.ref)}`,
        )
      }
      case 'withdraw': {
        one(1)
        const ctx = await ctxAs("withdrawing a flag's removal", 'flags:write')
        const f = withdrawFlagRemoval(ctx, parseId(rest[0]!, 'flag id'), values.reason)
        return out(f, `the removal of flag #${f.id} (${f.flag}) is withdrawn: the flag stays`)
      }
      case 'list': {
        const rows: FlagRow[] =
          values.recording !== undefined
            ? flagsOf(st.db, parseId(values.recording, '--recording'), !values.all)
            : listFlags(st.db, values.all ? 'all' : values.pending ? 'removal-requested' : 'in-force')
        const lines = [['FLAG', 'RECORDING', 'NAME', 'SET', 'BY', 'REMOVAL', 'REASON']]
        for (const f of rows)
          lines.push([
            `#${f.id}`,
            String(f.recordingId),
            f.flag,
            local(f.setAt, zone),
            f.setBy,
            f.removedAt ? `removed ${local(f.removedAt, zone)} ${f.removedBy}` : f.removalRequestedAt ? `asked by ${f.removalRequestedBy}` : '-',
            f.reason,
          ])
        return out(rows, `${table(lines)}\n${rows.length} flag(s)${values.all ? '' : ' in force'}`)
      }
      default:
        throw new UsageError(`flag: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    }
  } finally {
    endSignIn(st)
    st.close()
  }
}

export const flagCommand: Command = { name: 'flag', usage, run: cmdFlag }
