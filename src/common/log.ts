import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

/**
 * One structured event per line (pino). Secrets never reach here: callers log
 * token ids, never token values; `redact` is a second net for obvious fields.
 */
export function createLogger(opts: { level?: string; destination?: DestinationStream | number } = {}): Logger {
  const level = opts.level ?? process.env.BODYVAULT_LOG_LEVEL ?? 'info'
  const dest = opts.destination ?? 2
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
