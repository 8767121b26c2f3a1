import { getRecording } from '../../catalog/recordings.js'
import { UsageError } from '../../common/errors.js'
import { local, parseId, parseInstant } from '../args.js'
import { retentionPlan, type PlanItem } from '../../retention/plan.js'
import { deadlineText, describeRule, purgeAfter } from '../../retention/policy.js'
import { runPurge } from '../../retention/purge.js'
import { casesOf, holdsOf } from '../../catalog/cases.js'
import { flagsOf } from '../../catalog/flags.js'
import { getRetention } from '../../catalog/retention.js'
import { decide } from '../../retention/deadlines.js'
import { bytes, table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('retention')

/** A purge may look back (--at in the past deletes less) but never run ahead of the clock. */
const CLOCK_SKEW_MS = 60_000

function planTable(items: PlanItem[], zone: string): string {
  const lines = [['ID', 'STATE', 'DUE SINCE', 'PURGE FROM', 'CATEGORY', 'RULE', 'SIZE']]
  for (const i of items)
    lines.push([String(i.recordingId), i.state, local(i.deadline, zone), local(i.purgeAfter, zone), i.category ?? '-', i.why, bytes(i.size)])
  return table(lines)
}

async function cmdRetention(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { at: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } }, usage)
  if (values.help) return showUsage(usage)
  const [sub, ...rest] = positionals
  const st = station(values)
  try {
    const policy = st.policy
    const zone = st.cfg.station.timezone
    const clock = new Date()
    const at = values.at !== undefined ? new Date(parseInstant(values.at, '--at', zone)) : clock
    switch (sub) {
      case 'plan': {
        const plan = retentionPlan(st.db, policy, at)
        if (values.json) {
          io.stdout(JSON.stringify(plan, null, 2) + '\n')
        } else {
          const c = plan.counts
          io.stdout(
            `${plan.items.length ? planTable(plan.items, zone) + '\n' : ''}at ${local(plan.at, zone)}: ${c.due} due (${c.purgeable} purgeable, ${c.inGrace} in the ${plan.graceDays}-day grace period, rescuable by a case link or a hold); ${c.stored} stored, ${c.indefinite} kept indefinitely, ${c.uncategorised} uncategorised, ${c.purged} purged\n`,
          )
        }
        return EXIT.ok
      }
      case 'purge': {
        if (!values['dry-run'] && at.getTime() > clock.getTime() + CLOCK_SKEW_MS) {
          throw new UsageError(
            `--at ${values.at} is in the future: a purge never runs ahead of the clock (use --dry-run to see what a later purge would delete)`,
          )
        }
        // Decided as of --at; the ledger events carry the real time.
        const r = await runPurge({
          db: st.db,
          vault: st.vault,
          policy,
          now: clock,
          asOf: at,
          dryRun: values['dry-run'],
          actor: st.actor,
          logger: st.logger,
        })
        if (values.json) {
          io.stdout(JSON.stringify(r, null, 2) + '\n')
        } else {
          for (const p of r.purged)
            io.stdout(
              `${r.dryRun ? 'would purge' : 'purged'}  recording ${p.recordingId}  ${p.sha256.slice(0, 16)}  deadline ${local(p.deadline, zone)}  ${describeRule(p.rule, p.ruleRef)}\n`,
            )
          for (const p of r.inGrace) io.stdout(`in grace     recording ${p.recordingId}  purge from ${local(p.purgeAfter, zone)}  ${p.why}\n`)
          for (const e of r.errors) io.stdout(`failed       recording ${e.recordingId}: ${e.error}\n`)
          io.stdout(
            `${r.dryRun ? 'dry run: nothing deleted; ' : ''}${r.purged.length} ${r.dryRun ? 'would be ' : ''}purged (${bytes(r.bytesFreed)}), ${r.inGrace.length} in grace, ${r.refreshed.changed} deadline(s) updated, ${r.errors.length} error(s)\n`,
          )
        }
        return r.errors.length ? EXIT.problems : EXIT.ok
      }
      case 'show': {
        if (rest.length !== 1) throw new UsageError(`retention show takes one recording id\n\nUsage: bodyvault ${usage}`)
        const id = parseId(rest[0]!, 'recording id')
        const r = getRecording(st.db, id)
        if (!r) throw new UsageError(`recording ${id} is not in the catalog`)
        const d = decide(st.db, r, policy)
        const stored = getRetention(st.db, id)
        const info = {
          recordingId: id,
          status: r.status,
          category: r.category,
          important: r.important,
          recordedAt: r.recordedAt,
          deadline: deadlineText(d.deadline),
          purgeAfter: deadlineText(purgeAfter(d.deadline, policy)),
          rule: d.rule,
          ruleRef: d.ref,
          candidates: d.candidates.map((c) => ({ rule: c.rule, ruleRef: c.ref, deadline: deadlineText(c.deadline) })),
          recorded: stored ? { deadline: stored.deadline ?? 'indefinite', rule: stored.rule, ruleRef: stored.ruleRef, eventSeq: stored.eventSeq } : null,
          cases: casesOf(st.db, id),
          holds: holdsOf(st.db, id),
          flags: flagsOf(st.db, id),
        }
        if (values.json) {
          io.stdout(JSON.stringify(info, null, 2) + '\n')
        } else {
          io.stdout(
            `recording ${id} (${r.status}, ${r.category ?? 'uncategorised'}${r.important ? ', important' : ''}): kept until ${d.deadline === 'indefinite' ? 'further notice' : local(d.deadline.toISOString(), zone)}, by ${describeRule(d.rule, d.ref)}\n`,
          )
          for (const c of d.candidates)
            io.stdout(`  ${c.deadline === 'indefinite' ? 'indefinite' : local(c.deadline.toISOString(), zone)}  ${describeRule(c.rule, c.ref)}\n`)
        }
        return EXIT.ok
      }
      default:
        throw new UsageError(`retention: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    }
  } finally {
    st.close()
  }
}

export const retentionCommand: Command = { name: 'retention', usage, run: cmdRetention }
