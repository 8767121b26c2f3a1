// Support for the station-operation tests (install, service user, CLI on a
// terminal): a system user of this host for the service, the CLI run as
// that user (runuser) or on a pseudo-terminal (script(1)), each with its
// configuration pinned as childEnv pins it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { childEnv, ROOT } from './helpers.js'

/** The service user of the tests: a system account made once per host, never a real station's `bodyvault`. */
export const TEST_USER = 'bodyvault-test'

/** Why the service-user tests cannot run here, or undefined. Makes TEST_USER when missing (root only). */
export function cannotRunAsUser(): string | undefined {
  if (process.getuid?.() !== 0) return 'switching users needs root'
  for (const tool of ['runuser', 'useradd', 'script']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`
  if (spawnSync('getent', ['passwd', TEST_USER]).status !== 0) {
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--user-group', TEST_USER], {
      encoding: 'utf8',
    })
    if (r.status !== 0 && spawnSync('getent', ['passwd', TEST_USER]).status !== 0) return `useradd ${TEST_USER} failed: ${r.stderr.trim()}`
  }
  const read = spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', join(ROOT, 'dist', 'src', 'cli', 'main.js')])
  if (read.status !== 0) return `${TEST_USER} cannot read this checkout (${ROOT}): put it where other users can read it`
  return undefined
}

export function uidOf(user: string): number {
  return Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim())
}

export function gidOf(user: string): number {
  return Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim())
}

/** The built CLI as `user` (runuser), its configuration pinned. */
export function cliAs(user: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const e = childEnv(env, args)
  const vars = Object.entries(e)
    .filter(([k]) => k.startsWith('BODYVAULT_') || k === 'PATH')
    .map(([k, v]) => `${k}=${v}`)
  // A clean environment: not this process's (tap's NODE_OPTIONS would make the child write into the checkout).
  const r = spawnSync('runuser', ['-u', user, '--', 'env', '-i', ...vars, process.execPath, join(ROOT, 'bin/bodyvault.js'), ...args], {
    encoding: 'utf8',
    cwd: '/',
    maxBuffer: 1 << 24,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

/** The built CLI with its stdout into a shell pipeline (`| head -1`): its stdout, stderr and exit code (PIPESTATUS). */
export function cliPiped(args: string[], env: Record<string, string>, pipeline: string): { code: number; stdout: string; stderr: string } {
  const quoted = [process.execPath, join(ROOT, 'bin/bodyvault.js'), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const r = spawnSync('bash', ['-c', `${quoted} | ${pipeline}; echo "exit=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8', env: childEnv(env, args) })
  const m = /exit=(\d+)\s*$/.exec(r.stderr)
  return { code: m ? Number(m[1]) : -1, stdout: r.stdout, stderr: r.stderr.replace(/exit=\d+\s*$/, '') }
}

/** A command line as `user` (runuser), e.g. the systemd unit's ExecStart, with `env` (checked as childEnv checks a bodyvault child). */
export function spawnAs(user: string, argv: string[], env: Record<string, string>): ChildProcess {
  const e = childEnv(env, argv)
  const vars = Object.entries(e)
    .filter(([k]) => k.startsWith('BODYVAULT_') || k === 'PATH')
    .map(([k, v]) => `${k}=${v}`)
  return spawn('runuser', ['-u', user, '--', 'env', '-i', ...vars, ...argv], {
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  })
}

/**
 * The built CLI on a pseudo-terminal (script(1)): stdin, stdout and stderr
 * are a terminal, as for a person. `keys` are typed after the given delays
 * (ms); the terminal's output (stdout and stderr together) is returned.
 */
export async function cliOnTty(
  args: string[],
  env: Record<string, string>,
  keys: { afterMs?: number; afterOutput?: RegExp; text: string }[] = [],
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  const e = childEnv(env, args)
  const cmd = [process.execPath, join(ROOT, 'bin/bodyvault.js'), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], { env: { ...e, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  const waiting = keys.filter((k) => k.afterOutput)
  const onData = (b: Buffer): void => {
    output += b.toString('utf8')
    for (const k of [...waiting])
      if (k.afterOutput!.test(output)) {
        waiting.splice(waiting.indexOf(k), 1)
        child.stdin.write(k.text)
      }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  for (const k of keys) if (k.afterMs !== undefined) setTimeout(() => child.stdin.write(k.text), k.afterMs).unref()
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)))
  clearTimeout(timer)
  return { code, output }
}
