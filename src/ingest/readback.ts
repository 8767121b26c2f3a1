import { Worker } from 'node:worker_threads'

/**
 * Read-back verification on the second core. A worker thread follows the
 * writer through a staged file with its own descriptor: the writer publishes
 * how many bytes are written (a SharedArrayBuffer), the worker reads and
 * hashes up to there, and when the writer has fsynced and says "done" the
 * worker returns the SHA-256 of what it read. The caller compares that with
 * the hash of the bytes read from the camera; only a match may enter the vault.
 *
 * This reads the staged copy back through the kernel, as any later reader
 * will; it cannot see below the page cache (no O_DIRECT in Node).
 *
 * The worker is plain JavaScript evaluated from a string so that it runs the
 * same from src/ (tests, TypeScript loader) and from dist/.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { openSync, readSync, closeSync } = require('node:fs')
const { createHash } = require('node:crypto')
let buf = Buffer.allocUnsafe(0)
parentPort.on('message', (m) => {
  const state = new BigInt64Array(m.sab) // [0] bytes written, [1] 0 running, 1 done, 2 abandoned
  let fd
  try {
    if (buf.length < m.chunk) buf = Buffer.allocUnsafe(m.chunk)
    fd = openSync(m.path, 'r')
    const h = createHash('sha256')
    let pos = 0
    for (;;) {
      const written = Number(Atomics.load(state, 0))
      if (pos < written) {
        const want = Math.min(buf.length, written - pos)
        const n = readSync(fd, buf, 0, want, pos)
        if (n === 0) throw new Error('staged file shorter than written (' + pos + ' < ' + written + ')')
        h.update(buf.subarray(0, n))
        pos += n
        continue
      }
      const s = Atomics.load(state, 1)
      if (s === 2n) { parentPort.postMessage({ id: m.id, abandoned: true }); return }
      if (s === 1n && pos >= Number(Atomics.load(state, 0))) {
        const extra = readSync(fd, buf, 0, 1, pos)
        parentPort.postMessage({ id: m.id, sha256: h.digest('hex'), bytes: pos + extra })
        return
      }
      Atomics.wait(state, 0, BigInt(written), 50)
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) })
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
})
`

export interface Follow {
  /** The writer has durably written `bytes` bytes from offset 0. */
  advance(bytes: number): void
  /** All bytes are written and fsynced: resolves with what the worker read. */
  finish(): Promise<{ sha256: string; bytes: number }>
  /** Give up (the copy failed); the worker stops reading. */
  abandon(): void
}

type Reply = { id: number; sha256?: string; bytes?: number; error?: string; abandoned?: boolean }

export class ReadBackVerifier {
  private worker: Worker
  private nextId = 1
  private waiting = new Map<number, (r: Reply) => void>()
  private readonly chunk: number

  constructor(chunk: number) {
    this.chunk = chunk
    this.worker = new Worker(WORKER_SOURCE, { eval: true })
    this.worker.unref()
    this.worker.on('message', (r: Reply) => {
      const done = this.waiting.get(r.id)
      this.waiting.delete(r.id)
      done?.(r)
    })
    this.worker.on('error', (err) => {
      for (const done of this.waiting.values()) done({ id: 0, error: `read-back worker failed: ${err.message}` })
      this.waiting.clear()
    })
  }

  follow(path: string): Follow {
    const id = this.nextId++
    const sab = new SharedArrayBuffer(16)
    const state = new BigInt64Array(sab)
    const reply = new Promise<Reply>((resolve) => this.waiting.set(id, resolve))
    this.worker.ref()
    this.worker.postMessage({ id, path, sab, chunk: this.chunk })
    const settle = (): void => {
      if (this.waiting.size === 0) this.worker.unref()
    }
    return {
      advance: (bytes) => {
        Atomics.store(state, 0, BigInt(bytes))
        Atomics.notify(state, 0)
      },
      finish: async () => {
        Atomics.store(state, 1, 1n)
        Atomics.notify(state, 0)
        const r = await reply
        settle()
        if (r.error !== undefined) throw new Error(`read-back of the staged copy failed: ${r.error}`)
        if (r.sha256 === undefined || r.bytes === undefined) throw new Error('read-back of the staged copy was abandoned')
        return { sha256: r.sha256, bytes: r.bytes }
      },
      abandon: () => {
        Atomics.store(state, 1, 2n)
        Atomics.notify(state, 0)
        void reply.then(settle)
      },
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate()
  }
}
