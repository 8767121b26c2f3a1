/**
 * Errors that reach a user carry a stable `code` and a message that says what
 * to do. The CLI maps them to exit codes; the API (later) maps them to HTTP.
 */
export class BodyvaultError extends Error {
  readonly code: string
  readonly exitCode: number
  constructor(code: string, message: string, exitCode = 3, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BodyvaultError'
    this.code = code
    this.exitCode = exitCode
  }
}

/** Bad configuration: names the key and what is wrong. Exit code 2. */
export class ConfigError extends BodyvaultError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, 2)
    this.name = 'ConfigError'
  }
}

/** Bad input on the command line (unknown option, missing argument). Exit code 2. */
export class UsageError extends BodyvaultError {
  constructor(message: string) {
    super('USAGE', message, 2)
    this.name = 'UsageError'
  }
}

/** The errno-style code of a Node system error, if any. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = (err as { code: unknown }).code
    return typeof c === 'string' ? c : undefined
  }
  return undefined
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
