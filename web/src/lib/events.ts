import { createParser } from 'eventsource-parser'

/** Where the stream stands: what the screen tells the officer about its own freshness. */
export type Connection = 'connecting' | 'open' | 'reconnecting' | 'refused'

export interface StreamOptions<T> {
  url: string
  token: string
  onMessage(data: T): void
  onConnection(c: Connection): void
  /** No byte for this long (the server sends a heartbeat every 15 s): the connection is dead, start again. */
  silenceMs?: number
  /** Waits between attempts: the server's `retry:` first, doubling up to this. */
  maxRetryMs?: number
}

/**
 * Follows a server-sent event stream for as long as the page lives,
 * reconnecting by itself (a daemon restart, a dropped network). It uses
 * fetch rather than EventSource because EventSource cannot send an
 * Authorization header (the token would have to go in the URL and into
 * logs). A 401 or 403 stops it: the credential is wrong, retrying will not
 * help. Returns a function that stops it.
 */
export function followStream<T>(o: StreamOptions<T>): () => void {
  const silenceMs = o.silenceMs ?? 45_000
  const maxRetryMs = o.maxRetryMs ?? 5000
  let stopped = false
  let current: AbortController | null = null
  let retryMs = 1000
  let wake: (() => void) | null = null

  const once = async (): Promise<'again' | 'refused'> => {
    const abort = new AbortController()
    current = abort
    let watchdog = setTimeout(() => abort.abort(), silenceMs)
    try {
      const res = await fetch(o.url, {
        headers: { authorization: `Bearer ${o.token}`, accept: 'text/event-stream' },
        cache: 'no-store',
        signal: abort.signal,
      })
      if (res.status === 401 || res.status === 403) return 'refused'
      if (!res.ok || !res.body) return 'again'
      const parser = createParser({
        onEvent: (ev) => {
          if (ev.event === 'status') o.onMessage(JSON.parse(ev.data) as T)
        },
        onRetry: (ms) => {
          retryMs = ms
        },
      })
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let first = true
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return 'again'
        clearTimeout(watchdog)
        watchdog = setTimeout(() => abort.abort(), silenceMs)
        parser.feed(value)
        if (first) {
          first = false
          o.onConnection('open')
          retryMs = Math.min(retryMs, 1000)
        }
      }
    } catch {
      return 'again'
    } finally {
      clearTimeout(watchdog)
      current = null
    }
  }

  void (async () => {
    o.onConnection('connecting')
    while (!stopped) {
      const r = await once()
      if (stopped) return
      if (r === 'refused') {
        o.onConnection('refused')
        return
      }
      o.onConnection('reconnecting')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = null
      retryMs = Math.min(retryMs * 2, maxRetryMs)
    }
  })()

  return () => {
    stopped = true
    current?.abort()
    wake?.()
  }
}
