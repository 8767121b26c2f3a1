import type { FastifyRequest, preValidationAsyncHookHandler, RouteOptions } from 'fastify'
import { BodyvaultError } from '../common/errors.js'

/**
 * Numbers in URLs are written one way. Ajv's type coercion reads any string
 * JavaScript's Number() reads: "0x1", "1e0", "+1", " 1", "1.0" all become 1,
 * and "1e309" becomes Infinity, which passes `maximum` and reaches SQLite.
 * So before validation, every path or query parameter whose schema says
 * integer must be plain decimal digits (no sign, exponent, hex, spaces,
 * fraction or leading zeros), at most 16 of them; the schema's bounds then
 * apply to an exact number.
 */
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/

type Part = 'params' | 'querystring'
type Properties = Record<string, { type?: unknown } | undefined>

function integerKeys(schema: unknown): string[] {
  const props = (schema as { properties?: Properties } | undefined)?.properties ?? {}
  return Object.entries(props)
    .filter(([, p]) => p?.type === 'integer' || p?.type === 'number' || (Array.isArray(p?.type) && (p.type.includes('integer') || p.type.includes('number'))))
    .map(([k]) => k)
}

function checker(keys: Record<Part, string[]>): preValidationAsyncHookHandler {
  return async (req: FastifyRequest) => {
    for (const part of ['params', 'querystring'] as const) {
      const values = (part === 'params' ? req.params : req.query) as Record<string, unknown> | undefined
      for (const k of keys[part]) {
        const v = values?.[k]
        if (v === undefined) continue
        for (const s of Array.isArray(v) ? v : [v]) {
          if (typeof s === 'string' && DECIMAL.test(s)) continue
          const shown = JSON.stringify(String(s).slice(0, 40))
          throw new BodyvaultError('BAD_REQUEST', `${part}/${k} must be a whole number in plain decimal digits, not ${shown}`)
        }
      }
    }
  }
}

/** An onRoute hook: adds the strict-number check to each route whose params or query have numbers. */
export function strictNumbers(route: RouteOptions): void {
  const keys = { params: integerKeys(route.schema?.params), querystring: integerKeys(route.schema?.querystring) }
  if (keys.params.length + keys.querystring.length === 0) return
  const existing = route.preValidation
  route.preValidation = [checker(keys), ...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing])]
}

/**
 * A `date-time` the schema let through, as a UTC ISO string; a date the
 * format allows but JavaScript cannot represent (a leap second, a year
 * past 275760) is bad input, not a crash.
 */
export function isoInstant(value: string, key: string): string {
  const d = new Date(value)
  if (Number.isNaN(d.getTime()))
    throw new BodyvaultError('BAD_REQUEST', `${key} is not a date-time this station can represent: ${JSON.stringify(value.slice(0, 40))}`)
  return d.toISOString()
}
