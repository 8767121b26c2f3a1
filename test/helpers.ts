import { type ChildProcess, execFile, type SpawnOptions, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Db } from '../src/catalog/db.js'
import { silentLogger } from '../src/common/log.js'
import { packageRoot } from '../src/common/paths.js'
import { loadProfiles, type DockingProfile } from '../src/camera/profile.js'
import { loadConfig, type Config } from '../src/config/load.js'
import { ingestCamera, type IngestReport, type IngestSessionOptions, type IngestSettings } from '../src/ingest/session.js'
import { openStation, type Station } from '../src/station/station.js'
import { createAccount } from '../src/api/accounts.js'
import { createToken } from '../src/api/tokens.js'
import type { Role } from '../src/catalog/tokens.js'
import { cliPeople, cliSignIn, sessionFile, writeSessionFile } from '../src/cli/identity.js'
import type { Vault } from '../src/vault/store.js'

// The checkout, found from the package.json above: the same whether this runs from test/ (tsx) or dist/test/ (scripts/test).
export const ROOT = packageRoot()
export const PROFILES = loadProfiles(join(ROOT, 'docking'))
export const GAT947 = PROFILES.get('gat947') as DockingProfile
const run = promisify(execFile)

export function tempDir(t: { teardown: (fn: () => void) => void }, prefix = 'bv-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/**
 * Builds a fake camera with the project's generator (real ffmpeg media).
 * The generator is byte-deterministic (same options, same ffmpeg build:
 * same files, names and mtimes; test/fake-camera.test.ts holds it to that)
 * and costs ~8 CPU-s a camera (a 300 MiB one 10 to 15: its clips grown by stream copy), so a camera up to
 * 512 MiB (the suite's largest is 400 MiB; about 2 GiB of them in all) is generated once
 * per options, script and ffmpeg build into CAMERA_CACHE (shared by the
 * suite's parallel files, kept between runs) and copied to `out`, mtimes
 * and all. A camera the test then changes is its own copy.
 */
export async function makeCamera(out: string, args: string[] = []): Promise<string> {
  const generate = (dir: string): Promise<unknown> =>
    run('bash', [join(ROOT, 'scripts/make-fake-camera'), '--out', dir, '--quiet', ...args], { maxBuffer: 1 << 24 })
  // What the script would refuse or do otherwise (a non-empty --out, --force) and large trees: the script itself.
  if (args.includes('--force') || sizeOption(args) > 512 * 2 ** 20 || (existsSync(out) && readdirSync(out).length > 0)) {
    await generate(out)
    return out
  }
  const cached = join(CAMERA_CACHE, cameraKey(args))
  if (!existsSync(cached)) {
    let fresh: string
    try {
      mkdirSync(CAMERA_CACHE, { recursive: true })
      fresh = mkdtempSync(`${cached}.tmp-`)
    } catch {
      // A cache this user cannot write (made by another user): the script itself.
      await generate(out)
      return out
    }
    try {
      // Into a folder the script makes, as it makes `out` (mode and all; mkdtemp's folder is 0700).
      await generate(join(fresh, 'camera'))
      renameSync(join(fresh, 'camera'), cached) // whole or not at all: a parallel file that made it first wins
    } catch (err) {
      if (!existsSync(cached)) throw err
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  }
  cpSync(cached, out, { recursive: true, preserveTimestamps: true })
  // cpSync keeps the files' mtimes, not the folders': set them deepest first, as the script does.
  const dirs = ['', ...readdirSync(cached, { recursive: true, encoding: 'utf8' }).filter((d) => statSync(join(cached, d)).isDirectory())]
  for (const d of dirs.sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length)) {
    const st = statSync(join(cached, d))
    utimesSync(join(out, d), st.atime, st.mtime)
  }
  return out
}

/** Where makeCamera keeps the cameras it generated (BODYVAULT_TEST_CAMERAS to move it). */
const CAMERA_CACHE = process.env.BODYVAULT_TEST_CAMERAS ?? join(tmpdir(), 'bodyvault-test-cameras')
let generatorDigest: string | undefined

/** What a generated camera's bytes depend on: the options, the generator script and the ffmpeg build it runs. */
function cameraKey(args: string[]): string {
  generatorDigest ??= createHash('sha256')
    .update(readFileSync(join(ROOT, 'scripts/make-fake-camera')))
    .update(spawnSync(process.env.FFMPEG ?? 'ffmpeg', ['-version'], { encoding: 'utf8' }).stdout ?? 'no ffmpeg')
    .digest('hex')
  return createHash('sha256').update(generatorDigest).update(JSON.stringify(args)).digest('hex').slice(0, 32)
}

/** The tree size --size asks for, in bytes (0 without one). */
function sizeOption(args: string[]): number {
  const v = args[args.indexOf('--size') + 1]
  if (!args.includes('--size') || !v) return 0
  const m = /^(\d+)([KMG]?)$/i.exec(v)
  return m ? Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase()) : Number.POSITIVE_INFINITY
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

export function sha256sum(path: string): string {
  const r = spawnSync('sha256sum', [path], { encoding: 'utf8' })
  return r.stdout.split(' ')[0] ?? ''
}

/**
 * The environment every configuration of the suite is read with: no system
 * config (an installed station's /etc/bodyvault/config.json never leaks into
 * a test run; src/config/load.ts reads BODYVAULT_SYSTEM_CONFIG).
 */
export const NO_SYSTEM_CONFIG = { BODYVAULT_SYSTEM_CONFIG: 'none' } as const

/**
 * The suite's stations are rolling second factors out (auth.secondFactor.
 * graceDays): the tests of other parts sign supervisors and admins in
 * without enrolling one first. test/second-factor*.test.ts set the
 * shipped default (no grace days) themselves and test that rule.
 */
export const ROLLOUT_AUTH = { secondFactor: { graceDays: 30 } } as const

/** The shipped defaults, read as a test must read them (no host variable, no system config). */
export function defaultConfig(): Config {
  return loadConfig({ env: { ...NO_SYSTEM_CONFIG } })
}

/**
 * A configuration for tests: the defaults with this test's own data dir and
 * mount roots (never the host's /media or /run/media), read with an empty
 * environment so that no BODYVAULT_* variable of the host leaks in.
 */
export function testConfig(
  dataDir: string,
  over: { mountRoots?: string[]; docking?: Partial<Config['docking']>; ingest?: Partial<Config['ingest']> } = {},
): Config {
  const cfg = loadConfig({ env: { ...NO_SYSTEM_CONFIG, BODYVAULT_DATA_DIR: dataDir } })
  return {
    ...cfg,
    station: { ...cfg.station, id: 'test-station', name: 'Test station' },
    auth: { ...ROLLOUT_AUTH, ...cfg.auth },
    docking: { ...cfg.docking, mountRoots: over.mountRoots ?? [join(dataDir, '..', 'no-cameras-here')], ...over.docking },
    ingest: { ...cfg.ingest, chunkBytes: 1 << 20, minFreeBytes: 0, ...over.ingest },
  }
}

export interface TestStation {
  dataDir: string
  /** The station as src/station/ builds it (reopen() replaces it). */
  st: Station
  vault: Vault
  db: Db
  /** One ingest session with the gat947 profile unless `extra.profile` says otherwise; `extra` may override ingest settings too. */
  ingest(root: string, extra?: Partial<IngestSessionOptions & IngestSettings>): Promise<IngestReport>
  reopen(): Db
}

/** A data dir with a catalog, and ingest wired as the station wires it. */
export function station(t: { teardown: (fn: () => void) => void }, dataDir?: string, first: { rebuildCatalog?: boolean } = {}): TestStation {
  const dir = dataDir ?? tempDir(t, 'bv-data-')
  const config = testConfig(dir)
  assertPinned(config, 'a test station')
  const open = (o: { rebuildCatalog?: boolean } = {}): Station => openStation({ config, logger: silentLogger(), ...o })
  // rebuildCatalog: an empty catalog as reindex --from-s3 opens it (no vault-created event), for the first open only.
  let st = open(first)
  const s: TestStation = {
    dataDir: dir,
    get st() {
      return st
    },
    get vault() {
      return st.vault
    },
    get db() {
      return st.db
    },
    ingest: (root, extra = {}) => {
      const { chunkBytes, readBackVerify, minFreeBytes, ...session } = extra
      const settings = {
        ...st.ingestContext.settings,
        ...(chunkBytes !== undefined ? { chunkBytes } : {}),
        ...(readBackVerify !== undefined ? { readBackVerify } : {}),
        ...(minFreeBytes !== undefined ? { minFreeBytes } : {}),
      }
      return ingestCamera({ ...st.ingestContext, settings }, { root, profile: GAT947, ...session })
    },
    reopen: () => {
      st.close()
      st = open()
      return st.db
    },
  }
  t.teardown(() => st.close())
  return s
}

/** A data dir holding a new, empty vault (made in process, closed): CLI commands other than start, ingest and reindex make none. */
export function emptyVault(t: { teardown: (fn: () => void) => void }, dataDir?: string): string {
  const dir = dataDir ?? tempDir(t, 'bv-data-')
  openStation({ config: testConfig(dir), logger: silentLogger() }).close()
  return dir
}

/** The host's own camera mount roots: no test may watch or read them (a docked camera there is real footage). */
export const HOST_MOUNT_ROOTS = ['/media', '/run/media']

/** Throws when a configuration would watch the host's own mount roots: every test pins its own. */
export function assertPinned(cfg: Pick<Config, 'docking'>, what: string): void {
  const bad = cfg.docking.mountRoots.filter((r) => HOST_MOUNT_ROOTS.some((h) => r === h || r.startsWith(`${h}/`)))
  if (bad.length) throw new Error(`${what} would watch the host's mount roots (${bad.join(', ')}): give the test its own temporary mount roots`)
}

let pinnedConfigFile: string | undefined

/**
 * The environment of a bodyvault child process of the suite: the caller's
 * variables over a pinned configuration (mount roots in a temporary folder
 * that never holds a camera), unless the caller names a config of its own,
 * which must be pinned as well. Checked before every spawn.
 */
export function childEnv(env: Record<string, string>, args: readonly string[] = []): NodeJS.ProcessEnv {
  if (!pinnedConfigFile) {
    const dir = mkdtempSync(join(tmpdir(), 'bv-pinned-'))
    chmodSync(dir, 0o755) // the service-user tests' children read it as another user
    pinnedConfigFile = join(dir, 'config.json')
    writeFileSync(pinnedConfigFile, JSON.stringify({ docking: { mountRoots: [join(dir, 'no-cameras-here')] }, auth: ROLLOUT_AUTH }), { mode: 0o644 })
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  // XDG_STATE_HOME: where `bodyvault login` keeps its session; pinned so that no test finds a real person's session.
  const state = join(pinnedConfigFile, '..', 'state')
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    BODYVAULT_LOG_LEVEL: 'warn',
    BODYVAULT_CONFIG: pinnedConfigFile,
    XDG_STATE_HOME: state,
    ...NO_SYSTEM_CONFIG,
    ...env,
  }
  const i = args.indexOf('--config')
  const file = i >= 0 ? args[i + 1] : merged.BODYVAULT_CONFIG
  let cfg: Config | undefined
  try {
    cfg = loadConfig({ file, env: merged })
  } catch {
    // A test of bad configuration: the child refuses it before docking anything.
  }
  if (cfg) assertPinned(cfg, `bodyvault ${args.join(' ')}`)
  return merged
}

/**
 * NODE_OPTIONS less tap's own process-info hook (`--import=.../@tapjs/processinfo/...`, there for coverage, which the
 * suite turns off); other options of the person running the suite stay.
 */
export function withoutTapHooks(options: string | undefined): string | undefined {
  // tap quotes each of its options ("--import=file:///...").
  const hook = /(^|\s)("(--import|--loader)=[^"]*@tapjs[/\\]processinfo[/\\][^"]*"|(--import|--loader)=\S*@tapjs[/\\]processinfo[/\\]\S*)(?=\s|$)/g
  const kept = (options ?? '').replace(hook, ' ').replace(/\s+/g, ' ').trim()
  return kept || undefined
}

/**
 * The command that runs node with `argv` and `env` without tap's process-info hook. tap's hook patches this process's
 * spawn to put itself back into every child's NODE_OPTIONS, so the child is started through `env -u NODE_OPTIONS`
 * (env execs node: same pid, signals reach node). The hook cost each CLI run about 0.4 CPU-s before its first line
 * (`bodyvault --help`: 0.2 CPU-s without it, 0.6 with).
 */
export function nodeCommand(argv: readonly string[], env: NodeJS.ProcessEnv): [string, string[]] {
  const kept = withoutTapHooks(env.NODE_OPTIONS)
  return ['env', ['-u', 'NODE_OPTIONS', ...(kept ? [`NODE_OPTIONS=${kept}`] : []), process.execPath, ...argv]]
}

/** Starts the built CLI as a child process (scripts/test builds dist/ first), its config pinned (childEnv). */
export function spawnCli(args: string[], env: Record<string, string> = {}, opts: Omit<SpawnOptions, 'env'> = {}): ChildProcess {
  const e = childEnv(env, args)
  const [cmd, argv] = nodeCommand([join(ROOT, 'bin/bodyvault.js'), ...args], e)
  return spawn(cmd, argv, { ...opts, env: e })
}

/** Runs the built CLI to its end, its config pinned (childEnv); `cwd` to run it from another folder. */
export function cli(args: string[], env: Record<string, string> = {}, opts: { cwd?: string } = {}): { code: number; stdout: string; stderr: string } {
  const e = childEnv(env, args)
  const [cmd, argv] = nodeCommand([join(ROOT, 'bin/bodyvault.js'), ...args], e)
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    env: e,
    maxBuffer: 1 << 26,
    ...opts,
  })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

/**
 * The environment of a CLI run by a signed-in person: a fresh state dir
 * (XDG_STATE_HOME, where `bodyvault login` keeps its session file), an
 * account, and a login session in that dir, made in this process as
 * `user create` and `bodyvault login` make them (spawning the CLI for them
 * costs seconds on a loaded machine; the CLI's own login is tested in
 * people-https.test.ts).
 */
export async function signedInEnv(
  env: Record<string, string>,
  o: { username?: string; roles?: string; policeNo?: string } = {},
): Promise<Record<string, string>> {
  const username = o.username ?? 'clerk.li'
  const e = { ...env, XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'bv-state-')) }
  process.once('exit', () => rmSync(e.XDG_STATE_HOME, { recursive: true, force: true }))
  const merged = childEnv(e)
  const config = loadConfig({ file: merged.BODYVAULT_CONFIG, env: merged })
  const st = openStation({ config, logger: silentLogger() })
  try {
    const made = await createAccount(
      st.db,
      { username, displayName: username, kind: 'person', policeNo: o.policeNo ?? '900001', roles: (o.roles ?? 'clerk,supervisor').split(',') },
      { actor: 'user:os:test', component: 'cli' },
    )
    const s = await cliSignIn(cliPeople(st), username, { BODYVAULT_PASSWORD: made.password!, BODYVAULT_NEW_PASSWORD: 'Evidence-Desk-Passphrase-42' })
    writeSessionFile(sessionFile(config.station.id, merged), { username, secret: s.secret })
  } finally {
    st.close()
  }
  return e
}

/** A bearer token of a new person holding `role` (no service account holds a supervisor's role: its acts need a person). */
export async function personToken(db: Db, username: string, role: Role, policeNo: string): Promise<string> {
  await createAccount(db, { username, displayName: username, kind: 'person', policeNo, roles: [role] }, { actor: 'user:os:test', component: 'cli' })
  return createToken(db, { name: username, role, user: username, actor: 'test' }).secret
}
