import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import cliProgress from 'cli-progress'
import { BodyvaultError, UsageError, errnoCode } from '../../common/errors.js'
import { getProfile } from '../../camera/profile.js'
import type { IngestProgress, IngestReport } from '../../ingest/session.js'
import { bytes, duration } from '../format.js'
import { EXIT, io, parse, station, type Command, showUsage } from '../common.js'

const usage = 'ingest <dir> [--profile ID] [--device ID] [--officer ID] [--json]'

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
    }
    // Sign a ledger checkpoint covering this session (src/ledger/checkpoint.ts).
    const cp = st.checkpoint()
    if (cp.error) io.stderr(`bodyvault: warning: no ledger checkpoint was signed: ${cp.error}\n`)
    if (values.json) {
      io.stdout(JSON.stringify(report, null, 2) + '\n')
    } else {
      io.stdout(
        `session ${report.sessionId}: ${report.state}: ${report.ingested.length} ingested (${bytes(report.bytesIngested)}), ${report.present.length} already in the vault, ${report.skipped.length} skipped, ${report.failed.length} failed, in ${duration(report.durationMs)}\n`,
      )
      if (report.ingested.length === 0 && report.failed.length === 0 && report.present.length > 0)
        io.stdout('nothing new: every file on this camera is already in the vault\n')
      for (const f of report.failed) io.stdout(`  failed  ${f.sourcePath}: ${f.error}\n`)
      if (report.state === 'complete') io.stdout('every media file on the camera is verified in the vault\n')
    }
    return ac.signal.aborted ? EXIT.interrupted : report.state === 'complete' ? EXIT.ok : EXIT.problems
  } finally {
    st.close()
  }
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
