import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import cliProgress from 'cli-progress'
import { DateTime } from 'luxon'
import { searchRecordings } from '../catalog/recordings.js'
import { BodyvaultError, errorMessage, UsageError } from '../common/errors.js'
import { packageRoot } from '../common/paths.js'
import { getProfile } from '../dock/profile.js'
import { ingestCamera, type IngestProgress } from '../ingest/session.js'
import { ledgerHead } from '../ledger/ledger.js'
import { verifyVault } from '../vault/verify.js'
import { openStation, type Station } from './context.js'
import { bytes, duration, table } from './format.js'

/** Exit codes (README "Exit codes"). */
export const EXIT = { ok: 0, problems: 1, usage: 2, environment: 3, interrupted: 130 } as const

const USAGE = `bodyvault: body-camera ingest and evidence vault

Usage: bodyvault <command> [options]

Commands:
  start                         run the station daemon on the configured data dir
  ingest <dir> [--profile ID] [--device ID] [--officer ID] [--json]
                                copy a mounted camera folder into the vault
  verify [--json]               re-hash every object, check the catalog against the ledger, re-walk the chain
  recordings [--officer ID] [--device ID] [--from DATE] [--to DATE] [--limit N] [--json]
                                list recordings (dates: ISO 8601; without an offset they are station time)
  doctor [--json]               check ffmpeg, the data dir, free space, the catalog and the profiles
  help                          this text

Global options:
  --config FILE                 configuration file (else BODYVAULT_CONFIG, else config/default.json)
  --verbose                     log at debug level to stderr
`

type Out = { stdout: (s: string) => void; stderr: (s: string) => void }
const io: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) }

const globalOptions = {
  config: { type: 'string' },
  verbose: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options']

function parse<O extends ParseArgsConfig['options']>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...globalOptions, ...options }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(`${errorMessage(err)}\n\n${USAGE}`)
  }
}

