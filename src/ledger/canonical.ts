import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import { isCanonicalJson } from './fastcanon.js'

/**
 * The ledger's canonical byte form, in one place.
 *
 * An event is the JSON object {seq, type, at, actor, subject, payload}:
 *   seq      integer, 1, 2, 3 ... with no gaps
 *   type     e.g. "ingested"
 *   at       ISO 8601 UTC instant with milliseconds, e.g. "2026-11-23T14:10:39.123Z"
 *   actor    who caused it, e.g. "station:station-01", "token:7"
 *   subject  what it is about, e.g. "recording:42", "session:3"
 *   payload  a JSON object (integers only, no floats: sizes, offsets)
 * Its canonical bytes are the UTF-8 encoding of its RFC 8785 (JCS)
 * canonicalization: keys sorted by UTF-16 code units, no white space,
 * ECMAScript number and string serialisation.
 *
 *   hash(event) = SHA-256( prev_hash (32 raw bytes) || canonical bytes )
 *
 * with prev_hash of the first event = 32 zero bytes. Hashes are stored and
 * shown as lower-case hex.
 */
export interface EventBody {
  seq: number
  type: string
  at: string
  actor: string
  subject: string
  payload: Record<string, unknown>
}

export const GENESIS_HASH = '0'.repeat(64)

export function canonicalBytes(value: unknown): Buffer {
  const text = canonicalize(value)
  if (text === undefined) throw new TypeError('value cannot be canonicalized (undefined, function or symbol)')
  return Buffer.from(text, 'utf8')
}

export function canonicalEventBytes(ev: EventBody): Buffer {
  return canonicalBytes({ seq: ev.seq, type: ev.type, at: ev.at, actor: ev.actor, subject: ev.subject, payload: ev.payload })
}

export function chainHash(prevHashHex: string, ev: EventBody): string {
  if (!/^[0-9a-f]{64}$/.test(prevHashHex)) throw new TypeError(`previous hash must be 64 lower-case hex digits, got ${JSON.stringify(prevHashHex)}`)
  return createHash('sha256').update(Buffer.from(prevHashHex, 'hex')).update(canonicalEventBytes(ev)).digest('hex')
}

/**
 * chainHash of an event as the catalog stores it (payload as text). A
 * payload stored in its canonical form (appendEvent stores it so) is used
 * as it is, without parsing and re-canonicalizing: the same bytes, several
 * times faster. Anything else takes the chainHash way. (src/ledger/audit.ts
 * repeats this inside its worker source.)
 */
export function storedChainHash(prevHashHex: string, ev: Omit<EventBody, 'payload'> & { payloadText: string }): string {
  if (ev.payloadText.charCodeAt(0) === 0x7b && isCanonicalJson(ev.payloadText) && /^[0-9a-f]{64}$/.test(prevHashHex)) {
    const text = `{"actor":${JSON.stringify(ev.actor)},"at":${JSON.stringify(ev.at)},"payload":${ev.payloadText},"seq":${ev.seq},"subject":${JSON.stringify(ev.subject)},"type":${JSON.stringify(ev.type)}}`
    return createHash('sha256').update(Buffer.from(prevHashHex, 'hex')).update(text, 'utf8').digest('hex')
  }
  return chainHash(prevHashHex, {
    seq: ev.seq,
    type: ev.type,
    at: ev.at,
    actor: ev.actor,
    subject: ev.subject,
    payload: JSON.parse(ev.payloadText) as Record<string, unknown>,
  })
}
