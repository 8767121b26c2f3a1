/**
 * Asking witnesses to co-sign this station's checkpoints (./protocol.ts has
 * the messages). Only the latest checkpoint is sent, with a consistency
 * proof from the size the witness co-signed last (remembered in
 * anchor_progress; a 409 tells the real one, and the request is made again
 * once). A witness that refuses (history rewritten, or rolled back) gets,
 * when the ledger holds a `restored` event after which this checkpoint was
 * signed, the add-restore request with that event and its proofs; anything
 * else stays refused, logged, and shows in `verify`.
 */
import { addCosignature, anchorFailed, anchorProgress, anchorReached } from '../catalog/anchors.js'
import type { Checkpoint } from '../catalog/checkpoints.js'
import { errorMessage } from '../common/errors.js'
import { cosignatureLine, findCosignature, signatureLine } from '../ledger/cosignature.js'
import { eventAt } from '../ledger/ledger.js'
import { parseCheckpointBody, parseSignedNote } from '../ledger/note.js'
import { chainKeys } from '../ledger/checkpoint-check.js'
import { restoresIn } from '../ledger/restore.js'
import { LedgerTree } from '../ledger/tree.js'
import { type AnchorDeps, retryAt, targets } from './deps.js'
import { formatAddCheckpoint, parseSizeBody, type RestoreRequest, SIZE_CONTENT_TYPE } from './protocol.js'
import type { WitnessPeer } from './settings.js'

export interface CosignOutcome {
  witness: string
  ok: boolean
  /** The witness refused the checkpoint (as opposed to being unreachable). */
  refused?: boolean
  /** It was accepted through add-restore. */
  restore?: boolean
  error?: string
}

interface Answer {
  status: number
  type: string
  body: string
}

async function post(url: string, body: string, contentType: string, timeoutMs: number): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': contentType }, signal: AbortSignal.timeout(timeoutMs) })
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
}