function station(values: { config?: string | undefined; verbose?: boolean | undefined }, quietDefault = true): Station {
  const level = values.verbose ? 'debug' : process.env.BODYVAULT_LOG_LEVEL ?? (quietDefault ? 'warn' : undefined)
  return openStation({ configFile: values.config, logLevel: level })
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'ingest': return cmdIngest(rest)
    case 'verify': return cmdVerify(rest)
    case 'recordings': return cmdRecordings(rest)
    case 'doctor': return cmdDoctor(rest)
    case 'start': return cmdStart(rest)
    case 'version': case '--version':
      io.stdout(`${(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version}\n`)
      return EXIT.ok
    case undefined: case 'help': case '--help': case '-h':
      io.stdout(USAGE)
      return command === undefined ? EXIT.usage : EXIT.ok
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`)
  }
}

async function cmdIngest(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { profile: { type: 'string' }, device: { type: 'string' }, officer: { type: 'string' } })
  if (values.help) return (io.stdout(USAGE), EXIT.ok)
  if (positionals.length !== 1) throw new UsageError(`ingest takes exactly one camera folder\n\n${USAGE}`)
  const st = station(values)
  try {
    const profile = getProfile(st.profiles, values.profile ?? st.cfg.docking.defaultProfile)
    const ac = new AbortController()
    const onSignal = (): void => ac.abort(new Error('interrupted'))
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const bar = !values.json && process.stderr.isTTY ? progressBar() : undefined
    let report
    try {
      report = await ingestCamera({
        db: st.db, vault: st.vault, root: resolve(positionals[0]!), profile, stationId: st.cfg.station.id,
        actor: `station:${st.cfg.station.id}`, identity: { deviceId: values.device ?? null, officerId: values.officer ?? null },
        chunkBytes: st.cfg.ingest.chunkBytes, readBackVerify: st.cfg.ingest.readBackVerify, minFreeBytes: st.cfg.ingest.minFreeBytes,
        logger: st.logger, signal: ac.signal, onProgress: bar?.update,
      })
    } finally {
      bar?.stop()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    if (values.json) {
      io.stdout(JSON.stringify(report, null, 2) + '\n')
    } else {
      io.stdout(`session ${report.sessionId}: ${report.state}: ${report.ingested.length} ingested (${bytes(report.bytesIngested)}), ${report.present.length} already in the vault, ${report.skipped.length} skipped, ${report.failed.length} failed, in ${duration(report.durationMs)}\n`)
      if (report.ingested.length === 0 && report.failed.length === 0 && report.present.length > 0) io.stdout('nothing new: every file on this camera is already in the vault\n')
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
    { format: ' {bar} {percentage}% | {files} files | {done}/{total} | {rate}/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50, fps: 5, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  )
  const t0 = Date.now()
  let started = false
  return {
    update: (p) => {
      const payload = { files: `${p.filesDone}/${p.filesTotal}`, done: bytes(p.bytesDone), total: bytes(p.bytesTotal), rate: bytes(p.bytesDone / Math.max(0.001, (Date.now() - t0) / 1000)) }
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

async function cmdVerify(args: string[]): Promise<number> {
  const { values } = parse(args, {})
  if (values.help) return (io.stdout(USAGE), EXIT.ok)
  const st = station(values)
  try {
    const report = await verifyVault(st.db, st.vault, { chunkBytes: st.cfg.ingest.chunkBytes })
    if (values.json) {
      io.stdout(JSON.stringify(report, null, 2) + '\n')
    } else {
      for (const p of report.problems) io.stdout(`${p.kind}\t${p.subject}\t${p.detail}\n`)
      io.stdout(`${report.ok ? 'ok' : 'PROBLEMS FOUND'}: ${report.checked.events} events, ${report.checked.recordings} recordings, ${report.checked.objects} objects (${bytes(report.checked.bytes)}) checked; ${report.problems.length} problems\n`)
    }
    return report.ok ? EXIT.ok : EXIT.problems
  } finally {
    st.close()
  }
}

function parseWhen(v: string | undefined, key: string, zone: string): string | undefined {
  if (v === undefined) return undefined
  const dt = DateTime.fromISO(v, { zone, setZone: false })
  if (!dt.isValid) throw new UsageError(`--${key}: "${v}" is not an ISO 8601 date or time (e.g. 2026-11-20 or 2026-11-20T08:00:00+08:00)`)
  return dt.toUTC().toISO()!
}

async function cmdRecordings(args: string[]): Promise<number> {
  const { values } = parse(args, { officer: { type: 'string' }, device: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string' } })
  if (values.help) return (io.stdout(USAGE), EXIT.ok)
  const limit = values.limit === undefined ? 1000 : Number(values.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) throw new UsageError('--limit must be a whole number from 1 to 1000000')
  const st = station(values)
  try {
    const zone = st.cfg.station.timezone
    const rows = searchRecordings(st.db, {
      officerId: values.officer, deviceId: values.device,
      from: parseWhen(values.from, 'from', zone), to: parseWhen(values.to, 'to', zone), limit,
    })
    if (values.json) {
      io.stdout(JSON.stringify(rows, null, 2) + '\n')
      return EXIT.ok
    }
    const lines = [['ID', 'RECORDED (camera time)', 'DEVICE', 'OFFICER', 'KIND', 'SIZE', 'SHA-256', 'SOURCE']]
    for (const r of rows) {
      const local = DateTime.fromISO(r.recordedAt, { zone: 'utc' }).setZone(`UTC${r.recordedOffset}`).toFormat("yyyy-MM-dd HH:mm:ss ZZ")
      lines.push([String(r.id), local + (r.important ? ' !' : ''), r.deviceId ?? '-', r.officerId ?? '-', r.kind, bytes(r.size), r.sha256.slice(0, 16), r.sourcePath])
    }
    io.stdout(table(lines) + `\n${rows.length} recording(s)${rows.length === limit ? ` (limit ${limit} reached: narrow the filters or raise --limit)` : ''}\n`)
    return EXIT.ok
  } finally {
    st.close()
  }
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values } = parse(args, {})
  if (values.help) return (io.stdout(USAGE), EXIT.ok)
  const checks: { check: string; ok: boolean; detail: string }[] = []
  // A bad configuration is reported like everywhere else: its key, exit 2.
  const st = station(values)
  checks.push({ check: 'config', ok: true, detail: `station ${st.cfg.station.id}, data dir ${st.cfg.dataDir}` })
  checks.push({ check: 'profiles', ok: true, detail: [...st.profiles.keys()].join(', ') })
  {
    const probe = join(st.vault.stagingDir, `.doctor-${process.pid}`)
    try {
      writeFileSync(probe, 'ok')
      rmSync(probe)
      checks.push({ check: 'data dir writable', ok: true, detail: st.vault.dataDir })
    } catch (err) {
      checks.push({ check: 'data dir writable', ok: false, detail: `${errorMessage(err)}: make ${st.vault.dataDir} writable or set dataDir` })
    }
    const free = await st.vault.freeBytes()
    checks.push({ check: 'free space', ok: free > st.cfg.ingest.minFreeBytes, detail: `${bytes(free)} free (ingest keeps ${bytes(st.cfg.ingest.minFreeBytes)} in reserve)` })
    const head = ledgerHead(st.db)
    checks.push({ check: 'catalog', ok: true, detail: `${st.vault.catalogPath}, schema ${st.db.pragma('user_version', { simple: true }) as number}, ledger head ${head.seq}` })
  }
  const ffmpeg = st.cfg.media.ffmpegPath ?? 'ffmpeg'
  const r = spawnSync(ffmpeg, ['-hide_banner', '-version'], { encoding: 'utf8' })
  checks.push(
    r.status === 0
      ? { check: 'ffmpeg', ok: true, detail: (r.stdout.split('\n')[0] ?? '').trim() }
      : { check: 'ffmpeg', ok: false, detail: `${ffmpeg} not found or not working: run scripts/ensure-system-deps (installs Debian's ffmpeg) or set media.ffmpegPath` },
  )
  st.close()
  const ok = checks.every((c) => c.ok)
  if (values.json) io.stdout(JSON.stringify({ ok, checks }, null, 2) + '\n')
  else io.stdout(table(checks.map((c) => [c.ok ? 'ok ' : 'FAIL', c.check, c.detail])) + '\n')
  return ok ? EXIT.ok : EXIT.problems
}

async function cmdStart(args: string[]): Promise<number> {
  const { values } = parse(args, {})
  if (values.help) return (io.stdout(USAGE), EXIT.ok)
  const st = station(values, false)
  const cleaned = await st.vault.cleanStaging()
  const head = ledgerHead(st.db)
  st.logger.info({ event: 'station.start', station: st.cfg.station.id, dataDir: st.cfg.dataDir, ledgerHead: head.seq, stagingCleaned: cleaned.length, profiles: [...st.profiles.keys()] }, 'bodyvault station ready')
  await new Promise<void>((done) => {
    const stop = (sig: string): void => {
      st.logger.info({ event: 'station.stop', signal: sig }, 'bodyvault station stopping')
      done()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  st.close()
  return EXIT.ok
}

/** Runs main and turns errors into a message and an exit code. */
export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv)
  } catch (err) {
    if (err instanceof BodyvaultError) {
      io.stderr(`bodyvault: ${err.message}\n`)
      process.exitCode = err.exitCode
    } else {
      io.stderr(`bodyvault: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
      process.exitCode = EXIT.environment
    }
  }
}
