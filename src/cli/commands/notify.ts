import { outboxCounts, sentNotices } from '../../catalog/notices.js'
import { UsageError } from '../../common/errors.js'
import { testNotice } from '../../notify/notice.js'
import { table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('notify')

/**
 * Notices by webhook and mail (notify.channels). `test` sends a test notice
 * on every channel at once and says what each answered; `run` queues what
 * the daemon's check, daily or weekly job would and makes one delivery
 * pass (what fails stays queued for the daemon's retries); `status` counts
 * the outbox and lists the last notices sent.
 */
async function cmdNotify(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  const [sub, ...rest] = positionals
  const st = station(values)
  try {
    if (sub === 'status') {
      if (rest.length) throw new UsageError(`notify status takes no argument\n\nUsage: bodyvault ${usage}`)
      const counts = outboxCounts(st.db)
      const sent = sentNotices(st.db, { limit: 20 })
      if (values.json) io.stdout(`${JSON.stringify({ ...counts, sent }, null, 2)}\n`)
      else {
        io.stdout(`notices: ${counts.pending} pending, ${counts.givenUp} given up, last sent ${counts.lastSentAt ?? 'never'}\n`)
        if (sent.length)
          io.stdout(`${table([['SENT', 'KIND', 'KEY', 'CHANNEL', 'EVENT'], ...sent.map((s) => [s.sentAt, s.kind, s.key, s.channel, String(s.eventSeq)])])}\n`)
      }
      return counts.givenUp > 0 ? EXIT.problems : EXIT.ok
    }
    const notifier = st.notifier()
    if (!notifier) throw new UsageError('no notice channel is configured: add notify.channels to the config (docs/install.md, "Notices")')
    try {
      if (sub === 'test') {
        if (rest.length) throw new UsageError(`notify test takes no argument\n\nUsage: bodyvault ${usage}`)
        const r = await notifier.sendNow(testNotice(st.cfg.station, new Date()))
        if (values.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`)
        else for (const c of r) io.stdout(`${c.channel} (${c.to}): ${c.ok ? 'delivered' : `FAILED: ${c.error}`}\n`)
        return r.every((c) => c.ok) ? EXIT.ok : EXIT.problems
      }
      if (sub === 'run') {
        const what = rest[0]
        if (rest.length !== 1 || (what !== 'check' && what !== 'daily' && what !== 'weekly'))
          throw new UsageError(`notify run takes check, daily or weekly\n\nUsage: bodyvault ${usage}`)
        const queued = what === 'check' ? await notifier.checkNow() : notifier[what]()
        const r = await notifier.deliverDue()
        if (values.json) io.stdout(`${JSON.stringify({ queued, ...r }, null, 2)}\n`)
        else io.stdout(`${queued} notice(s) queued; ${r.sent} delivered, ${r.failed} to be tried again\n`)
        return r.failed > 0 ? EXIT.problems : EXIT.ok
      }
      throw new UsageError(`notify: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    } finally {
      notifier.close()
    }
  } finally {
    st.close()
  }
}

export const notifyCommand: Command = { name: 'notify', usage, run: cmdNotify }
