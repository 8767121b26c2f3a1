// Support for the docking and daemon tests (test/dock-*.test.ts, test/daemon-*.test.ts):
// ext4 images mounted on loop devices, a real `bodyvault start` child process,
// free ports, polling. Every mount and loop device is cleaned up in t.teardown,
// even when a test fails.
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { assertPinned, NO_SYSTEM_CONFIG, ROLLOUT_AUTH, spawnCli } from './helpers.js'
import type { Db } from '../src/catalog/db.js'
import { loadConfig, type Config } from '../src/config/load.js'
import type { StationDaemon } from '../src/dock/daemon.js'
import { openStation } from '../src/station/station.js'
import type { DockingProfile } from '../src/camera/profile.js'
import type { StationStatus } from '../src/dock/status.js'
import type { UsbBackend } from '../src/dock/usb.js'
import type { Vault } from '../src/vault/store.js'

type Teardown = { teardown: (fn: () => void | Promise<void>) => void }

/** Polls until `fn` returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 60_000, everyMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

let mountProbe: string | undefined | null = null

/**
 * Why loop-mounting ext4 images is not possible here (not root, no
 * mkfs.ext4, no loop devices, mount refused), or undefined when it is.
 * Probed once with a real 8 MiB image.
 */
export function cannotMount(): string | undefined {
  if (mountProbe !== null) return mountProbe
  mountProbe = probeMount()
  return mountProbe
}

function probeMount(): string | undefined {
  if (process.platform !== 'linux') return `loop mounts need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'loop mounts need root (tests run as uid ' + process.getuid?.() + ')'
  for (const tool of ['mkfs.ext4', 'mount', 'umount', 'losetup']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`
  }
  const dir = join(tmpdir(), `bv-mountprobe-${process.pid}`)
  mkdirSync(join(dir, 'mnt'), { recursive: true })
  const img = join(dir, 'probe.img')
  try {
    const mk = spawnSync('mkfs.ext4', ['-q', '-F', img, '8M'], { encoding: 'utf8' })
    if (mk.status !== 0) return `mkfs.ext4 failed: ${mk.stderr.trim()}`
    const m = spawnSync('mount', ['-o', 'loop,ro', img, join(dir, 'mnt')], { encoding: 'utf8' })
    if (m.status !== 0) return `mount -o loop is not permitted here: ${m.stderr.trim()}`
    spawnSync('umount', [join(dir, 'mnt')])
    return undefined
  } finally {
    spawnSync('rm', ['-rf', dir])
  }
}

/** An ext4 image holding a copy of `srcDir` (mkfs.ext4 -d: no mount needed to fill it). */
export function makeImage(srcDir: string, img: string): string {
  const bytes = Number(execFileSync('du', ['-sb', srcDir], { encoding: 'utf8' }).split('\t')[0])
  const mib = Math.ceil((bytes * 1.15) / (1 << 20)) + 24
  execFileSync('mkfs.ext4', ['-q', '-F', '-E', 'root_owner=0:0', '-d', srcDir, img, `${mib}M`], { stdio: ['ignore', 'ignore', 'pipe'] })
  return img
}

function isMounted(mountPoint: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === mountPoint)
}

/** The loop devices backing an image file. */
function loopsOf(img: string): string[] {
  const r = spawnSync('losetup', ['-j', img], { encoding: 'utf8' })
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[0]!)
}

/**
 * Mounts an image on a loop device (read-only unless rw). Teardown unmounts
 * it if still mounted and detaches any loop device left on the image.
 */
export function mountImage(t: Teardown, img: string, mountPoint: string, opts: { rw?: boolean } = {}): void {
  mkdirSync(mountPoint, { recursive: true })
  execFileSync('mount', ['-o', `loop,${opts.rw ? 'rw' : 'ro'}`, img, mountPoint], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => {
    if (isMounted(mountPoint)) spawnSync('umount', ['-l', mountPoint])
    for (const dev of loopsOf(img)) spawnSync('losetup', ['-d', dev])
  })
}

export function umountLazy(mountPoint: string): void {
  execFileSync('umount', ['-l', mountPoint], { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Waits until no loop device is left on the image (a lazy unmount frees it when the last reader closes). */
export async function loopReleased(img: string): Promise<void> {
  await waitFor(() => loopsOf(img).length === 0, `the loop device of ${img} to be released`, 20_000)
}

/** Copies a camera tree to `dest` so that it appears in one rename (as a volume would). */
export function placeFolder(src: string, dest: string): void {
  const tmp = join(dest, '..', `.placing-${process.pid}-${Math.random().toString(36).slice(2)}`)
  cpSync(src, tmp, { recursive: true, preserveTimestamps: true })
  renameSync(tmp, dest)
}

/** A copy of a camera with another device id in its file names (same content, another camera). */
export function renameDevice(src: string, dest: string, from: string, to: string): string {
  cpSync(src, dest, { recursive: true, preserveTimestamps: true })
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.includes(from)) renameSync(p, join(d, e.name.replaceAll(from, to)))
    }
  }
  walk(dest)
  return dest
}

