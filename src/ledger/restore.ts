/**
 * Restores said out loud. Restoring a backup rolls the catalog back: the
 * ledger's newest events (and the checkpoints over them, already in the log
 * file, the bucket and the witnesses) are not in it. The `restored` event
 * says so in the ledger itself, naming the newest checkpoint known outside
 * the catalog (`from`) and the state the catalog went back to (`to`), in a
 * statement signed by the station key:
 *
 *   bodyvault-restore/1
 *   <origin>                         the station key name, "bodyvault/<id>"
 *   from <size> <base64 root>        the checkpoint it rolls back from
 *   to <size> <base64 root>          the catalog's tree as restored
 *   at <ISO time>                    when the restore was recorded
 *
 *   — <origin> <signature>
 *
 * Witnesses accept the new branch only with this event in it (src/anchor/
 * witness.ts), and `verify` accepts an outside checkpoint that the catalog
 * no longer has only when it is older than such a statement and within its
 * from..to range (src/anchor/reconcile.ts). Anything else that rolls back is
 * a problem.
 */
import { latestCheckpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import { actors, subjects, type EventPayload, type RestorePoint } from './events.js'
import type { StationKey } from './keys.js'
import { appendEvent, storedEventsOfType, type LedgerEvent } from './ledger.js'
import { findValidSignature, formatSignedNote, NoteError, parseSignedNote } from './note.js'
import { LedgerTree } from './tree.js'

const FORMAT = 'bodyvault-restore/1'

export interface RestoreStatement {
  origin: string
  from: RestorePoint
  to: RestorePoint
  /** ISO time. */
  at: string
}

const point = (p: RestorePoint): string => `${p.treeSize} ${Buffer.from(p.rootHash, 'hex').toString('base64')}`

export function restoreStatementText(s: RestoreStatement): string {
  return `${FORMAT}\n${s.origin}\nfrom ${point(s.from)}\nto ${point(s.to)}\nat ${s.at}\n`
}

/** Parses a statement note's text; throws NoteError when it is not one. */
export function parseRestoreStatement(text: string): RestoreStatement {
  const m = /^bodyvault-restore\/1\n([^\n]+)\nfrom (0|[1-9][0-9]*) ([A-Za-z0-9+/]{43}=)\nto (0|[1-9][0-9]*) ([A-Za-z0-9+/]{43}=)\nat ([0-9T:.Z-]+)\n$/.exec(
    text,
  )
  if (!m || Number.isNaN(Date.parse(m[6]!))) throw new NoteError('RESTORE_FORMAT', 'not a bodyvault-restore/1 statement')
  const hex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex')
  return {
    origin: m[1]!,
    from: { treeSize: Number(m[2]), rootHash: hex(m[3]!) },
    to: { treeSize: Number(m[4]), rootHash: hex(m[5]!) },
    at: m[6]!,
  }
}

/** The statement of a `restored` event, if its note is signed by `publicKey` (or one of them: the chain of keys); undefined otherwise. */
export function verifiedRestoreStatement(statementNote: string, publicKey: Uint8Array | readonly Uint8Array[]): RestoreStatement | undefined {
  try {
    const note = parseSignedNote(statementNote)
    const keys = publicKey instanceof Uint8Array ? [publicKey] : publicKey
    if (!keys.some((k) => findValidSignature(note, k))) return undefined
    return parseRestoreStatement(note.text)
  } catch {
    return undefined
  }
}

export interface RestoreFrom extends RestorePoint {
  /** Where that checkpoint was found: "log", "bucket", "witness:<name>", or what the caller knows. */
  source: string
  /** Its signed note, when known. */
  note: string | null
}

/**
 * Appends the `restored` event: the catalog (as it is now: the `to` state,
 * which must be its whole tree when given) was rolled back from `from`.
 * The caller decides that it was a restore (`bodyvault restore`, or the
 * first start that found the anchors ahead: src/anchor/restore-check.ts);
 * sign a checkpoint right after, so that witnesses see the event.
 */
export function recordRestore(
  db: Db,
  key: StationKey,
  from: RestoreFrom,
  o: { to?: RestorePoint; detectedBy: 'restore-command' | 'first-start'; reason: string; actor?: string; now?: Date },
): LedgerEvent {
  return db
    .transaction((): LedgerEvent => {
      const tree = LedgerTree.for(db)
      const to: RestorePoint = { treeSize: tree.size, rootHash: tree.root().toString('hex') }
      if (o.to && (o.to.treeSize !== to.treeSize || o.to.rootHash !== to.rootHash))
        throw new BodyvaultError(
          'LEDGER_INCONSISTENT',
          `the catalog's ledger has ${to.treeSize} events with root ${to.rootHash.slice(0, 16)}…, not the restore point given (${o.to.treeSize}, ${o.to.rootHash.slice(0, 16)}…)`,
        )
      const at = (o.now ?? new Date()).toISOString()
      const text = restoreStatementText({ origin: key.name, from, to, at })
      const statement = formatSignedNote(text, [{ name: key.name, keyId: key.keyId, signature: key.sign(Buffer.from(text, 'utf8')) }])
      const latest = latestCheckpoint(db)
      const payload: EventPayload<'restored'> = {
        from: { treeSize: from.treeSize, rootHash: from.rootHash, source: from.source, note: from.note },
        to: { ...to, checkpointId: latest && latest.treeSize <= to.treeSize ? latest.id : null },
        statement,
        detectedBy: o.detectedBy,
        reason: o.reason,
      }
      const stationId = key.name.replace(/^bodyvault\//, '')
      return appendEvent(db, { type: 'restored', actor: o.actor ?? actors.station(stationId), subject: subjects.station(stationId), payload, at: new Date(at) })
    })
    .immediate()
}

/** A `restored` event of the ledger, with its statement when the station key signed it. */
export interface RestoreRecord {
  seq: number
  payload: EventPayload<'restored'>
  /** undefined: the statement is not signed by the station key (a forged or altered event). */
  statement: RestoreStatement | undefined
}

/** Every `restored` event in the ledger, in order, each with its verified statement. */
export function restoresIn(db: Db, publicKey: Uint8Array | readonly Uint8Array[] | undefined): RestoreRecord[] {
  const out: RestoreRecord[] = []
  for (const r of storedEventsOfType(db, ['restored'])) {
    let payload: EventPayload<'restored'>
    try {
      payload = JSON.parse(r.payload) as EventPayload<'restored'>
    } catch {
      continue // verify's chain walk reports a payload that is not JSON
    }
    const statement = publicKey && typeof payload.statement === 'string' ? verifiedRestoreStatement(payload.statement, publicKey) : undefined
    out.push({ seq: r.seq, payload, statement })
  }
  return out
}

/**
 * Whether a checkpoint of `treeSize` events, seen outside the catalog at
 * `seenAt`, belongs to the history a restore rolled back from: it is within
 * the statement's to..from sizes and older than the statement.
 */
export function rolledBackBy(restores: readonly RestoreRecord[], treeSize: number, seenAt: string | null): RestoreRecord | undefined {
  if (seenAt === null) return undefined
  const seen = Date.parse(seenAt)
  return restores.find((r) => r.statement && r.statement.to.treeSize <= treeSize && treeSize <= r.statement.from.treeSize && seen <= Date.parse(r.statement.at))
}
