// The real S3 server of the tests (Ceph RGW via scripts/s3-test-server),
// for the test files that need one: started once per file on a free
// loopback port and stopped in teardown, at exit and on ^C; or, when
// BODYVAULT_S3_ENDPOINT is set, a running one is used (its --dir in
// BODYVAULT_S3_DIR, if known).
import { execFile, execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './daemon-support.js'
import { ROOT } from './helpers.js'

const run = promisify(execFile)
export const S3_SCRIPT = join(ROOT, 'scripts/s3-test-server')
const VARS = ['BODYVAULT_S3_ENDPOINT', 'BODYVAULT_S3_ACCESS_KEY', 'BODYVAULT_S3_SECRET_KEY', 'BODYVAULT_S3_REGION']

export interface S3Server {
  /** The BODYVAULT_S3_* variables. */
  env: Record<string, string>
  /** The cluster folder (to stop and start the gateway), when known. */
  dir: string | undefined
}

/** `export NAME=value` lines, as the script prints them. */
export function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m) out[m[1]!] = m[2]!
  }
  return out
}

export async function useS3Server(t: { comment: (m: string) => void; teardown: (fn: () => unknown) => void }, name: string): Promise<S3Server> {
  if (process.env.BODYVAULT_S3_ENDPOINT) {
    t.comment(`using the running S3 server at ${process.env.BODYVAULT_S3_ENDPOINT}`)
    return { env: Object.fromEntries(VARS.map((k) => [k, process.env[k] ?? ''])), dir: process.env.BODYVAULT_S3_DIR }
  }
  const started = Date.now()
  let dir = ''
  let env: Record<string, string> | undefined
  // Two clusters starting at once (tap's two jobs, or another worktree's tests) may both find the same
  // ports free and one then fails to bind: that one starts again, on ports it looks for again.
  for (let attempt = 1; !env; attempt++) {
    dir = join(tmpdir(), `bodyvault-${name}-${process.pid}${attempt > 1 ? `-${attempt}` : ''}`)
    const port = await freePort()
    try {
      // The first run may have to apt-get install ceph.
      const { stdout } = await run(S3_SCRIPT, ['start', '--dir', dir, '--port', String(port), '--mem', '512M'], { timeout: 240_000, maxBuffer: 16 << 20 })
      env = parseExports(stdout)
    } catch (e) {
      const err = e as { stderr?: string; message?: string }
      await run(S3_SCRIPT, ['stop', '--dir', dir]).catch(() => undefined)
      const raced = /already in use/.test(`${err.message}\n${err.stderr ?? ''}`)
      if (!raced || attempt >= 3) throw new Error(`scripts/s3-test-server start failed: ${err.message}\n${err.stderr ?? ''}`)
      t.comment(`s3-test-server start lost a port to another server (attempt ${attempt}): starting again`)
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * 4000))
    }
  }
  t.comment(`started ${env.BODYVAULT_S3_ENDPOINT} in ${Date.now() - started} ms`)
  // The daemons outlive this process unless stopped: stop them in teardown,
  // and also if the test dies early (exception, tap timeout, ^C).
  let stopped = false
  const stopSync = (): void => {
    if (stopped) return
    stopped = true
    try {
      execFileSync(S3_SCRIPT, ['stop', '--dir', dir], { stdio: 'ignore', timeout: 30_000 })
    } catch {
      // best effort
    }
  }
  process.once('exit', stopSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      stopSync()
      process.kill(process.pid, sig)
    })
  }
  t.teardown(async () => {
    if (stopped) return
    stopped = true
    await run(S3_SCRIPT, ['stop', '--dir', dir], { timeout: 60_000 })
  })
  return { env, dir }
}

/** Stops (an S3 outage) or starts the gateway alone, with scripts/s3-test-server gateway; the cluster keeps its data. */
export async function gateway(s3: S3Server, action: 'stop' | 'start'): Promise<void> {
  if (!s3.dir) throw new Error('the gateway can be stopped only on a server whose --dir is known (set BODYVAULT_S3_DIR)')
  await run(S3_SCRIPT, ['gateway', action, '--dir', s3.dir], { timeout: 90_000 })
}
