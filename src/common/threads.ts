/**
 * The size of libuv's thread pool, which runs every file system call Node
 * makes: each docked camera's reads (which wait for the camera: a 4 MiB
 * read at USB 2.0 speed holds its thread over 100 ms), staging writes,
 * read-backs and fsyncs (which wait for the data disk), and each file's
 * opens and fstats share it. Eight cameras can have about 35 calls waiting
 * at once (the default budget's 19 slots, each a camera read or a write or
 * read-back, and a commit and an open per camera); any more than the pool
 * has and every other call, the vault's commits and the next file's opens
 * included, queues behind a slow camera. 64 leaves room for that and for
 * media jobs and the API; an idle thread costs address space, not memory.
 *
 * libuv reads UV_THREADPOOL_SIZE once, when the pool starts, and Node's ES
 * module loader starts it to read the entry file: only a CommonJS entry
 * can set it in time (bin/bodyvault.js does, with this number, for `start`:
 * one `ingest` keeps libuv's 4; an admin's UV_THREADPOOL_SIZE wins). Until it did, the daemon ran with libuv's 4
 * threads whatever this file said: 4 and 8 throttled cameras both stopped
 * at 113 MB/s (bench/throttled-dock.ts). A benchmark that docks in its own
 * process (an ES module) calls `ensureThreadPool()` first: it runs itself
 * again with the variable set.
 */
import { spawnSync } from 'node:child_process'

export const THREAD_POOL_SIZE = 64

/** The pool size this process runs with (libuv reads the variable once, at the pool's first use). */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE)
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4
}

/**
 * For an ES module entry (a benchmark) that must run with the daemon's pool: without UV_THREADPOOL_SIZE in its
 * environment, runs the same command again with it set and exits with its status (its output is this one's).
 */
export function ensureThreadPool(): void {
  if (process.env.UV_THREADPOOL_SIZE !== undefined) return
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, UV_THREADPOOL_SIZE: String(THREAD_POOL_SIZE) },
  })
  process.exit(r.status ?? 1)
}
