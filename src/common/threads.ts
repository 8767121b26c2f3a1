/**
 * The size of libuv's thread pool, which runs every file system call Node
 * makes: each docked camera's reads (which wait for the camera), staging
 * writes and fsyncs (which wait for the data disk) share it. With libuv's
 * default of 4 threads, eight cameras' calls queue behind each other's
 * fsyncs. Measured (bench/throttled-dock.ts, eight cameras throttled to
 * 35 MiB/s, a loaded 2-core host): 0.16x and 0.16x of the sources' speed
 * with 4 threads, 0.18x with 24. Plain reads alone did not need it (the
 * kernel's read-ahead keeps a camera busy while its reader waits for a
 * thread): it is the writes and fsyncs beside them. 24 = eight cameras x
 * (read, staging write, fsync). Importing this module sets it when the
 * environment does not (an admin's UV_THREADPOOL_SIZE wins); it must run
 * before the first call that goes to the pool, so entry points import it first.
 */
export const THREAD_POOL_SIZE = 24

/** The pool size this process runs with (libuv reads the variable once, at the pool's first use). */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE)
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4
}

if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = String(THREAD_POOL_SIZE)
