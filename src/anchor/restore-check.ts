/**
 * A restore noticed at start. Before the daemon signs anything, it compares
 * the catalog with every checkpoint it can reach outside it (./sources.ts).
 * When some of them are ahead of the ledger and none contradicts it (every
 * one of at most the ledger's size still matches), the catalog is an older
 * copy of this same history, a backup put back: the `restored` event is
 * recorded (src/ledger/restore.ts), naming the newest of them, and a
 * checkpoint signed over it at once, for the witnesses. When one contradicts
 * the ledger, it is not a restore: nothing is recorded, the station log says
 * so, and no checkpoint is signed over it until someone looks (`verify`).
 *
 * A truncated ledger (the newest events deleted) looks like a restore and is
 * recorded as one: it is not silent, which is the point.
 */
import { latestCheckpoint } from '../catalog/checkpoints.js'
import { writeCheckpoint } from '../ledger/checkpoint.js'
import { chainKeys, chainSigners } from '../ledger/checkpoint-check.js'
import type { LedgerEvent } from '../ledger/ledger.js'
import { recordRestore, restoresIn } from '../ledger/restore.js'
import { LedgerTree } from '../ledger/tree.js'
import type { AnchorDeps } from './deps.js'
import { judge, type OutsideCopy } from './reconcile.js'
import { gatherOutside } from './sources.js'

export interface RestoreCheck {
  outcome: 'in-step' | 'restored' | 'diverged'
  /** The `restored` event, when one was recorded. */
  event?: LedgerEvent
  /** The outside checkpoints that are ahead of the ledger, or contradict it. */
  copies: OutsideCopy[]
}

/** Compares the catalog with its anchors and records a restore when it is one (see above). */
export async function checkForRestore(
  d: AnchorDeps,
  o: { detectedBy: 'restore-command' | 'first-start'; reason: string; actor?: string },
): Promise<RestoreCheck> {
  const { db } = d
  const key = d.key()
  const g = await gatherOutside({
    db,
    publicKey: chainSigners(db) ?? key.publicKey,
    origin: key.name,
    bucket: d.bucket,
    peers: d.peers,
    timeoutMs: d.settings.witnessTimeoutSeconds * 1000,
  })
  const tree = LedgerTree.for(db)
  const restores = restoresIn(db, chainKeys(db) ?? key.publicKey)
  const judged = g.copies.map((c) => ({ c, v: judge(tree, restores, c, key.name) }))
  const rewritten = judged.filter((x) => x.v === 'rewritten').map((x) => x.c)
  const ahead = judged.filter((x) => x.v === 'ahead').map((x) => x.c)
  if (rewritten.length > 0) {
    d.logger.error(
      {
        event: 'anchor.diverged',
        where: rewritten.slice(0, 5).map((c) => c.where),
        treeSize: tree.size,
      },
      'the ledger contradicts checkpoints kept outside the catalog: history was rewritten. Nothing is signed over it; run bodyvault verify',
    )
    return { outcome: 'diverged', copies: rewritten }
  }
  if (ahead.length === 0) return { outcome: 'in-step', copies: [] }
  const from = ahead.reduce((a, b) => (b.treeSize > a.treeSize ? b : a))
  const event = recordRestore(
    db,
    key,
    { treeSize: from.treeSize, rootHash: from.rootHash, source: from.where, note: from.note ?? null },
    { detectedBy: o.detectedBy, reason: o.reason, ...(o.actor ? { actor: o.actor } : {}), ...(d.now ? { now: d.now() } : {}) },
  )
  d.logger.warn(
    {
      event: 'anchor.restored',
      from: from.treeSize,
      fromRoot: from.rootHash,
      source: from.where,
      to: tree.size,
      seq: event.seq,
      lastCheckpoint: latestCheckpoint(db)?.id ?? null,
    },
    `the catalog is older than checkpoints kept outside it (${from.where}: ${from.treeSize} events; the ledger has ${tree.size}): recorded as a restore`,
  )
  writeCheckpoint(db, key, { logger: d.logger })
  return { outcome: 'restored', event, copies: ahead }
}
