/**
 * The size of libuv's thread pool, which runs every file system call Node
 * makes. A read from a camera holds one of its threads for as long as the
 * camera takes to deliver (a 4 MiB read from a USB 2.0 camera: about a
 * tenth of a second), so with libuv's default of 4 threads no more than 4
 * cameras read at once, and their staging writes and fsyncs queue behind
 * those reads. Each camera docked at once needs about three: its read, its
 * staging write, its fsync; 24 covers 8 cameras (docking.concurrency).
 * Importing this module sets it when the environment does not (an admin's
 * UV_THREADPOOL_SIZE wins); it must run before the first file system call
 * that goes to the pool, so the entry points import it first.
 */
export const THREAD_POOL_SIZE = 24

/** The pool size this process runs with (libuv reads the variable once, at the pool's first use). */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE)
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4
}

if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = String(THREAD_POOL_SIZE)
