import { BodyvaultError, errnoCode, errorMessage } from '../../common/errors.js'
import { loadConfig } from '../../config/load.js'
import { readFile } from 'node:fs/promises'
import { parseListen, statusSecretPath } from '../../api/server.js'
import type { StationStatus } from '../../dock/status.js'
import { bytes, duration, table } from '../format.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'

const usage = 'status [--json]'

/** The daemon's base URL from the configured listen address (a wildcard address is asked on loopback). */
export function daemonUrl(listen: string): string {
  const { host, port } = parseListen(listen)
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`
}

/**
 * BODYVAULT_TOKEN when set (any role may read station status), else the
 * daemon's station-local credential from the data dir. Neither is printed.
 */
async function credential(dataDir: string): Promise<string | undefined> {
  if (process.env.BODYVAULT_TOKEN) return process.env.BODYVAULT_TOKEN
  try {
    return (await readFile(statusSecretPath(dataDir), 'utf8')).trim()
  } catch (err) {
    // No credential file: the request goes without one; a daemon that answers says 401.
    if (errnoCode(err) === 'ENOENT') return undefined
    throw new BodyvaultError(
      'DAEMON_AUTH',
      `cannot read the daemon's status credential ${statusSecretPath(dataDir)}: ${errorMessage(err)} (run status as the daemon's user, or set BODYVAULT_TOKEN)`,
      3,
    )
  }
}

async function cmdStatus(args: string[]): Promise<number> {
  const { values } = parse(args, {}, usage)
  if (values.help) return showUsage(usage)
  // Only the configuration: status never opens the catalog, it asks the running daemon.
  const cfg = loadConfig({ file: values.config })
  const base = daemonUrl(cfg.listen)
  let st: StationStatus
  let findings: { kind: string; code: string; open: number }[] = []
  try {
    const secret = await credential(cfg.dataDir)
    const headers: Record<string, string> = secret ? { authorization: `Bearer ${secret}` } : {}
    const res = await fetch(`${base}/v1/station`, { signal: AbortSignal.timeout(5000), headers })
    if (res.status === 401)
      throw new BodyvaultError(
        'DAEMON_AUTH',
        `the daemon at ${base} wants a credential: run status with the daemon's data dir and user on the station (it reads ${statusSecretPath(cfg.dataDir)}), or set BODYVAULT_TOKEN to a token`,
        3,
      )
    if (!res.ok) throw new BodyvaultError('DAEMON_HTTP', `the daemon at ${base} answered HTTP ${res.status} to /v1/station: see its log`, 3)
    st = (await res.json()) as StationStatus
    // Open findings (counts only); a daemon without the registry answers 404 and they are left out.
    const f = await fetch(`${base}/v1/station/findings`, { signal: AbortSignal.timeout(5000), headers })
    if (f.ok) findings = ((await f.json()) as { items: typeof findings }).items
  } catch (err) {
    if (err instanceof BodyvaultError) throw err
    const code = errnoCode((err as { cause?: unknown }).cause) ?? errnoCode(err)
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET') {
      throw new BodyvaultError(
        'NO_DAEMON',
        `no bodyvault daemon is running at ${base} (nothing answers there): start one with \`bodyvault start\`, or point listen / BODYVAULT_LISTEN at the running one`,
        3,
      )
    }
    throw new BodyvaultError('DAEMON_HTTP', `cannot ask the daemon at ${base}: ${errorMessage(err)}${code ? ` (${code})` : ''}`, 3)
  }
  if (values.json) {
    io.stdout(JSON.stringify(st, null, 2) + '\n')
    return EXIT.ok
  }
  io.stdout(`station ${st.station.id} (${st.station.name}) at ${base}${st.stopping ? ', stopping' : ''}\n`)
  io.stdout(`usb: ${st.usb.available ? 'watching' : `not watched (${st.usb.reason ?? 'unknown'})`}; mount roots: ${st.mountRoots.join(', ') || '(none)'}\n`)
  io.stdout(
    `ingest: ${st.scheduler.active}/${st.scheduler.concurrency} cameras copying, ${st.scheduler.queued} queued; disk streams ${st.scheduler.diskActive}/${st.scheduler.diskStreams}\n`,
  )
  if (st.cameras.length === 0) io.stdout('no camera docked\n')
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
    io.stdout(table(rows) + '\n')
    for (const c of st.cameras) {
      if (c.state === 'safe-to-undock') io.stdout(`${c.id}: SAFE TO UNDOCK: every file is verified in the vault${c.wiped ? ' (camera wiped)' : ''}\n`)
      if (c.clockDrift?.flagged) io.stdout(`${c.id}: camera clock runs ${duration(c.clockDrift.aheadSec * 1000)} ahead of the station: set the camera clock\n`)
      if (c.stalledReadSec !== null)
        io.stdout(`${c.id}: a read from the camera has not returned for ${c.stalledReadSec} s: the USB device may be hung; unplug the camera\n`)
      if (c.lastError) io.stdout(`${c.id}: ${c.lastError}\n`)
    }
  }
  const open = findings.reduce((a, f) => a + f.open, 0)
  if (open)
    io.stdout(
      `findings: ${open} open (${findings.map((f) => `${f.code} ${f.open}`).join(', ')}): bodyvault finding list shows them, a clerk or supervisor resolves them\n`,
    )
  const recent = st.recent.slice(0, 5)
  if (recent.length) {
    io.stdout('recently undocked:\n')
    for (const r of recent)
      io.stdout(`  ${r.endedAt}  ${r.id}  ${r.deviceId ?? '-'}  ${r.outcome}${r.outcome === 'incomplete' && r.lastError ? `: ${r.lastError}` : ''}\n`)
  }
  return EXIT.ok
}

export const statusCommand: Command = { name: 'status', usage, run: cmdStatus }
