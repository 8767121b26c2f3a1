import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import cliProgress from 'cli-progress'
import { BodyvaultError, UsageError, errnoCode } from '../../common/errors.js'
import { getProfile } from '../../camera/profile.js'
import type { IngestProgress, IngestReport } from '../../ingest/session.js'
import { stuckReads } from '../../ingest/source.js'
import { bytes, duration } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('ingest')

async function cmdIngest(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { profile: { type: 'string' }, device: { type: 'string' }, officer: { type: 'string' } }, usage)
  if (values.help) return showUsage(usage)
  if (positionals.length !== 1) throw new UsageError(`ingest takes exactly one camera folder\n\nUsage: bodyvault ${usage}`)
  const root = resolve(positionals[0]!)
  // Before the station opens: a mistyped folder is one line, and no vault is made for it.
  let isDir: boolean
  try {
    isDir = statSync(root).isDirectory()
  } catch (err) {
    throw new BodyvaultError(
      'INGEST_SOURCE',
      `${root}: ${errnoCode(err) === 'ENOENT' ? 'no such folder' : (errnoCode(err) ?? 'cannot be read')}: give the folder of a mounted camera`,
    )
  }
  if (!isDir) throw new BodyvaultError('INGEST_SOURCE', `${root} is not a folder: give the folder of a mounted camera (its root, where DCIM is)`)
  const st = station(values, { create: true })
  try {
    const profile = getProfile(st.profiles, values.profile ?? st.cfg.docking.defaultProfile)
    const ac = new AbortController()
    const onSignal = (): void => ac.abort(new Error('interrupted'))
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    // A safety net: should the event loop ever drain while the session is still open (a wait left with nothing to wake
    // it), the command must not look like a success: it exits non-zero and says what the next start does.
    const drained = (): void => {
      process.exitCode = ac.signal.aborted ? EXIT.interrupted : EXIT.environment
      io.stderr(
        'bodyvault: the ingest stopped before its session ended: the session stays open until the next start or ingest marks it incomplete; dock or ingest the camera again\n',
      )
    }
    process.once('beforeExit', drained)
    const bar = !values.json && process.stderr.isTTY ? progressBar() : undefined
    let report: IngestReport
    try {
      report = await st.ingest({
        root,
        profile,
        identity: { deviceId: values.device ?? null, officerId: values.officer ?? null },
        signal: ac.signal,
        onProgress: bar?.update,
      })
    } finally {
      bar?.stop()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.off('beforeExit', drained)
    }
    // Sign a ledger checkpoint covering this session (src/ledger/checkpoint.ts).
    const cp = st.checkpoint()
    if (cp.error) io.stderr(`bodyvault: warning: no ledger checkpoint was signed: ${cp.error}\n`)
    if (values.json) io.stdout(JSON.stringify(report, null, 2) + '\n')
    else io.stdout(describeReport(report))
    const code = ac.signal.aborted ? EXIT.interrupted : report.state === 'complete' ? EXIT.ok : EXIT.problems
    const stuck = stuckReads(0)
    if (stuck.length) {
      // A read stuck in the kernel (a hung USB device) cannot be interrupted and would keep the process alive: leave without it.
      io.stderr(`bodyvault: ${stuck.length} read(s) from the camera never returned (first: ${stuck[0]!.path}): the USB device may be hung; unplug it\n`)
      st.close()
      process.exit(code)
    }
    return code
  } finally {
    st.close()
  }
}

const LIST_MAX = 20

/** The human summary of a session: what is in the vault, what is not and why, and what it means for the camera. */
export function describeReport(r: IngestReport): string {
  const out: string[] = []
  out.push(
    `session ${r.sessionId}: ${r.state}: ${r.ingested.length} ingested (${bytes(r.bytesIngested)}), ${r.present.length} already in the vault, ${r.unrecognised.length} unrecognised, ${r.failed.length} failed, in ${duration(r.durationMs)}${r.passes > 1 ? ` (${r.passes} passes: files appeared or changed while it ran)` : ''}`,
  )
  out.push(`volume: ${r.volume.keys.join(', ')}`)
  if (r.ingested.length === 0 && r.failed.length === 0 && r.present.length > 0) out.push('nothing new: every file on this camera is already in the vault')
  if (r.present.length) {
    const sessions = [...new Set(r.present.map((p) => p.earlierSession).filter((x): x is number => x !== null && x !== r.sessionId))].sort((a, b) => a - b)
    out.push(
      `${r.present.length} file(s) were already recorded from this camera${sessions.length ? ` (session ${sessions.join(', ')})` : ''}: same name and SHA-256, nothing stored twice`,
    )
  }
  const list = (label: string, rows: { sourcePath: string; text: string }[]): void => {
    for (const x of rows.slice(0, LIST_MAX)) out.push(`  ${label}  ${x.sourcePath}: ${x.text}`)
    if (rows.length > LIST_MAX) out.push(`  ... and ${rows.length - LIST_MAX} more ${label} (--json lists them all)`)
  }
  list(
    'failed',
    r.failed.map((f) => ({ sourcePath: f.sourcePath, text: f.error })),
  )
  list(
    'retried',
    r.retried.map((f) => ({ sourcePath: f.sourcePath, text: `changed while read, stored as read on attempt ${f.attempts} (${f.changes.join('; ')})` })),
  )
  list(
    'unrecognised',
    r.unrecognised.map((f) => ({ sourcePath: f.sourcePath, text: f.reason })),
  )
  if (r.state === 'complete')
    out.push(`every media file on the camera (${r.ingested.length + r.present.length}, as listed at ${r.listedAt}) is verified in the vault`)
  else out.push('NOT complete: the files above are not in the vault; fix what is said and run ingest again (what is in the vault stays)')
  return out.join('\n') + '\n'
}

function progressBar(): { update: (p: IngestProgress) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {percentage}% | {files} files | {done}/{total} | {rate}/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  )
  const t0 = Date.now()
  let started = false
  return {
    update: (p) => {
      const payload = {
        files: `${p.filesDone}/${p.filesTotal}`,
        done: bytes(p.bytesDone),
        total: bytes(p.bytesTotal),
        rate: bytes(p.bytesDone / Math.max(0.001, (Date.now() - t0) / 1000)),
      }
      if (!started) {
        bar.start(Math.max(1, p.bytesTotal), p.bytesDone, payload)
        started = true
      } else bar.update(p.bytesDone, payload)
    },
    stop: () => {
      if (started) bar.stop()
    },
  }
}

export const ingestCommand: Command = { name: 'ingest', usage, run: cmdIngest }
