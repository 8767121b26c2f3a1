import { failingOffloadJobs, nextOffloadAttempt, offloadQueueByOp } from '../../catalog/offload-queue.js'
import { ledgerUploadedThrough, remoteCopyCounts } from '../../catalog/remote-copies.js'
import { UsageError } from '../../common/errors.js'
import { ledgerHead } from '../../ledger/ledger.js'
import { offloadSettings } from '../../offload/config.js'
import type { OffloadReport } from '../../offload/context.js'
import { runOffloadOnce } from '../../offload/worker.js'
import { bytes, table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('offload')

function summary(r: OffloadReport): string {
  const d = r.done
  return `${r.verified.length} object(s) uploaded and verified (${bytes(r.verified.reduce((n, v) => n + v.size, 0))}), ${d.lock} lock update(s), ${d.manifest} manifest(s), ${d.ledger ? 'ledger uploaded' : 'ledger up to date'}, ${d.delete} remote deletion(s), ${r.evicted.length} evicted locally; ${r.failed.length} failed, ${r.deferred.length} waiting, ${r.pending} pending${r.outage ? ' (S3 unreachable: retrying with backoff)' : ''}`
}

async function cmdOffload(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { once: { type: 'boolean', default: false } }, usage)
  if (values.help) return showUsage(usage)
  const [sub] = positionals
  const st = station(values)
  try {
    switch (sub) {
      case 'run': {
        const d = st.requireOffload()
        try {
          let stop = false
          const onSignal = (): void => {
            stop = true
          }
          process.once('SIGINT', onSignal)
          process.once('SIGTERM', onSignal)
          const reports: OffloadReport[] = []
          try {
            // --once: one pass. Otherwise passes until the queue is empty, waiting out retries due
            // within offload.intervalSeconds (what waits longer, e.g. a delete until a lock expires, is reported), or Ctrl-C.
            for (;;) {
              const r = await runOffloadOnce(d)
              reports.push(r)
              if (!values.json) io.stdout(summary(r) + '\n')
              if (values.once || stop || r.pending === 0) break
              const wait = Math.max(0, new Date(nextOffloadAttempt(st.db) ?? 0).getTime() - Date.now())
              if (wait > d.settings.intervalSeconds * 1000) break
              await new Promise((res) => setTimeout(res, Math.max(wait, 200)))
              if (stop) break
            }
          } finally {
            process.off('SIGINT', onSignal)
            process.off('SIGTERM', onSignal)
          }
          const last = reports[reports.length - 1]!
          if (values.json) io.stdout(JSON.stringify(values.once ? last : { passes: reports.length, last }, null, 2) + '\n')
          if (!values.json) for (const x of last.deferred) io.stdout(`  waiting: ${x.op} ${x.subject.slice(0, 16)} until ${x.until}: ${x.reason}\n`)
          return last.failed.length ? EXIT.problems : stop ? EXIT.interrupted : EXIT.ok
        } finally {
          d.s3.destroy()
        }
      }
      case 'status': {
        const s = offloadSettings(st.cfg)
        const q = offloadQueueByOp(st.db)
        const errors = failingOffloadJobs(st.db, 20)
        const o = remoteCopyCounts(st.db)
        const through = ledgerUploadedThrough(st.db)
        const status = {
          configured: s !== null,
          bucket: s?.bucket ?? null,
          endpoint: s?.endpoint ?? null,
          prefix: s?.prefix ?? null,
          cache: s?.cache ?? null,
          queue: q,
          errors,
          remote: { verified: o.verified, evictedLocally: o.evicted, evictedBytes: o.evictedBytes, deleted: o.deleted, legalHolds: o.held },
          ledger: { head: ledgerHead(st.db).seq, uploadedThrough: through },
        }
        if (values.json) {
          io.stdout(JSON.stringify(status, null, 2) + '\n')
        } else {
          io.stdout(`offload: ${s ? `s3://${s.bucket}/${s.prefix} at ${s.endpoint ?? 'AWS'}` : 'not configured (local disk only)'}\n`)
          io.stdout(
            `remote copies verified: ${status.remote.verified} (${status.remote.evictedLocally} evicted locally, ${bytes(status.remote.evictedBytes)}), ${status.remote.legalHolds} under legal hold, ${status.remote.deleted} deleted after purge; ledger uploaded through event ${through} of ${status.ledger.head}\n`,
          )
          if (q.length)
            io.stdout(table([['QUEUE', 'JOBS', 'RETRYING', 'NEXT ATTEMPT'], ...q.map((r) => [r.op, String(r.n), String(r.failing), r.next])]) + '\n')
          else io.stdout('queue empty\n')
          for (const e of errors) io.stdout(`  ${e.op} ${e.subject.slice(0, 16)}: attempt ${e.attempts}, next ${e.nextAttemptAt}: ${e.lastError}\n`)
        }
        return EXIT.ok
      }
      default:
        throw new UsageError(`offload: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    }
  } finally {
    st.close()
  }
}

export const offloadCommand: Command = { name: 'offload', usage, run: cmdOffload }
