/**
 * The witness protocol's messages, as text and data. Pure.
 *
 * C2SP tlog-witness (https://c2sp.org/tlog-witness) add-checkpoint, under
 * <station URL>/v1/witness:
 *   POST /add-checkpoint   body: "old <size>\n", up to 63 base64 consistency-proof lines,
 *                          an empty line, then the checkpoint note.
 *   200  co-signature lines (text/plain), tlog-cosignature/v1 (src/ledger/cosignature.ts)
 *   409  the witness's co-signed size, "<size>\n" (text/x.tlog.size), when `old` is not it;
 *        or (no body size) the same size with another root
 *   400  malformed, or old > size; 403 no trusted signature; 404 unknown origin;
 *   422  the consistency proof does not verify
 * bodyvault's additions (not in the C2SP protocol):
 *   POST /add-restore      JSON (RestoreRequest): a checkpoint on a branch started by a
 *                          `restored` event, with that event, its inclusion proof in the
 *                          checkpoint, and a consistency proof from the restore point; answers as
 *                          add-checkpoint
 *   GET  /checkpoint?origin=<origin>   the checkpoint this witness co-signed last for that
 *                          origin, with its co-signature (text/plain), 404 when none
 */
import { NoteError } from '../ledger/note.js'

export const SIZE_CONTENT_TYPE = 'text/x.tlog.size'
export const MAX_PROOF_LINES = 63

export interface AddCheckpoint {
  oldSize: number
  proof: Buffer[]
  /** The checkpoint as a signed note. */
  note: string
}

export function formatAddCheckpoint(a: AddCheckpoint): string {
  return `old ${a.oldSize}\n${a.proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${a.note}`
}

const B64_HASH = /^[A-Za-z0-9+/]{43}=$/

/** Parses an add-checkpoint body; throws NoteError (the witness answers 400). */
export function parseAddCheckpoint(body: string): AddCheckpoint {
  const cut = body.indexOf('\n\n')
  if (cut < 0) throw new NoteError('WITNESS_FORMAT', 'no empty line between the old size and proof lines and the checkpoint')
  const head = body.slice(0, cut).split('\n')
  const m = /^old (0|[1-9][0-9]*)$/.exec(head[0] ?? '')
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new NoteError('WITNESS_FORMAT', 'the first line must be "old <size>" (decimal, no leading zeros)')
  const lines = head.slice(1)
  if (lines.length > MAX_PROOF_LINES) throw new NoteError('WITNESS_FORMAT', `more than ${MAX_PROOF_LINES} consistency proof lines`)
  const proof = lines.map((l) => {
    if (!B64_HASH.test(l)) throw new NoteError('WITNESS_FORMAT', 'a consistency proof line is not a base64 SHA-256 hash')
    return Buffer.from(l, 'base64')
  })
  return { oldSize: Number(m[1]), proof, note: body.slice(cut + 2) }
}

/** The 409 body: the witness's co-signed size. */
export function parseSizeBody(body: string): number | undefined {
  const m = /^(0|[1-9][0-9]*)\n$/.exec(body)
  return m && Number.isSafeInteger(Number(m[1])) ? Number(m[1]) : undefined
}

/** POST /add-restore: a checkpoint whose tree holds a `restored` event, and the proofs a witness needs to follow the restore. */
export interface RestoreRequest {
  /** The checkpoint to co-sign (a signed note). */
  checkpoint: string
  /** The size the witness co-signed last for this origin, as add-checkpoint's `old`. */
  oldSize: number
  /** The `restored` event as the ledger hashes it (src/ledger/canonical.ts), with the hash before it. */
  event: { seq: number; type: string; at: string; actor: string; subject: string; payload: Record<string, unknown>; prevHash: string }
  /** Inclusion proof of the event (leaf seq - 1) in the checkpoint's tree, base64 hashes. */
  inclusion: string[]
  /** Consistency proof from the restore point (the statement's `to`) to the checkpoint, base64 hashes. */
  consistency: string[]
}

/** JSON schema of a RestoreRequest (the API validates the body with it). */
export const restoreRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['checkpoint', 'oldSize', 'event', 'inclusion', 'consistency'],
  properties: {
    checkpoint: { type: 'string', minLength: 1, maxLength: 65536 },
    oldSize: { type: 'integer', minimum: 0 },
    event: {
      type: 'object',
      additionalProperties: false,
      required: ['seq', 'type', 'at', 'actor', 'subject', 'payload', 'prevHash'],
      properties: {
        seq: { type: 'integer', minimum: 1 },
        type: { type: 'string', maxLength: 64 },
        at: { type: 'string', maxLength: 64 },
        actor: { type: 'string', maxLength: 300 },
        subject: { type: 'string', maxLength: 300 },
        payload: { type: 'object' },
        prevHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      },
    },
    inclusion: { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' } },
    consistency: { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' } },
  },
} as const