export interface RunningDaemon {
  url: string
  child: ChildProcess
  /** stderr lines so far (pino JSON, one event per line). */
  lines: string[]
  events(name: string): Record<string, unknown>[]
  status(): Promise<StationStatus>
  /** SIGTERM and the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  exited: Promise<number | null>
}

/**
 * Starts a real `bodyvault start` child process on a data dir, with a
 * config whose docking.mountRoots is `roots` and listen a free loopback
 * port (or `port`: a restart on the same address); resolves once /healthz answers.
 */
export async function startDaemon(
  t: Teardown,
  o: {
    dataDir: string
    roots: string[]
    configDir: string
    config?: Record<string, unknown>
    docking?: Record<string, unknown>
    port?: number
    /** How long to wait for it to listen (default 30 s; a loaded machine may need more). */
    listenMs?: number
  },
): Promise<RunningDaemon> {
  const port = o.port ?? (await freePort())
  const cfgFile = join(o.configDir, `daemon-${port}.json`)
  writeFileSync(
    cfgFile,
    JSON.stringify({
      auth: ROLLOUT_AUTH,
      ...o.config,
      listen: `127.0.0.1:${port}`,
      docking: { mountRoots: o.roots, pollMs: 150, settleMs: 500, ...o.docking },
    }),
  )
  const child = spawnCli(
    ['start', '--config', cfgFile],
    { BODYVAULT_DATA_DIR: o.dataDir, BODYVAULT_LOG_LEVEL: 'info', BODYVAULT_LISTEN: '' },
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const lines: string[] = []
  let buf = ''
  child.stderr!.on('data', (b: Buffer) => {
    buf += b.toString('utf8')
    const parts = buf.split('\n')
    buf = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stdout!.resume()
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const t0 = Date.now()
      while (child.exitCode === null && child.signalCode === null && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  })
  const url = `http://127.0.0.1:${port}`
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}: ${lines.slice(-5).join('\n')}`)
      return (await fetch(`${url}/healthz`)).ok
    },
    'the daemon to listen',
    o.listenMs ?? 30_000,
  )
  return {
    url,
    child,
    lines,
    exited,
    events: (name) =>
      lines
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => e.event === name),
    status: async () =>
      (await (
        await fetch(`${url}/v1/station`, { headers: { authorization: `Bearer ${readFileSync(join(o.dataDir, 'run', 'status.secret'), 'utf8').trim()}` } })
      ).json()) as StationStatus,
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal)
      return exited
    },
  }
}

/** Names of the files in a data dir's staging folder. */
export function staging(dataDir: string): string[] {
  const d = join(dataDir, 'staging')
  return existsSync(d) ? readdirSync(d) : []
}

/** Every object in the vault hashes to its name (no partial object is stored as good). */
export function objectsIntact(dataDir: string, sha256File: (p: string) => string): { count: number; bad: string[] } {
  const root = join(dataDir, 'objects')
  const bad: string[] = []
  let count = 0
  if (!existsSync(root)) return { count, bad }
  for (const d of readdirSync(root)) {
    for (const n of readdirSync(join(root, d))) {
      const p = join(root, d, n)
      if (!statSync(p).isFile()) continue
      count++
      if (sha256File(p) !== n) bad.push(n)
    }
  }
  return { count, bad }
}

/** A loaded configuration for an in-process daemon: data dir, mount roots, fast polling. */
export function daemonConfig(dataDir: string, roots: string[], docking: Partial<Config['docking']> = {}, ingest: Partial<Config['ingest']> = {}): Config {
  const cfg = loadConfig({ env: { ...NO_SYSTEM_CONFIG, BODYVAULT_DATA_DIR: dataDir } })
  const out = {
    ...cfg,
    auth: { ...ROLLOUT_AUTH, ...cfg.auth },
    docking: { ...cfg.docking, mountRoots: roots, pollMs: 100, settleMs: 500, ...docking },
    ingest: { ...cfg.ingest, chunkBytes: 1 << 20, ...ingest },
  }
  assertPinned(out, 'an in-process daemon')
  return out
}

export interface InProcess {
  daemon: StationDaemon
  db: Db
  vault: Vault
  cfg: Config
  logs: Record<string, unknown>[]
}

/** A StationDaemon in this process (USB through the given backend), stopped and closed at teardown. */
export async function inProcessDaemon(
  t: Teardown,
  o: { cfg: Config; usb: UsbBackend; profiles?: Map<string, DockingProfile>; env?: NodeJS.ProcessEnv; start?: boolean },
): Promise<InProcess> {
  const logs: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) })
  const st = openStation({ config: o.cfg, logger, ...(o.profiles ? { profiles: o.profiles } : {}) })
  const { db, vault } = st
  const daemon = st.dock({ usb: o.usb, env: o.env })
  t.teardown(async () => {
    await daemon.stop()
    st.close()
  })
  if (o.start !== false) await daemon.start()
  return { daemon, db, vault, cfg: o.cfg, logs }
}
