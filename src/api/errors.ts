import type { FastifyError, FastifyInstance } from 'fastify'
import { BodyvaultError } from '../common/errors.js'
import type { Logger } from '../common/log.js'

/**
 * API errors are JSON `{ error: { code, message } }` with a stable `code`.
 * Bad input is 4xx, never 5xx; a 5xx never carries a stack trace.
 */
export class ApiError extends Error {
  readonly statusCode: number
  readonly code: string
  constructor(statusCode: number, code: string, message: string) {
    super(message)
    this.statusCode = statusCode
    this.code = code
  }
}

const CONFLICTS = new Set([
  'CASE_EXISTS',
  'LINK_EXISTS',
  'CASE_CLOSED',
  'CASE_OPEN',
  'HOLD_RELEASED',
  'CATEGORY_UNCHANGED',
  'RECORDING_PURGED',
  'PACKAGE_PURGED',
  'PACKAGE_OBJECT_MISSING',
])

/** A domain error (the ones the CLI shows with exit code 2) as the HTTP status that fits it. */
export function statusOf(err: BodyvaultError): number {
  if (err.code.endsWith('_NOT_FOUND') || err.code === 'PACKAGE_NO_RECORDING') return 404
  if (CONFLICTS.has(err.code)) return 409
  return err.exitCode === 2 ? 400 : 500
}

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
} as const

/** Fastify's own error codes, mapped to ours. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_VALIDATION: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
  FST_ERR_INVALID_URL: 'BAD_REQUEST',
}

export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message } })
    }
    if (err instanceof BodyvaultError && statusOf(err) < 500) {
      return reply.status(statusOf(err)).send({ error: { code: err.code, message: err.message } })
    }
    const ferr = err as FastifyError
    const status = typeof ferr.statusCode === 'number' ? ferr.statusCode : 500
    if (status >= 400 && status < 500) {
      const code = ferr.validation
        ? 'BAD_REQUEST'
        : status === 429
          ? 'RATE_LIMITED'
          : (FASTIFY_CODES[ferr.code] ?? (status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST'))
      return reply.status(status).send({ error: { code, message: err.message } })
    }
    log.error({ event: 'api.error', method: req.method, url: req.url, err: { message: err.message, stack: err.stack } }, 'request failed')
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error: the station log has the details' } })
  })
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }))
}
