import { BodyvaultError, UsageError, errnoCode, errorMessage } from '../../common/errors.js'
import { loadConfig } from '../../config/load.js'
import { readFile } from 'node:fs/promises'
import { statusSecretPath } from '../../api/server.js'
import { type DaemonEndpoint, daemonEndpoint, daemonGet } from '../daemon.js'
import type { StationStatus } from '../../dock/status.js'
import type { FixityState } from '../../fixity/state.js'
import { bytes, duration, table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'

const usage = usageOf('status')

/**
 * BODYVAULT_TOKEN when set (any role may read station status), else the
 * daemon's station-local credential from the data dir. Neither is printed.
 */
export async function credential(dataDir: string): Promise<string | undefined> {
  if (process.env.BODYVAULT_TOKEN) return process.env.BODYVAULT_TOKEN
  try {
    return (await readFile(statusSecretPath(dataDir), 'utf8')).trim()
  } catch (err) {
    // No credential file: the request goes without one; a daemon that answers says 401.
    if (errnoCode(err) === 'ENOENT') return undefined
    throw new BodyvaultError(
      'DAEMON_AUTH',
      `cannot read the daemon's status credential ${statusSecretPath(dataDir)}: ${errorMessage(err)} (run status as the daemon's user, or set BODYVAULT_TOKEN)`,
    )
  }
}

/** The rolling fixity check in a few lines (status, fixity status and fixity run print it). */
export function stateText(s: FixityState): string {
  const lines = [
    `fixity: ${s.objects} object(s) (${bytes(s.localBytes)} local, ${s.remote} only in S3); ${s.due} due, ${s.overdue} overdue, ${s.failed} failed; cycle ${s.cycleDays} day(s) at ${s.budgetMBps} MB/s`,
    s.lastFullCycle
      ? `every local object re-hashed since ${s.lastFullCycle}`
      : `${s.neverChecked} local object(s) not re-hashed yet${s.oldestCheck ? ` (the others since ${s.oldestCheck})` : ''}`,
  ]
  if (s.lastRun)
    lines.push(
      `last run ${s.lastRun.endedAt} (${s.lastRun.trigger}, ${s.lastRun.scope}): ${s.lastRun.objects} object(s), ${bytes(s.lastRun.bytes)}, ${s.lastRun.failed} failed, ${s.lastRun.repaired} repaired${s.lastRun.stopped ? ', stopped early' : ''}`,
    )
  if (s.warning) lines.push(`WARNING: ${s.warning}`)
  return lines.join('\n') + '\n'
}

/** The daemon's fixity state (/v1/station/fixity), or undefined from a daemon that has none. */
async function fixityOf(ep: DaemonEndpoint, dataDir: string): Promise<FixityState | undefined> {
  const res = await daemonGet(ep, '/v1/station/fixity', { headers: await authHeader(dataDir) }).catch(() => undefined)
  return res?.status === 200 ? (JSON.parse(res.body) as FixityState) : undefined
}

/** An open-findings count of the registry's reconciliation (GET /v1/station/findings). */
type FindingCount = { kind: string; code: string; open: number }

/** The daemon's status with its fixity state (from a daemon that has one) and its open findings (text only: --json is GET /v1/station). */
type Status = StationStatus & { fixity?: FixityState; findings?: FindingCount[] }

/** Asks the running daemon for its status once. */
async function fetchStatus(ep: DaemonEndpoint, dataDir: string): Promise<Status> {
  const st = await stationStatus(ep, dataDir)
  const fixity = await fixityOf(ep, dataDir)
  const findings = await findingsOf(ep, dataDir)
  return { ...st, ...(fixity ? { fixity } : {}), ...(findings ? { findings } : {}) }
}

/** Open findings (counts only); a daemon without the registry answers 404 and they are left out. */
async function findingsOf(ep: DaemonEndpoint, dataDir: string): Promise<FindingCount[] | undefined> {
  const res = await daemonGet(ep, '/v1/station/findings', { headers: await authHeader(dataDir) }).catch(() => undefined)
  return res?.status === 200 ? (JSON.parse(res.body) as { items: FindingCount[] }).items : undefined
}

/** The status as --json prints it: the daemon's GET /v1/station with its fixity state. */
function statusJson({ findings: _, ...st }: Status): Omit<Status, 'findings'> {
  return st
}

/** The station-status credential as a request header (none without one). */
export async function authHeader(dataDir: string): Promise<Record<string, string>> {
  const secret = await credential(dataDir)
  return secret ? { authorization: `Bearer ${secret}` } : {}
}

async function stationStatus(ep: DaemonEndpoint, dataDir: string): Promise<StationStatus> {
  const base = ep.base
  try {
    const res = await daemonGet(ep, '/v1/station', { headers: await authHeader(dataDir) })
    if (res.status === 401)
      throw new BodyvaultError(
        'DAEMON_AUTH',
        `the daemon at ${base} wants a credential: run status with the daemon's data dir and user on the station (it reads ${statusSecretPath(dataDir)}), or set BODYVAULT_TOKEN to a token`,
      )
    if (res.status !== 200) throw new BodyvaultError('DAEMON_HTTP', `the daemon at ${base} answered HTTP ${res.status} to /v1/station: see its log`)
    return JSON.parse(res.body) as StationStatus
  } catch (err) {
    if (err instanceof BodyvaultError) throw err
    const code = errnoCode((err as { cause?: unknown }).cause) ?? errnoCode(err)
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET') {
      throw new BodyvaultError(
        'NO_DAEMON',
        `no bodyvault daemon is running at ${base} (nothing answers there): start one with \`bodyvault start\`, or point listen / BODYVAULT_LISTEN at the running one`,
      )
    }
    throw new BodyvaultError('DAEMON_HTTP', `cannot ask the daemon at ${base}: ${errorMessage(err)}${code ? ` (${code})` : ''}`)
  }
}

