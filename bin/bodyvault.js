#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm run build writes dist/).
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const entry = join(root, 'dist', 'src', 'cli', 'main.js')
if (!existsSync(entry)) {
  process.stderr.write(`bodyvault: not built yet: run "npm run build" in ${root} (or scripts/start, which does it)\n`)
  process.exit(3)
}
// Before anything reaches libuv's thread pool: its size (src/common/threads.ts says why cameras need more than 4 threads).
await import(pathToFileURL(join(root, 'dist', 'src', 'common', 'threads.js')).href)
const { run } = await import(pathToFileURL(entry).href)
await run(process.argv.slice(2))