/** The checkpoint a witness co-signed last for `origin` (with its co-signature), or undefined when it has none. */
export async function fetchWitnessed(peer: WitnessPeer, origin: string, timeoutMs: number): Promise<string | undefined> {
  if (!peer.url) return undefined
  const res = await fetch(`${peer.url}/v1/witness/checkpoint?origin=${encodeURIComponent(origin)}`, { signal: AbortSignal.timeout(timeoutMs) })
  const body = await res.text()
  if (res.status === 404) return undefined
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body.trim().slice(0, 200)}`)
  return body
}

/** The root of what the witness co-signed last for `origin`, when it says and it has `size` events; null when unknown. */
async function witnessRoot(peer: WitnessPeer, origin: string, size: number, timeoutMs: number): Promise<string | null> {
  try {
    const note = await fetchWitnessed(peer, origin, timeoutMs)
    const body = note ? parseCheckpointBody(parseSignedNote(note).text) : undefined
    return body && body.treeSize === size ? body.rootHash.toString('hex') : null
  } catch {
    return null
  }
}

/** Asks one witness to co-sign `cp` (the latest checkpoint); stores its co-signature and how far it got. Never throws. */
export async function requestCosignature(d: AnchorDeps, peer: WitnessPeer, cp: Checkpoint): Promise<CosignOutcome> {
  const { db } = d
  const target = targets.witness(peer.name)
  const clock = (): Date => d.now?.() ?? new Date()
  const progress = anchorProgress(db, target)
  if (progress?.checkpointId === cp.id && progress.rootHash === cp.rootHash) return { witness: peer.name, ok: true }
  const base = `${peer.url}/v1/witness`
  const timeoutMs = d.settings.witnessTimeoutSeconds * 1000
  const fail = (error: string, refused: boolean): CosignOutcome => {
    const now = clock()
    anchorFailed(db, target, error, retryAt(now, anchorProgress(db, target)?.attempts ?? 0, d.settings.anchorSeconds), now)
    d.logger[refused ? 'error' : 'warn'](
      { event: refused ? 'anchor.witness_refused' : 'anchor.witness_failed', witness: peer.name, checkpoint: cp.id, treeSize: cp.treeSize, err: error },
      refused ? 'a witness refused to co-sign the checkpoint' : 'a witness could not be reached: will retry',
    )
    return { witness: peer.name, ok: false, refused, error }
  }
  const accepted = (a: Answer, restore: boolean): CosignOutcome => {
    let cosig: ReturnType<typeof findCosignature>
    try {
      cosig = findCosignature(parseSignedNote(cp.note + a.body), peer.publicKey, peer.name)
    } catch {
      cosig = undefined
    }
    if (!cosig) return fail(`the witness answered 200 without a valid co-signature by ${peer.vkey}`, false)
    const now = clock()
    db.transaction(() => {
      addCosignature(db, {
        checkpointId: cp.id,
        witness: cosig.name,
        keyId: cosig.keyId.toString('hex'),
        timestamp: cosig.timestamp,
        line: signatureLine(cosignatureLine(cosig)).trimEnd(),
        receivedAt: now.toISOString(),
      })
      anchorReached(db, target, cp, now)
    }).immediate()
    d.logger.info({ event: 'anchor.cosigned', witness: peer.name, checkpoint: cp.id, treeSize: cp.treeSize, restore }, 'a witness co-signed the checkpoint')
    return { witness: peer.name, ok: true, ...(restore ? { restore } : {}) }
  }
  try {
    const tree = LedgerTree.for(db)
    if (cp.treeSize > tree.size) return fail(`checkpoint ${cp.id} covers ${cp.treeSize} events but the ledger has ${tree.size}`, false)
    const restoreRequest = async (old: number): Promise<CosignOutcome | undefined> => {
      const key = d.key()
      const r = restoresIn(db, chainKeys(db) ?? key.publicKey)
        .filter((x) => x.statement && x.seq <= cp.treeSize)
        .at(-1)
      const ev = r ? eventAt(db, r.seq) : undefined
      if (!r?.statement || !ev) return undefined
      const to = r.statement.to.treeSize
      const req: RestoreRequest = {
        checkpoint: cp.note,
        oldSize: old,
        event: { seq: ev.seq, type: ev.type, at: ev.at, actor: ev.actor, subject: ev.subject, payload: ev.payload, prevHash: ev.prevHash },
        inclusion: tree.inclusionProof(ev.seq, cp.treeSize).map((h) => h.toString('base64')),
        consistency: to > 0 && to < cp.treeSize ? tree.consistencyProof(to, cp.treeSize).map((h) => h.toString('base64')) : [],
      }
      let a = await post(`${base}/add-restore`, JSON.stringify(req), 'application/json', timeoutMs)
      const size = a.status === 409 && a.type.startsWith(SIZE_CONTENT_TYPE) ? parseSizeBody(a.body) : undefined
      if (size !== undefined) a = await post(`${base}/add-restore`, JSON.stringify({ ...req, oldSize: size }), 'application/json', timeoutMs)
      if (a.status === 200) return accepted(a, true)
      return fail(`refused the restored branch (HTTP ${a.status}): ${a.body.trim().slice(0, 300)}`, true)
    }
    // The witness's co-signed size and root, as remembered (a 409 corrects the size; its own answer, the root).
    let old = progress?.treeSize ?? 0
    let oldRoot = progress?.rootHash ?? null
    const consistent = (): boolean => old === 0 || (old <= cp.treeSize && (oldRoot === null || tree.rootAt(old).toString('hex') === oldRoot))
    for (let round = 0; round < 2; round++) {
      // What the witness holds is not in this ledger: a restore explains that (add-restore); else the
      // checkpoint goes as it is, and the witness refuses it and records the refusal.
      if (!consistent()) {
        const r = await restoreRequest(old)
        if (r) return r
      }
      const proof = old > 0 && old < cp.treeSize ? tree.consistencyProof(old, cp.treeSize) : []
      const a = await post(`${base}/add-checkpoint`, formatAddCheckpoint({ oldSize: old, proof, note: cp.note }), 'text/plain; charset=utf-8', timeoutMs)
      if (a.status === 200) return accepted(a, false)
      const size = a.status === 409 && a.type.startsWith(SIZE_CONTENT_TYPE) ? parseSizeBody(a.body) : undefined
      if (size !== undefined && round === 0) {
        old = size
        oldRoot = await witnessRoot(peer, cp.origin, size, timeoutMs)
        continue
      }
      if (a.status === 409 || a.status === 422 || a.status === 400)
        return (
          (consistent() ? await restoreRequest(old) : undefined) ??
          fail(
            `refused checkpoint ${cp.id} (HTTP ${a.status}): ${a.body.trim().slice(0, 300)}${old > cp.treeSize ? ` (it co-signed ${old} events; this checkpoint has ${cp.treeSize}: the ledger was rolled back without a restored event)` : ''}`,
            true,
          )
        )
      return fail(`HTTP ${a.status}: ${a.body.trim().slice(0, 300)}`, a.status === 403 || a.status === 404)
    }
    return fail('the witness kept changing its co-signed size', false)
  } catch (err) {
    return fail(errorMessage(err), false)
  }
}
