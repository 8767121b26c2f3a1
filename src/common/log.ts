import { createRequire } from 'node:module'
import { pino, type Logger, type DestinationStream } from 'pino'
import type { PinoPretty } from 'pino-pretty'

export type { Logger }

/**
 * Where log lines go: JSON lines (one event per line, what journald and log
 * shippers read) unless stderr is a terminal, where a person reads them:
 * then pino-pretty writes each event as one human line (time, level,
 * message, its fields), synchronously so that it never lands in the middle
 * of a progress bar redraw or after the command's last line.
 */
function stderrDestination(): DestinationStream {
  if (process.stderr.isTTY && process.env.BODYVAULT_LOG_FORMAT !== 'json')
    // Loaded only for a terminal: ~0.06 CPU-s that a daemon or a piped command would pay for nothing.
    return (createRequire(import.meta.url)('pino-pretty') as { PinoPretty: typeof PinoPretty }).PinoPretty({
      destination: 2,
      sync: true,
      colorize: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,app',
      singleLine: true,
    })
  return pino.destination({ fd: 2, sync: true })
}

/**
 * One structured event per line (pino). Secrets never reach here: callers log
 * token ids, never token values; `redact` is a second net for obvious fields.
 */
export function createLogger(opts: { level?: string; destination?: DestinationStream | number } = {}): Logger {
  const level = opts.level ?? process.env.BODYVAULT_LOG_LEVEL ?? 'info'
  const dest = opts.destination ?? stderrDestination()
  return pino(
    {
      level,
      base: { app: 'bodyvault' },
      redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'secretAccessKey', '*.secretAccessKey'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    typeof dest === 'number' ? pino.destination({ fd: dest, sync: true }) : dest,
  )
}

/** A logger that drops everything: for library callers and tests that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
