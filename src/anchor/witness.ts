/**
 * The witness: this station co-signing other stations' checkpoints (./protocol.ts
 * says the messages; src/api/witness.ts serves them). For each origin
 * it witnesses (a station in the `witnesses` config) it keeps one record, the
 * latest checkpoint it co-signed (table witnessed_logs), and co-signs a new
 * checkpoint only when a consistency proof from that one verifies; the check
 * and the update are one SQLite write transaction, so two requests cannot
 * both pass against the same old size (the race tlog-witness warns about).
 *
 * A checkpoint that contradicts what was co-signed (another root at the same
 * size, a proof that does not verify, a smaller tree) is refused and the
 * refusal recorded as a `witness-refused` ledger event (once per refused
 * checkpoint, however often it is retried). A branch started by a `restored`
 * event is accepted through add-restore only: the event must be in the new
 * checkpoint's tree, its statement signed by that station's key, its
 * "from" at or past what was co-signed, and the new checkpoint an extension
 * of its "to" (`witness-restore-accepted`).
 */
import { setWitnessedLog, setWitnessRefused, witnessedLog } from '../catalog/anchors.js'
import type { Db } from '../catalog/db.js'
import { errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { chainHash } from '../ledger/canonical.js'
import { cosign, signatureLine } from '../ledger/cosignature.js'
import { subjects } from '../ledger/events.js'
import type { StationKey } from '../ledger/keys.js'
import { appendEvent } from '../ledger/ledger.js'
import { leafHash } from '../ledger/merkle.js'
import { verifyConsistency, verifyInclusion } from '../ledger/merkle-proofs.js'
import { type CheckpointBody, findValidSignature, formatSignedNote, NoteError, parseCheckpointBody, parseSignedNote, type SignedNote } from '../ledger/note.js'
import { verifiedRestoreStatement } from '../ledger/restore.js'
import { type AddCheckpoint, parseAddCheckpoint, type RestoreRequest, SIZE_CONTENT_TYPE } from './protocol.js'
import type { WitnessPeer } from './settings.js'

export interface WitnessReply {
  status: number
  type: string
  body: string
}

const text = (status: number, body: string): WitnessReply => ({ status, type: 'text/plain; charset=utf-8', body: body.endsWith('\n') ? body : `${body}\n` })

interface Submitted {
  peer: WitnessPeer
  note: SignedNote
  cp: CheckpointBody
  rootHex: string
}

export interface WitnessDeps {
  db: Db
  /** This station's key: it co-signs with it. */
  key: StationKey
  /** The stations it witnesses. */
  peers: WitnessPeer[]
  /** The ledger actor of its refusals and accepted restores. */
  actor: string
  logger: Logger
  now?: () => Date
}

export class Witness {
  constructor(private readonly d: WitnessDeps) {}

  private now(): Date {
    return this.d.now?.() ?? new Date()
  }

  /** The submitted note: its origin known (else 404) and signed by that station's key (else 403). */
  private submitted(noteText: string): Submitted | WitnessReply {
    let note: SignedNote
    let cp: CheckpointBody
    try {
      note = parseSignedNote(noteText)
      cp = parseCheckpointBody(note.text)
    } catch (err) {
      return text(400, `not a checkpoint: ${errorMessage(err)}`)
    }
    const peer = this.d.peers.find((p) => p.name === cp.origin)
    if (!peer) return text(404, `unknown origin ${cp.origin}: this station does not witness it`)
    if (!findValidSignature(note, peer.publicKey, peer.name)) return text(403, `the checkpoint is not signed by the key configured for ${cp.origin}`)
    return { peer, note, cp, rootHex: cp.rootHash.toString('hex') }
  }

  /** Co-signs, records the co-signed checkpoint (inside the caller's transaction) and answers 200. */
  private cosign(s: Submitted): WitnessReply {
    const now = this.now()
    const line = cosign(s.note.text, this.d.key, Math.floor(now.getTime() / 1000))
    const own = s.note.signatures.filter((x) => x.name === s.peer.name)
    setWitnessedLog(this.d.db, { origin: s.cp.origin, treeSize: s.cp.treeSize, rootHash: s.rootHex, note: formatSignedNote(s.note.text, [...own, line]) }, now)
    this.d.logger.info({ event: 'witness.cosigned', origin: s.cp.origin, treeSize: s.cp.treeSize, rootHash: s.rootHex }, 'co-signed a checkpoint')
    return { status: 200, type: 'text/plain; charset=utf-8', body: signatureLine(line) }
  }

  /** Refuses, and records the refusal once per refused checkpoint (inside the caller's transaction). */
  private refuse(s: Submitted, oldSize: number, status: number, reason: string): WitnessReply {
    const { db } = this.d
    const stored = witnessedLog(db, s.cp.origin)
    if (!(stored && stored.refusedSize === s.cp.treeSize && stored.refusedRoot === s.rootHex)) {
      appendEvent(db, {
        type: 'witness-refused',
        actor: this.d.actor,
        subject: subjects.log(s.cp.origin),
        payload: {
          origin: s.cp.origin,
          treeSize: s.cp.treeSize,
          rootHash: s.rootHex,
          oldSize,
          cosignedSize: stored?.treeSize ?? 0,
          cosignedRoot: stored?.rootHash ?? null,
          status,
          reason,
          note: formatSignedNote(
            s.note.text,
            s.note.signatures.filter((x) => x.name === s.peer.name),
          ),
        },
      })
      setWitnessRefused(db, s.cp.origin, s.cp.treeSize, s.rootHex, this.now())
    }
    this.d.logger.warn(
      { event: 'witness.refused', origin: s.cp.origin, treeSize: s.cp.treeSize, rootHash: s.rootHex, cosignedSize: stored?.treeSize ?? 0, status, reason },
      'refused to co-sign a checkpoint',
    )
    return text(status, reason)
  }

  /** POST add-checkpoint. */
  addCheckpoint(body: string): WitnessReply {
    let req: AddCheckpoint
    try {
      req = parseAddCheckpoint(body)
    } catch (err) {
      return text(400, err instanceof NoteError ? err.message : errorMessage(err))
    }
    const s = this.submitted(req.note)
    if ('status' in s) return s
    if (req.oldSize === 0 && req.proof.length > 0) return text(400, 'the consistency proof must be empty when old is 0')
    return this.d.db
      .transaction((): WitnessReply => {
        const stored = witnessedLog(this.d.db, s.cp.origin)
        const storedSize = stored?.treeSize ?? 0
        if (req.oldSize !== storedSize) return { status: 409, type: SIZE_CONTENT_TYPE, body: `${storedSize}\n` }
        if (req.oldSize > s.cp.treeSize)
          return this.refuse(
            s,
            req.oldSize,
            400,
            `the checkpoint has ${s.cp.treeSize} events but this witness co-signed ${storedSize} for ${s.cp.origin}: the log went back (a restore needs its restored event: add-restore)`,
          )
        if (stored && req.oldSize > 0) {
          const storedRoot = Buffer.from(stored.rootHash, 'hex')
          if (req.oldSize === s.cp.treeSize) {
            if (!storedRoot.equals(s.cp.rootHash))
              return this.refuse(s, req.oldSize, 409, `another root at the co-signed size ${storedSize} of ${s.cp.origin}: its history was rewritten`)
          } else if (!verifyConsistency(req.oldSize, s.cp.treeSize, req.proof, storedRoot, s.cp.rootHash)) {
            return this.refuse(
              s,
              req.oldSize,
              422,
              `the consistency proof from the co-signed ${storedSize} events to ${s.cp.treeSize} does not verify: ${s.cp.origin}'s history was rewritten`,
            )
          }
        }
        return this.cosign(s)
      })
      .immediate()
  }

  /** POST add-restore (bodyvault's addition): a checkpoint on the branch a `restored` event started. */
  addRestore(req: RestoreRequest): WitnessReply {
    const s = this.submitted(req.checkpoint)
    if ('status' in s) return s
    const b64 = (xs: string[]): Buffer[] => xs.map((x) => Buffer.from(x, 'base64'))
    let leaf: Buffer
    try {
      const { prevHash, ...body } = req.event
      leaf = leafHash(Buffer.from(chainHash(prevHash, body), 'hex'))
    } catch (err) {
      return text(400, `the event cannot be hashed: ${errorMessage(err)}`)
    }
    return this.d.db
      .transaction((): WitnessReply => {
        const stored = witnessedLog(this.d.db, s.cp.origin)
        const storedSize = stored?.treeSize ?? 0
        if (req.oldSize !== storedSize) return { status: 409, type: SIZE_CONTENT_TYPE, body: `${storedSize}\n` }
        const refuse = (why: string): WitnessReply => this.refuse(s, req.oldSize, 422, `${why}: the restore of ${s.cp.origin} is not accepted`)
        if (req.event.type !== 'restored') return refuse(`event ${req.event.seq} is a ${req.event.type} event, not restored`)
        if (req.event.seq > s.cp.treeSize || !verifyInclusion(req.event.seq - 1, s.cp.treeSize, leaf, b64(req.inclusion), s.cp.rootHash))
          return refuse(`the restored event ${req.event.seq} is not in the checkpoint's tree of ${s.cp.treeSize} events`)
        const note = req.event.payload.statement
        const st = typeof note === 'string' ? verifiedRestoreStatement(note, s.peer.publicKey) : undefined
        if (!st || st.origin !== s.cp.origin) return refuse(`the restored event's statement is not signed by the key configured for ${s.cp.origin}`)
        if (stored && (st.from.treeSize < storedSize || (st.from.treeSize === storedSize && st.from.rootHash !== stored.rootHash)))
          return refuse(`it rolls back from ${st.from.treeSize} events, but this witness co-signed ${storedSize} (root ${stored.rootHash.slice(0, 16)}…)`)
        if (req.event.seq <= st.to.treeSize) return refuse(`the restored event ${req.event.seq} is not after the restore point ${st.to.treeSize}`)
        const toRoot = Buffer.from(st.to.rootHash, 'hex')
        if (st.to.treeSize > 0 && !verifyConsistency(st.to.treeSize, s.cp.treeSize, b64(req.consistency), toRoot, s.cp.rootHash))
          return refuse(`the checkpoint does not extend the restore point (${st.to.treeSize} events)`)
        appendEvent(this.d.db, {
          type: 'witness-restore-accepted',
          actor: this.d.actor,
          subject: subjects.log(s.cp.origin),
          payload: {
            origin: s.cp.origin,
            restoredSeq: req.event.seq,
            from: st.from,
            to: st.to,
            cosignedSize: storedSize,
            cosignedRoot: stored?.rootHash ?? null,
            treeSize: s.cp.treeSize,
            rootHash: s.rootHex,
          },
        })
        this.d.logger.warn(
          { event: 'witness.restore_accepted', origin: s.cp.origin, from: st.from.treeSize, to: st.to.treeSize, treeSize: s.cp.treeSize },
          'accepted a restored branch of a witnessed log',
        )
        return this.cosign(s)
      })
      .immediate()
  }

  /** GET checkpoint?origin=: the checkpoint co-signed last for `origin`, with this witness's co-signature. */
  latest(origin: string): WitnessReply {
    const w = witnessedLog(this.d.db, origin)
    return w ? { status: 200, type: 'text/plain; charset=utf-8', body: w.note } : text(404, `this witness has co-signed no checkpoint of ${origin}`)
  }
}
