import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import { BodyvaultError, type ErrorCode, ERRORS } from '../common/errors.js'
import type { Logger } from '../common/log.js'

/**
 * API errors are JSON `{ error: { code, message } }` with a code from the
 * catalogue (src/common/errors.ts), which also gives the HTTP status. Bad
 * input is 4xx, never 5xx; a 5xx never carries a stack trace or a path.
 */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.status(status).send({ error: { code, message } })
}

/** Fastify's own error codes, as ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
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
  app.setErrorHandler((err: FastifyError | BodyvaultError, req, reply) => {
    if (err instanceof BodyvaultError && err.httpStatus < 500) return sendError(reply, err.httpStatus, err.code, err.message)
    const ferr = err as FastifyError
    const status = !(err instanceof BodyvaultError) && typeof ferr.statusCode === 'number' ? ferr.statusCode : 500
    if (status >= 400 && status < 500) {
      const code = ferr.validation ? 'BAD_REQUEST' : (FASTIFY_CODES[ferr.code] ?? (status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST'))
      return sendError(reply, status, code, ferr.message)
    }
    log.error({ event: 'api.error', method: req.method, url: req.url, code: ferr.code, err: { message: err.message, stack: err.stack } }, 'request failed')
    return sendError(reply, 500, 'INTERNAL', ERRORS.INTERNAL.message)
  })
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`))
}
