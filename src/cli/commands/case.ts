import { UsageError } from '../../common/errors.js'
import { local, parseId, parseInstant } from '../args.js'
import { endSignIn, evidenceActor } from '../identity.js'
import { getCase, listCases, recordingsOfCase, type CaseRow } from '../../catalog/cases.js'
import { closeCase, createCase, linkRecordings, reopenCase, unlinkRecording } from '../../retention/actions.js'
import { table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('case')

const options = {
  type: { type: 'string' },
  title: { type: 'string' },
  opened: { type: 'string' },
  closed: { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
  as: { type: 'string' },
  status: { type: 'string' },
} as const

function show(c: CaseRow, zone: string): string {
  return `case ${c.number} (${c.type}${c.title ? `, ${c.title}` : ''}): ${c.status}, opened ${local(c.openedAt, zone)} by ${c.openedBy}${c.closedAt ? `, closed ${local(c.closedAt, zone)} by ${c.closedBy}` : ''}`
}

async function cmdCase(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, options, usage)
  if (values.help) return showUsage(usage)
  const [sub, number, ...rest] = positionals
  const need = (n: number): void => {
    if (positionals.length < n) throw new UsageError(`case ${sub ?? ''}: missing arguments\n\nUsage: bodyvault ${usage}`)
  }
  const st = station(values)
  try {
    const policy = st.policy
    const zone = st.cfg.station.timezone
    // Changes name the signed-in person; reading (list, show) needs no sign-in.
    const changes = ['create', 'close', 'reopen', 'link', 'unlink'].includes(sub ?? '')
    const who = changes ? await evidenceActor(st, values, `case ${sub}`, 'cases:write') : undefined
    const ctx = (_required = false) => ({ db: st.db, policy, actor: who?.actor ?? st.actor, now: new Date() })
    const out = (obj: unknown, text: string): number => {
      io.stdout(values.json ? JSON.stringify(obj, null, 2) + '\n' : text + '\n')
      return EXIT.ok
    }
    switch (sub) {
      case 'create': {
        need(2)
        if (!values.type) throw new UsageError(`case create needs --type (one of: ${Object.keys(policy.caseTypes).join(', ')})`)
        const c = createCase(ctx(), {
          number: number!,
          type: values.type,
          title: values.title ?? null,
          openedAt: values.opened ? parseInstant(values.opened, '--opened', zone) : null,
        })
        return out(c, `created ${show(c, zone)}`)
      }
      case 'close': {
        need(2)
        const r = closeCase(ctx(), number!, { closedAt: values.closed ? parseInstant(values.closed, '--closed', zone) : null, reason: values.reason })
        return out(r, `${show(r.case, zone)}\n${r.changed.length} recording deadline(s) changed`)
      }
      case 'reopen': {
        need(2)
        const r = reopenCase(ctx(), number!, values.reason)
        return out(r, `${show(r.case, zone)}\n${r.changed.length} recording deadline(s) changed`)
      }
      case 'link': {
        need(3)
        const r = linkRecordings(
          ctx(),
          number!,
          rest.map((x) => parseId(x, 'recording id')),
          values.reason,
        )
        return out({ caseNumber: number, ...r }, `linked ${r.linked.length} recording(s) to case ${number}`)
      }
      case 'unlink': {
        need(3)
        if (rest.length !== 1) throw new UsageError('case unlink takes one recording id')
        const id = parseId(rest[0]!, 'recording id')
        unlinkRecording(ctx(), number!, id, values.reason)
        return out({ caseNumber: number, unlinked: [id] }, `unlinked recording ${id} from case ${number}`)
      }
      case 'show': {
        need(2)
        const c = getCase(st.db, number!)
        if (!c) throw new UsageError(`case ${number} does not exist`)
        const recordings = recordingsOfCase(st.db, number!)
        return out({ ...c, recordings }, `${show(c, zone)}\nrecordings: ${recordings.join(', ') || '(none)'}`)
      }
      case 'list': {
        if (values.status !== undefined && values.status !== 'open' && values.status !== 'closed') throw new UsageError('--status is open or closed')
        const rows = listCases(st.db, values.status as 'open' | 'closed' | undefined)
        const lines = [['CASE', 'TYPE', 'STATUS', 'OPENED', 'CLOSED', 'RECORDINGS']]
        for (const c of rows)
          lines.push([
            c.number,
            c.type,
            c.status,
            local(c.openedAt, zone),
            c.closedAt ? local(c.closedAt, zone) : '-',
            String(recordingsOfCase(st.db, c.number).length),
          ])
        return out(rows, `${table(lines)}\n${rows.length} case(s)`)
      }
      default:
        throw new UsageError(`case: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    }
  } finally {
    endSignIn(st)
    st.close()
  }
}

export const caseCommand: Command = { name: 'case', usage, run: cmdCase }
