import { Worker } from 'node:worker_threads'
import { DIRECT_ALIGN } from './direct.js'

/**
 * Read-back verification on the second core. A worker thread follows the
 * writer through a staged file with its own descriptor: the writer publishes
 * how many bytes are written (a SharedArrayBuffer), the worker reads and
 * hashes up to there, and when the writer has fsynced and says "done" the
 * worker returns the SHA-256 of what it read. The caller compares that with
 * the hash of the bytes read from the camera; only a match may enter the vault.
 *
 * What the writer wrote with O_DIRECT (direct.ts) is read back with
 * O_DIRECT too, from the disk; anything else (small files, a file system
 * without O_DIRECT, unaligned tails) through the page cache, as any later
 * reader will.
 *
 * The worker is plain JavaScript evaluated from a string so that it runs the
 * same from src/ (tests, TypeScript loader) and from dist/.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { openSync, readSync, closeSync, constants } = require('node:fs')
const { createHash } = require('node:crypto')
const ALIGN = ${DIRECT_ALIGN}
let raw = Buffer.allocUnsafe(0)
let start = -1 // where in raw a direct read is accepted; -1 not found yet
parentPort.on('message', (m) => {
  const state = new BigInt64Array(m.sab) // [0] bytes written, [1] 0 running, 1 done, 2 abandoned
  let fd
  let dfd
  try {
    if (raw.length < m.chunk + ALIGN) {
      raw = Buffer.allocUnsafe(m.chunk + ALIGN)
      start = -1
    }
    const len = m.chunk - (m.chunk % ALIGN)
    fd = openSync(m.path, 'r')
    if (m.direct) {
      try { dfd = openSync(m.path, constants.O_RDONLY | constants.O_DIRECT) } catch {}
    }
    const h = createHash('sha256')
    let pos = 0
    for (;;) {
      const written = Number(Atomics.load(state, 0))
      if (pos < written) {
        let n = -1
        const whole = Math.min(len, written - pos) - (Math.min(len, written - pos) % ALIGN)
        // What the writer wrote straight to the disk is read from the disk (O_DIRECT), not from memory.
        if (dfd !== undefined && pos % ALIGN === 0 && whole > 0) {
          if (start < 0) start = findAligned(dfd, pos)
          if (start < 0) {
            closeSync(dfd)
            dfd = undefined
          } else {
            try {
              n = readSync(dfd, raw, start, whole, pos)
              if (n === 0) throw new Error('staged file shorter than written (' + pos + ' < ' + written + ')')
              h.update(raw.subarray(start, start + n))
            } catch (err) {
              if (err.code !== 'EINVAL') throw err
              closeSync(dfd)
              dfd = undefined
              start = -1
              n = -1
            }
          }
        }
        if (n < 0) {
          n = readSync(fd, raw, 0, Math.min(m.chunk, written - pos), pos)
          if (n === 0) throw new Error('staged file shorter than written (' + pos + ' < ' + written + ')')
          h.update(raw.subarray(0, n))
        }
        pos += n
        continue
      }
      const s = Atomics.load(state, 1)
      if (s === 2n) { parentPort.postMessage({ id: m.id, abandoned: true }); return }
      if (s === 1n && pos >= Number(Atomics.load(state, 0))) {
        const extra = readSync(fd, raw, 0, 1, pos)
        parentPort.postMessage({ id: m.id, sha256: h.digest('hex'), bytes: pos + extra })
        return
      }
      Atomics.wait(state, 0, BigInt(written), 50)
    }
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) })
  } finally {
    if (fd !== undefined) closeSync(fd)
    if (dfd !== undefined) closeSync(dfd)
  }
})
// The first offset into raw from which a direct read of one block is accepted (-1: none).
function findAligned(dfd, pos) {
  for (let off = 0; off < ALIGN; off += 8) {
    try {
      readSync(dfd, raw, off, ALIGN, pos)
      return off
    } catch (err) {
      if (err.code !== 'EINVAL') return -1
    }
  }
  return -1
}
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

  /** Follows the writer of `path`; `direct`: it writes with O_DIRECT, so read back from the disk the same way. */
  follow(path: string, direct = false): Follow {
    const id = this.nextId++
    const sab = new SharedArrayBuffer(16)
    const state = new BigInt64Array(sab)
    const reply = new Promise<Reply>((resolve) => this.waiting.set(id, resolve))
    this.worker.ref()
    this.worker.postMessage({ id, path, sab, chunk: this.chunk, direct })
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
