import { UsageError } from '../../common/errors.js'
import { JOB_KINDS, mediaStatus, retryFailedJobs, type JobKind, type MediaStatus } from '../../catalog/media-jobs.js'
import type { JobOutcome } from '../../media/worker.js'
import { duration, table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('media')

function statusText(s: MediaStatus): string {
  const lines: string[] = []
  lines.push(
    `queue: ${s.byState.queued} queued, ${s.byState.running} running, ${s.byState.done} done, ${s.byState.failed} failed; ${s.derivatives} derivatives`,
  )
  lines.push(
    table([
      ['kind', 'queued', 'running', 'done', 'failed'],
      ...JOB_KINDS.map((k) => [k, String(s.byKind[k].queued), String(s.byKind[k].running), String(s.byKind[k].done), String(s.byKind[k].failed)]),
    ]),
  )
  for (const r of s.running)
    lines.push(
      `running  job ${r.jobId}  ${r.kind}  recording:${r.recordingId} ${r.sourcePath}  (attempt ${r.attempts}, pid ${r.workerPid ?? '?'}, since ${r.startedAt ?? '?'})`,
    )
  for (const r of s.retrying)
    lines.push(
      `retry    job ${r.jobId}  ${r.kind}  recording:${r.recordingId} ${r.sourcePath}  (after ${r.attempts} attempt(s), next at ${r.nextAttemptAt}): ${firstLine(r.error)}`,
    )
  for (const f of s.failed) {
    lines.push(`FAILED   job ${f.jobId}  ${f.kind}  recording:${f.recordingId} ${f.sourcePath}  (${f.attempts} attempt(s)); the original stays in the vault:`)
    for (const l of (f.error ?? '').split('\n')) lines.push(`           ${l}`)
  }
  return lines.join('\n') + '\n'
}

function firstLine(s: string | null): string {
  return (s ?? '').split('\n', 1)[0] ?? ''
}

function outcomeLine(o: JobOutcome): string {
  const what = `job ${o.jobId} ${o.kind} recording:${o.recordingId}`
  switch (o.outcome) {
    case 'done': {
      // A remuxed proxy's thumbnail, made in the same run: its own line.
      const c = o.carried ? `\ndone     job ${o.carried.jobId} ${o.carried.kind} recording:${o.recordingId}: ${o.carried.result}` : ''
      return `done     ${what}: ${o.result ?? ''} (${duration(o.ms)})${c}`
    }
    case 'failed':
      return `FAILED   ${what}: ${firstLine(o.error ?? null)}`
    case 'retry':
      return `retry    ${what} at ${o.nextAttemptAt ?? '?'}: ${firstLine(o.error ?? null)}`
    case 'interrupted':
      return `stopped  ${what}: back in the queue`
  }
}

async function cmdMedia(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { once: { type: 'boolean', default: false }, kind: { type: 'string', multiple: true }, all: { type: 'boolean', default: false } },
    usage,
  )
  if (values.help) return showUsage(usage)
  const [sub, ...rest] = positionals
  if (sub === 'status') {
    if (rest.length) throw new UsageError(`media status takes no arguments\n\nUsage: bodyvault ${usage}`)
    const st = station(values)
    try {
      const s = mediaStatus(st.db)
      io.stdout(values.json ? JSON.stringify(s, null, 2) + '\n' : statusText(s))
      return EXIT.ok
    } finally {
      st.close()
    }
  }
  if (sub === 'retry') {
    const ids = rest.map((r) => {
      if (!/^[1-9][0-9]*$/.test(r)) throw new UsageError(`media retry: "${r}" is not a job id (see bodyvault media status)\n\nUsage: bodyvault ${usage}`)
      return Number(r)
    })
    if (ids.length === 0 && !values.all) throw new UsageError(`media retry needs job ids or --all\n\nUsage: bodyvault ${usage}`)
    const st = station(values)
    try {
      const n = retryFailedJobs(st.db, ids, new Date())
      st.logger.info({ event: 'media.retry', jobs: ids.length ? ids : 'all', requeued: n }, 'failed media jobs requeued')
      io.stdout(
        values.json
          ? JSON.stringify({ requeued: n }) + '\n'
          : `${n} failed job(s) back in the queue: run bodyvault media run (or let the daemon pick them up)\n`,
      )
      return EXIT.ok
    } finally {
      st.close()
    }
  }
  if (sub !== 'run')
    throw new UsageError(`${sub === undefined ? 'media needs a subcommand' : `unknown media subcommand "${sub}"`}\n\nUsage: bodyvault ${usage}`)
  if (rest.length) throw new UsageError(`media run takes no arguments\n\nUsage: bodyvault ${usage}`)
  const kinds = (values.kind ?? []).map((k) => {
    if (!(JOB_KINDS as readonly string[]).includes(k)) throw new UsageError(`--kind must be one of ${JOB_KINDS.join(', ')}, not "${k}"`)
    return k as JobKind
  })
  const st = station(values)
  const worker = st.mediaWorker(kinds.length ? { kinds } : {})
  let interrupted = false
  const onSignal = (): void => {
    interrupted = true
    worker.requestStop()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const report = await worker.drain({ waitForRetries: !values.once })
    const status = mediaStatus(st.db)
    if (values.json) {
      io.stdout(JSON.stringify({ ...report, status }, null, 2) + '\n')
    } else {
      const r = report.recovered
      if (r.requeued.length || r.failed.length || r.killed.length)
        io.stdout(`recovered after a crash: ${r.requeued.length} job(s) requeued, ${r.failed.length} failed, ${r.killed.length} orphaned ffmpeg killed\n`)
      for (const o of report.outcomes) io.stdout(outcomeLine(o) + '\n')
      io.stdout(statusText(status))
    }
    if (interrupted) return EXIT.interrupted
    return report.outcomes.some((o) => o.outcome === 'failed') ? EXIT.problems : EXIT.ok
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    st.close()
  }
}

export const mediaCommand: Command = { name: 'media', usage, run: cmdMedia }
