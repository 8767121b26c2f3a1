import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { CopyResult } from './hash.js'

/**
 * SHA-256 of whole files on all cores: one worker thread per core (up to
 * `threads`), each reading its file with one reused buffer of `chunk` bytes,
 * so memory stays at threads x chunk whatever the vault holds. Files queue
 * in the order asked. A failure rejects with the errno code of the read
 * (`ENOENT` for a missing object), as hashFile does.
 *
 * The worker is plain JavaScript evaluated from a string so that it runs the
 * same from src/ (tests, TypeScript loader) and from dist/.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { openSync, readSync, closeSync, constants } = require('node:fs')
const { createHash } = require('node:crypto')
const buf = Buffer.allocUnsafe(workerData.chunk)
parentPort.on('message', (m) => {
  let fd
  try {
    fd = openSync(m.path, constants.O_RDONLY | constants.O_NOFOLLOW)
    const h = createHash('sha256')
    let pos = 0
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos)
      if (n === 0) break
      h.update(buf.subarray(0, n))
      pos += n
    }
    parentPort.postMessage({ id: m.id, sha256: h.digest('hex'), size: pos })
  } catch (err) {
    parentPort.postMessage({ id: m.id, code: err && err.code, message: String((err && err.message) || err) })
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
})
`

type Reply = { id: number; sha256?: string; size?: number; code?: string; message?: string }

export class HashPool {
  private readonly workers: Worker[] = []
  private readonly idle: Worker[] = []
  private readonly queue: { id: number; path: string }[] = []
  private readonly waiting = new Map<number, { resolve: (r: CopyResult) => void; reject: (e: Error) => void }>()
  private nextId = 1

  constructor(opts: { threads?: number; chunk?: number } = {}) {
    const n = Math.max(1, Math.min(opts.threads ?? availableParallelism(), 16))
    for (let i = 0; i < n; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { chunk: opts.chunk ?? 4 << 20 } })
      w.on('message', (r: Reply) => {
        const p = this.waiting.get(r.id)
        this.waiting.delete(r.id)
        if (r.sha256 !== undefined && r.size !== undefined) p?.resolve({ sha256: r.sha256, size: r.size })
        else p?.reject(Object.assign(new Error(r.message ?? 'hash failed'), r.code ? { code: r.code } : {}))
        this.idle.push(w)
        this.pump()
      })
      w.on('error', (err) => {
        for (const p of this.waiting.values()) p.reject(new Error(`hash worker failed: ${err.message}`))
        this.waiting.clear()
      })
      this.workers.push(w)
      this.idle.push(w)
    }
  }

  get threads(): number {
    return this.workers.length
  }

  hash(path: string): Promise<CopyResult> {
    const id = this.nextId++
    const p = new Promise<CopyResult>((resolve, reject) => this.waiting.set(id, { resolve, reject }))
    this.queue.push({ id, path })
    this.pump()
    return p
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) this.idle.pop()!.postMessage(this.queue.shift()!)
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}

/**
 * Runs `fn` over `items` with at most `limit` at once (results in no
 * particular order: `fn` records what it needs). Keeps the number of
 * promises, and so the memory, bounded however many items there are.
 */
export async function forEachLimit<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]()
  const lane = async (): Promise<void> => {
    for (let n = it.next(); !n.done; n = it.next()) await fn(n.value)
  }
  await Promise.all(Array.from({ length: Math.max(1, limit) }, lane))
}
