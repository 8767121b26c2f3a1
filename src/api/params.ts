import { BodyvaultError } from '../common/errors.js'

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
