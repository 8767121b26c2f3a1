import { failedObjects } from '../../catalog/fixity.js'
import { UsageError } from '../../common/errors.js'
import type { StationStatus } from '../../dock/status.js'
import type { Station } from '../../station/station.js'
import { type FixityRunReport, runFixity } from '../../fixity/job.js'
import { budgetBytesPerSec } from '../../fixity/schedule.js'
import { fixityState } from '../../fixity/state.js'
import { bytes, duration } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'
import { daemonEndpoint, daemonGet } from '../daemon.js'
import { authHeader, stateText } from './status.js'

const usage = usageOf('fixity')

function reportText(r: FixityRunReport): string {
  if (r.heldBy) return `another fixity run holds the lease (${r.heldBy}): nothing done\n`
  const rate = r.durationMs > 0 ? `${bytes(Math.round((r.bytes * 1000) / r.durationMs))}/s` : '-'
  const budget = r.budgetBytesPerSec > 0 ? `budget ${bytes(r.budgetBytesPerSec)}/s` : 'no budget'
  return (
    `checked ${r.objects} object(s), ${bytes(r.bytes)} in ${duration(r.durationMs)} (${rate}, ${budget}${r.pausedMs ? `, paused ${duration(r.pausedMs)} for cameras` : ''}): ` +
    `${r.ok} ok, ${r.repaired} repaired, ${r.failed} FAILED${r.errors ? `, ${r.errors} unreadable (see the log)` : ''}; ${r.remaining} still due${r.stopped ? ' (stopped early)' : ''}\n`
  )
}

/**
 * Whether the running daemon, if any, is copying cameras (asked every 2 s
 * through its station-local status credential); no daemon: never busy.
 */
function daemonBusy(cfg: Station['cfg']): { busy(): boolean; stop(): void } {
  let busy = false
  const ask = async (): Promise<void> => {
    try {
      const res = await daemonGet(daemonEndpoint(cfg), '/v1/station', { timeoutMs: 2000, headers: await authHeader(cfg.dataDir) })
      busy = res.status === 200 && (JSON.parse(res.body) as StationStatus).scheduler.active > 0
    } catch {
      busy = false
    }
  }
  void ask()
  const timer = setInterval(() => void ask(), 2000)
  timer.unref()
  return { busy: () => busy, stop: () => clearInterval(timer) }
}

async function cmdFixity(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { all: { type: 'boolean', default: false }, budget: { type: 'string' } }, usage)
  if (values.help) return showUsage(usage)
  const [sub, ...rest] = positionals
  if (rest.length) throw new UsageError(`fixity ${sub} takes no arguments\n\nUsage: bodyvault ${usage}`)
  if (sub === 'status') {
    const st = station(values)
    try {
      const s = fixityState(st.db, st.cfg.fixity, new Date())
      const failed = failedObjects(st.db)
      if (values.json) io.stdout(JSON.stringify({ ...s, failedObjects: failed }, null, 2) + '\n')
      else {
        io.stdout(stateText(s))
        for (const f of failed) io.stdout(`FAILED  object ${f.sha256} (${bytes(f.size)}) since ${f.failedAt}: ${f.failure}\n`)
      }
      return s.failed > 0 || s.overdue > 0 ? EXIT.problems : EXIT.ok
    } finally {
      st.close()
    }
  }
  if (sub !== 'run')
    throw new UsageError(`${sub === undefined ? 'fixity needs a subcommand' : `unknown fixity subcommand "${sub}"`}\n\nUsage: bodyvault ${usage}`)
  let budget: number | undefined
  if (values.budget !== undefined) {
    const n = Number(values.budget)
    if (!/^\d+(\.\d+)?$/.test(values.budget) || !Number.isFinite(n)) throw new UsageError(`--budget is MB/s (0: no limit), not "${values.budget}"`)
    budget = budgetBytesPerSec(n)
  }
  const st = station(values)
  const watch = daemonBusy(st.cfg)
  const ac = new AbortController()
  const onSignal = (): void => ac.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const report = await runFixity(st.fixity, {
      scope: values.all ? 'all' : 'due',
      trigger: 'manual',
      busy: watch.busy,
      signal: ac.signal,
      ...(budget !== undefined ? { budgetBytesPerSec: budget } : {}),
    })
    const state = fixityState(st.db, st.cfg.fixity, new Date())
    if (values.json) io.stdout(JSON.stringify({ ...report, state }, null, 2) + '\n')
    else io.stdout(reportText(report) + stateText(state))
    if (ac.signal.aborted) return EXIT.interrupted
    return report.failed > 0 || report.errors > 0 || report.heldBy ? EXIT.problems : EXIT.ok
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    watch.stop()
    st.close()
  }
}

export const fixityCommand: Command = { name: 'fixity', usage, run: cmdFixity }
