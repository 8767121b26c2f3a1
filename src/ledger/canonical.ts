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
  return Buffer.from(canonicalText(value), 'utf8')
}

function canonicalText(value: unknown): string {
  const text = canonicalize(value)
  if (text === undefined) throw new TypeError('value cannot be canonicalized (undefined, function or symbol)')
  return text
}

/**
 * The canonical text of an event around its payload's canonical text: the
 * one place the event's byte form is spelled out. Its keys stand in JCS
 * order (actor, at, payload, seq, subject, type); strings are written as
 * JSON.stringify writes them, which is JCS's form. Self-contained (no
 * imports, no outer variables): the parallel audit (audit.ts) hands its
 * source to its worker threads.
 */
export function canonicalEventText(seq: number, type: string, at: string, actor: string, subject: string, payloadText: string): string {
  return `{"actor":${JSON.stringify(actor)},"at":${JSON.stringify(at)},"payload":${payloadText},"seq":${seq},"subject":${JSON.stringify(subject)},"type":${JSON.stringify(type)}}`
}

export function canonicalEventBytes(ev: EventBody): Buffer {
  return Buffer.from(canonicalEventText(ev.seq, ev.type, ev.at, ev.actor, ev.subject, canonicalText(ev.payload)), 'utf8')
}

function checkPrevHash(prevHashHex: string): void {
  if (!/^[0-9a-f]{64}$/.test(prevHashHex)) throw new TypeError(`previous hash must be 64 lower-case hex digits, got ${JSON.stringify(prevHashHex)}`)
}

function hashAfter(prevHashHex: string, text: string | Buffer): string {
  return createHash('sha256').update(Buffer.from(prevHashHex, 'hex')).update(text).digest('hex')
}

export function chainHash(prevHashHex: string, ev: EventBody): string {
  checkPrevHash(prevHashHex)
  return hashAfter(prevHashHex, canonicalEventBytes(ev))
}

/**
 * chainHash of an event as the catalog stores it (payload as text). A
 * payload stored in its canonical form (appendEvent stores it so) is used
 * as it is, without parsing and re-canonicalizing: the same bytes, several
 * times faster. Anything else is parsed and canonicalized first.
 */
export function storedChainHash(prevHashHex: string, ev: Omit<EventBody, 'payload'> & { payloadText: string }): string {
  checkPrevHash(prevHashHex)
  const canonical = ev.payloadText.charCodeAt(0) === 0x7b && isCanonicalJson(ev.payloadText)
  const payloadText = canonical ? ev.payloadText : canonicalText(JSON.parse(ev.payloadText))
  return hashAfter(prevHashHex, canonicalEventText(ev.seq, ev.type, ev.at, ev.actor, ev.subject, payloadText))
}
