#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm run build writes dist/).
//
// CommonJS (bin/package.json), not an ES module, for one reason: libuv's thread pool, which runs every file system
// call, takes its size from UV_THREADPOOL_SIZE once, when it starts, and Node's ES module loader starts it to read the
// entry file before any of the entry's code runs. Set from an ES module (as src/common/threads.ts did on import), the
// size never took: the daemon ran with libuv's 4 threads, and every docked camera's reads, writes, read-backs and
// fsyncs queued for them (4 and 8 throttled cameras both stopped at 113 MB/s). This file is read without the pool.
const { existsSync } = require('node:fs')
const { dirname, join } = require('node:path')
const { pathToFileURL } = require('node:url')

// For the daemon, which docks cameras at once: the same number as src/common/threads.ts THREAD_POOL_SIZE (which says
// why); an admin's UV_THREADPOOL_SIZE wins. Other commands keep libuv's 4 (one `ingest` measured 0.1 CPU-s more system
// time per GB with 64 threads and gains nothing: one camera does not keep more waiting).
if (process.argv[2] === 'start' && process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '64'

const root = dirname(__dirname)
const entry = join(root, 'dist', 'src', 'cli', 'main.js')
if (!existsSync(entry)) {
  process.stderr.write(`bodyvault: not built yet: run "npm run build" in ${root} (or scripts/start, which does it)\n`)
  process.exit(3)
}
import(pathToFileURL(entry).href)
  .then(({ run }) => run(process.argv.slice(2)))
  .catch((err) => {
    process.stderr.write(`bodyvault: ${err?.stack ?? err}\n`)
    process.exit(1)
  })
