import type { Socket } from 'node:net'
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

/** A schema validation failure as our code: a reason that says nothing is REASON_REQUIRED, the rest BAD_REQUEST. */
function validationCode(err: FastifyError): ErrorCode {
  return err.validation?.some((v) => v.keyword === 'format' && v.params?.format === 'reason') ? 'REASON_REQUIRED' : 'BAD_REQUEST'
}

export function installErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | BodyvaultError, req, reply) => {
    // Catalogued codes answer as themselves; only a plain 500 (a fault we did not name) becomes INTERNAL.
    if (err instanceof BodyvaultError && err.httpStatus !== 500) {
      if (err.httpStatus >= 500)
        log.error({ event: 'api.error', method: req.method, url: req.url, code: err.code, err: { message: err.message } }, 'request failed')
      return sendError(reply, err.httpStatus, err.code, err.message)
    }
    const ferr = err as FastifyError
    const status = !(err instanceof BodyvaultError) && typeof ferr.statusCode === 'number' ? ferr.statusCode : 500
    if (status >= 400 && status < 500) {
      const code = ferr.validation ? validationCode(ferr) : (FASTIFY_CODES[ferr.code] ?? (status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST'))
      const message = code === 'REASON_REQUIRED' ? `${ferr.message.split(' must ')[0]}: ${ERRORS.REASON_REQUIRED.message}` : ferr.message
      return sendError(reply, status, code, message)
    }
    log.error({ event: 'api.error', method: req.method, url: req.url, code: ferr.code, err: { message: err.message, stack: err.stack } }, 'request failed')
    return sendError(reply, 500, 'INTERNAL', ERRORS.INTERNAL.message)
  })
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`))
}

/**
 * Requests the HTTP parser refuses before fastify sees them (headers over
 * the size limit, malformed request lines) still get a JSON error in our
 * shape, and the connection is closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code]: [number, ErrorCode] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'BAD_REQUEST'] : [400, 'BAD_REQUEST']
  const body = JSON.stringify({ error: { code, message: status === 408 ? 'the request took too long to arrive' : ERRORS[code].message } })
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'
  // A HEAD request gets the head alone: a body after it is read as the start of another answer.
  const head = (err as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD '
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${head ? '' : body}`,
  )
}
