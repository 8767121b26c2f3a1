import { cosignaturesOf } from '../catalog/anchors.js'
import { latestCheckpoint, latestCosignedCheckpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { readKeyChain, signersAt } from '../ledger/key-chain.js'
import type { LedgerEvent } from '../ledger/ledger.js'
import { LedgerTree } from '../ledger/tree.js'

/**
 * The proof material of some ledger events, for a checker that trusts none
 * of the station's conclusions (the clerks' page checks it in the browser,
 * web/src/clerks/proof.ts): each event whole (so its chain hash can be
 * recomputed from its canonical bytes), its RFC 6962 inclusion proof in
 * the tree of the latest signed checkpoint, that checkpoint's signed note
 * (C2SP), and the public keys the chain of keys says may have signed a
 * checkpoint of that size. An event newer than the checkpoint has no
 * proof yet (`proof: null`). Hashes in hex, keys in base64.
 *
 * `witnesses`: the witnesses' co-signatures of that checkpoint (C2SP
 * tlog-cosignature lines, as received), each beside the key this station's
 * config names for that witness (null: a co-signer it does not know), and
 * each configured witness that has not co-signed it (line null). The
 * browser checks each line itself; the fingerprints are what to compare
 * with each witness station's `bodyvault key show`.
 */
export interface ProofMaterial {
  checkpoint: { id: number; treeSize: number; note: string; createdAt: string } | null
  keys: { name: string; publicKey: string }[]
  witnesses: { name: string; publicKey: string | null; line: string | null }[]
  events: { event: LedgerEvent; leafIndex: number | null; proof: string[] | null }[]
}

/** A witness station's key as the config names it (src/anchor/settings.ts: the vkey's name and its 32 bytes). */
export interface WitnessKey {
  name: string
  publicKey: Uint8Array
}

export function proofMaterial(db: Db, events: readonly LedgerEvent[], checkpointNow?: () => void, witnessKeys: readonly WitnessKey[] = []): ProofMaterial {
  const last = events.reduce((m, e) => Math.max(m, e.seq), 0)
  let cp = latestCheckpoint(db)
  // The page asks about events as they are now: sign one over them when the latest does not cover them yet.
  if (checkpointNow && (!cp || cp.treeSize < last)) {
    checkpointNow()
    cp = latestCheckpoint(db)
  }
  // A checkpoint the witnesses co-signed that covers every event proves more than a newer one they have not seen yet.
  if (cp && cosignaturesOf(db, cp.id).length === 0) cp = latestCosignedCheckpoint(db, last) ?? cp
  if (!cp) return { checkpoint: null, keys: [], witnesses: [], events: events.map((event) => ({ event, leafIndex: null, proof: null })) }
  const cosigned = cosignaturesOf(db, cp.id)
  const b64 = (k: Uint8Array): string => Buffer.from(k).toString('base64')
  const keyOf = (name: string): string | null => {
    const k = witnessKeys.find((w) => w.name === name)
    return k ? b64(k.publicKey) : null
  }
  const tree = LedgerTree.for(db)
  const size = cp.treeSize
  return {
    checkpoint: { id: cp.id, treeSize: size, note: cp.note, createdAt: cp.createdAt },
    keys: (signersAt(readKeyChain(db), size) ?? []).map((k) => ({ name: cp.origin, publicKey: k.toString('base64') })),
    witnesses: [
      ...cosigned.map((c) => ({ name: c.witness, publicKey: keyOf(c.witness), line: c.line })),
      ...witnessKeys.filter((w) => !cosigned.some((c) => c.witness === w.name)).map((w) => ({ name: w.name, publicKey: b64(w.publicKey), line: null })),
    ],
    events: events.map((event) =>
      event.seq <= size && size <= tree.size
        ? { event, leafIndex: event.seq - 1, proof: tree.inclusionProof(event.seq, size).map((h) => h.toString('hex')) }
        : { event, leafIndex: null, proof: null },
    ),
  }
}
