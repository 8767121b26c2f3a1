/**
 * Waiting in a queue that an AbortSignal can leave: the shape of the dock's
 * disk share (src/dock/fairshare.ts) and ingest's buffer budget
 * (src/ingest/buffers.ts). The owner keeps the queue and decides whom to
 * grant (its pump); this only puts a waiter in, takes it out again on an
 * abort before its grant, and stops listening once granted.
 */

/** The error an aborted wait rejects with: the signal's own reason when it is an Error. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('ingest aborted')
}

/**
 * Pushes the waiter `make` builds around its grant function onto `queue`
 * and resolves with what the owner grants it. An abort before the grant
 * removes it from the queue, rejects, and calls `onLeave` (e.g. the owner's
 * pump, when the queue's order depends on who waits).
 */
export function waitInQueue<W, V>(queue: W[], make: (grant: (v: V) => void) => W, signal?: AbortSignal, onLeave?: () => void): Promise<V> {
  if (signal?.aborted) return Promise.reject(abortReason(signal))
  return new Promise<V>((resolve, reject) => {
    if (!signal) {
      queue.push(make(resolve))
      return
    }
    const onAbort = (): void => {
      const i = queue.indexOf(w)
      if (i < 0) return
      queue.splice(i, 1)
      reject(abortReason(signal))
      onLeave?.()
    }
    const w = make((v) => {
      signal.removeEventListener('abort', onAbort)
      resolve(v)
    })
    signal.addEventListener('abort', onAbort, { once: true })
    queue.push(w)
  })
}
