// libuv's thread pool (src/common/threads.ts) runs every file system call:
// eight throttled cameras' reads each hold a thread for as long as the
// camera takes (a 4 MiB read at USB 2.0 speed: over 100 ms), their staging
// writes and read-backs hold more. What would stall a station: those
// blocked threads taking the whole pool, so that every other file's open,
// fstat and fsync (the vault's commits, the next file's start) waits behind
// a slow camera. Two ways it happened or could: the size set too late (an
// ES module entry: the loader had started the pool with libuv's 4 threads,
// so `bodyvault start` never had the 24 it asked for), and a size smaller
// than what eight cameras keep waiting at once.
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { THREAD_POOL_SIZE } from '../src/common/threads.js'
import { freePort } from './daemon-support.js'
import { childEnv, ROLLOUT_AUTH, ROOT, tempDir } from './helpers.js'

/** More calls than eight cameras can keep waiting: the default budget's 19 slots, a commit and an open per camera. */
const BLOCKED = 40

t.test('`bodyvault start` runs with the pool threads.ts sets, not libuv default 4', async (t) => {
  t.equal(process.env.UV_THREADPOOL_SIZE, undefined, 'the test runs without an admin setting of its own')
  const dir = tempDir(t)
  const cfgFile = join(dir, 'config.json')
  writeFileSync(cfgFile, JSON.stringify({ auth: ROLLOUT_AUTH, listen: `127.0.0.1:${await freePort()}`, docking: { mountRoots: [join(dir, 'media')] } }))
  const args = ['start', '--config', cfgFile]
  // As a station runs it: the test runner puts its --import hooks in every child's NODE_OPTIONS, which would load the
  // entry through the ES module loader (and so start the pool before any code of the entry runs); `env -u` drops them.
  const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, join(ROOT, 'bin/bodyvault.js'), ...args], {
    env: childEnv({ BODYVAULT_DATA_DIR: join(dir, 'data'), BODYVAULT_LOG_LEVEL: 'info' }, args),
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  t.teardown(() => void child.kill('SIGKILL'))
  let log = ''
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      log += c
      const line = log.split('\n').find((l) => l.includes('"dock.start"'))
      if (line) resolve(JSON.parse(line) as Record<string, unknown>)
    })
    child.on('exit', (code) => reject(new Error(`the daemon exited with ${code}: ${log.slice(-500)}`)))
  })
  // libuv starts all its pool threads at once, at its first use: the daemon has opened its vault by now.
  const threads = readdirSync(`/proc/${child.pid}/task`).length
  t.ok(threads >= THREAD_POOL_SIZE, `the daemon has ${threads} threads (a pool of ${THREAD_POOL_SIZE}, V8's and the main one)`)
  t.equal(started.threadPool, THREAD_POOL_SIZE, 'its dock.start line says the pool it has')
  child.kill('SIGTERM')
  t.equal(await new Promise((r) => child.once('exit', r)), 0, 'stopped cleanly')
})

t.test(`a pool of ${THREAD_POOL_SIZE} answers a stat while ${BLOCKED} reads wait on slow devices`, async (t) => {
  t.ok(THREAD_POOL_SIZE > BLOCKED, `the pool (${THREAD_POOL_SIZE}) is larger than what eight cameras keep waiting (${BLOCKED})`)
  const dir = tempDir(t)
  const fifos = Array.from({ length: BLOCKED }, (_, i) => join(dir, `fifo-${i}`))
  execFileSync('mkfifo', fifos)
  const child = `
    const { open, stat } = await import('node:fs/promises')
    const { writeSync, constants: C } = await import('node:fs')
    // O_RDWR: the open itself does not wait for a writer; each read then waits in its pool thread for a byte.
    const fhs = await Promise.all(${JSON.stringify(fifos)}.map((p) => open(p, C.O_RDWR)))
    const reads = fhs.map((fh) => fh.read(Buffer.alloc(1), 0, 1, null))
    await new Promise((r) => setTimeout(r, 300))
    const t0 = performance.now()
    await stat(${JSON.stringify(dir)})
    const ms = performance.now() - t0
    for (const fh of fhs) writeSync(fh.fd, 'x')
    await Promise.all(reads)
    await Promise.all(fhs.map((fh) => fh.close()))
    console.log(JSON.stringify({ ms }))
  `
  const env = { ...process.env, UV_THREADPOOL_SIZE: String(THREAD_POOL_SIZE) }
  const p = spawn(process.execPath, ['--input-type=module', '-e', child], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  p.stdout.on('data', (c: Buffer) => (out += c))
  // With too small a pool the stat waits for a read that never ends: the child is killed and the test fails, not hangs.
  const timer = setTimeout(() => p.kill('SIGKILL'), 20_000)
  const code = await new Promise<number | null>((r) => p.on('close', r))
  clearTimeout(timer)
  t.equal(code, 0, 'the stat ran while the reads waited')
  const r = JSON.parse(out || '{}') as { ms?: number }
  t.ok((r.ms ?? Number.POSITIVE_INFINITY) < 5000, `the stat took ${r.ms?.toFixed(1)} ms with ${BLOCKED} reads blocked`)
})
