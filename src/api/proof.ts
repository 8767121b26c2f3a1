import { latestCheckpoint } from '../catalog/checkpoints.js'
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
 */
export interface ProofMaterial {
  checkpoint: { id: number; treeSize: number; note: string; createdAt: string } | null
  keys: { name: string; publicKey: string }[]
  events: { event: LedgerEvent; leafIndex: number | null; proof: string[] | null }[]
}

export function proofMaterial(db: Db, events: readonly LedgerEvent[], checkpointNow?: () => void): ProofMaterial {
  const last = events.reduce((m, e) => Math.max(m, e.seq), 0)
  let cp = latestCheckpoint(db)
  // The page asks about events as they are now: sign one over them when the latest does not cover them yet.
  if (checkpointNow && (!cp || cp.treeSize < last)) {
    checkpointNow()
    cp = latestCheckpoint(db)
  }
  if (!cp) return { checkpoint: null, keys: [], events: events.map((event) => ({ event, leafIndex: null, proof: null })) }
  const tree = LedgerTree.for(db)
  const size = cp.treeSize
  return {
    checkpoint: { id: cp.id, treeSize: size, note: cp.note, createdAt: cp.createdAt },
    keys: (signersAt(readKeyChain(db), size) ?? []).map((k) => ({ name: cp.origin, publicKey: k.toString('base64') })),
    events: events.map((event) =>
      event.seq <= size && size <= tree.size
        ? { event, leafIndex: event.seq - 1, proof: tree.inclusionProof(event.seq, size).map((h) => h.toString('hex')) }
        : { event, leafIndex: null, proof: null },
    ),
  }
}