/** The status as people read it. */
export function statusText(st: Status, base: string): string {
  const out: string[] = []
  out.push(`station ${st.station.id} (${st.station.name}) at ${base}${st.stopping ? ', stopping' : ''}`)
  out.push(`usb: ${st.usb.available ? 'watching' : `not watched (${st.usb.reason ?? 'unknown'})`}; mount roots: ${st.mountRoots.join(', ') || '(none)'}`)
  out.push(
    `ingest: ${st.scheduler.active}/${st.scheduler.concurrency} cameras copying, ${st.scheduler.queued} queued; disk streams ${st.scheduler.diskActive}/${st.scheduler.diskStreams}`,
  )
  if (st.cameras.length === 0) out.push('no camera docked')
  else {
    const rows = [['CAMERA', 'STATE', 'DEVICE', 'OFFICER', 'FILES', 'BYTES', 'RATE', 'ETA', 'VOLUME']]
    for (const c of st.cameras) {
      rows.push([
        c.id,
        c.state,
        c.deviceId ?? '-',
        c.officerId ? `${c.officerId}${c.officerName ? ` ${c.officerName}` : ''}` : '-',
        `${c.files.done}/${c.files.total}`,
        `${bytes(c.bytes.done)}/${bytes(c.bytes.total)}`,
        c.rateBytesPerSec === null ? '-' : `${bytes(c.rateBytesPerSec)}/s`,
        c.etaSec === null ? '-' : duration(c.etaSec * 1000),
        c.volume ?? '-',
      ])
    }
    out.push(table(rows))
    for (const c of st.cameras) {
      if (c.state === 'safe-to-undock') out.push(`${c.id}: SAFE TO UNDOCK: every file is verified in the vault${c.wiped ? ' (camera wiped)' : ''}`)
      if (c.clockDrift?.flagged) out.push(`${c.id}: camera clock runs ${duration(c.clockDrift.aheadSec * 1000)} ahead of the station: set the camera clock`)
      if (c.stalledReadSec !== null)
        out.push(`${c.id}: a read from the camera has not returned for ${c.stalledReadSec} s: the USB device may be hung; unplug the camera`)
      if (c.lastError) out.push(`${c.id}: ${c.lastError}`)
    }
  }
  if (st.fixity) out.push(stateText(st.fixity).trimEnd())
  const open = (st.findings ?? []).reduce((a, f) => a + f.open, 0)
  if (open)
    out.push(
      `findings: ${open} open (${(st.findings ?? []).map((f) => `${f.code} ${f.open}`).join(', ')}): bodyvault finding list shows them, a clerk or supervisor resolves them`,
    )
  const recent = st.recent.slice(0, 5)
  if (recent.length) {
    out.push('recently undocked:')
    for (const r of recent)
      out.push(`  ${r.endedAt}  ${r.id}  ${r.deviceId ?? '-'}  ${r.outcome}${r.outcome === 'incomplete' && r.lastError ? `: ${r.lastError}` : ''}`)
  }
  return `${out.join('\n')}\n`
}

