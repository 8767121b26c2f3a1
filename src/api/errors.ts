import type { FastifyError, FastifyInstance } from 'fastify'
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
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500
    if (status >= 400 && status < 500) {
      const code = err.validation ? 'BAD_REQUEST' : status === 429 ? 'RATE_LIMITED' : FASTIFY_CODES[err.code] ?? (status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST')
      return reply.status(status).send({ error: { code, message: err.message } })
    }
    log.error({ event: 'api.error', method: req.method, url: req.url, err: { message: err.message, stack: err.stack } }, 'request failed')
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error: the station log has the details' } })
  })
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }))
}