/**
 * --watch: on a terminal, the screen is redrawn every interval until q,
 * Esc or Ctrl-C; elsewhere (a pipe, a log) one snapshot per interval, each
 * under a time line, until SIGINT or SIGTERM. A daemon that goes away is
 * shown, not fatal: the watch goes on until the admin leaves.
 */
async function watch(ep: DaemonEndpoint, dataDir: string, everyMs: number, json: boolean): Promise<number> {
  const tty = process.stdout.isTTY === true && !json
  let stop: () => void = () => {}
  const stopped = new Promise<void>((done) => {
    stop = done
  })
  const onSignal = (): void => stop()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const keys = tty && process.stdin.isTTY === true
  const onKey = (b: Buffer): void => {
    const k = b.toString('utf8')
    if (k === 'q' || k === 'Q' || k === '\u0003' || k === '\u001b') stop()
  }
  if (keys) {
    process.stdin.setRawMode(true)
    process.stdin.on('data', onKey)
    process.stdin.resume()
  }
  try {
    for (;;) {
      let text: string
      try {
        const st = await fetchStatus(ep, dataDir)
        text = json ? `${JSON.stringify(statusJson(st))}\n` : statusText(st, ep.base)
      } catch (err) {
        if (!(err instanceof BodyvaultError)) throw err
        text = json ? `${JSON.stringify({ error: { code: err.code, message: err.message } })}\n` : `${err.code}: ${err.message}\n`
      }
      const now = new Date().toLocaleTimeString('en-GB', { hour12: false })
      if (tty) io.stdout(`\u001b[H\u001b[2J${now}  every ${everyMs / 1000}s, q to quit\n\n${text}`)
      else io.stdout(json ? text : `--- ${now}\n${text}`)
      const tick = new Promise<'tick'>((r) => setTimeout(() => r('tick'), everyMs).unref())
      if ((await Promise.race([tick, stopped.then(() => 'stop' as const)])) === 'stop') break
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (keys) {
      process.stdin.off('data', onKey)
      process.stdin.setRawMode(false)
      process.stdin.pause()
    }
  }
  return EXIT.ok
}

async function cmdStatus(args: string[]): Promise<number> {
  const { values } = parse(args, { watch: { type: 'boolean', default: false }, interval: { type: 'string' } }, usage)
  if (values.help) return showUsage(usage)
  const every = values.interval === undefined ? 1 : Number(values.interval)
  if (!Number.isFinite(every) || every < 0.2 || every > 3600) throw new UsageError('--interval is a number of seconds from 0.2 to 3600')
  // Only the configuration: status never opens the catalog, it asks the running daemon.
  const cfg = loadConfig({ file: values.config })
  const ep = daemonEndpoint(cfg)
  if (values.watch) return watch(ep, cfg.dataDir, Math.round(every * 1000), values.json)
  const st = await fetchStatus(ep, cfg.dataDir)
  io.stdout(values.json ? `${JSON.stringify(statusJson(st), null, 2)}\n` : statusText(st, ep.base))
  return EXIT.ok
}

export const statusCommand: Command = { name: 'status', usage, run: cmdStatus }
