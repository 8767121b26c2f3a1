/**
 * `verify`'s checkpoint part: the checkpoints inside the catalog (rows and
 * `checkpoint` events, src/ledger/checkpoint-check.ts), then every copy
 * outside it that can be reached (./sources.ts) reconciled with the ledger
 * (./reconcile.ts), and the anchoring level the latest checkpoint reached.
 */
import { latestCheckpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { errorMessage } from '../common/errors.js'
import { checkpointLogPath, lastLogEntry } from '../ledger/checkpoint-log.js'
import { type CheckpointProblem, checkCheckpoints } from '../ledger/checkpoint.js'
import { type CheckpointSigners, chainKeys, checkpointsInLedger, stationSigners } from '../ledger/checkpoint-check.js'
import { listCheckpoints } from '../catalog/checkpoints.js'
import { restoresIn } from '../ledger/restore.js'
import { LedgerTree } from '../ledger/tree.js'
import type { S3Store } from '../offload/s3.js'
import { reconcileOutside } from './reconcile.js'
import type { WitnessPeer } from './settings.js'
import { type AnchoringReport, gatherOutside } from './sources.js'

export interface AnchorCheck {
  problems: CheckpointProblem[]
  notes: string[]
  anchoring: AnchoringReport | null
}

/**
 * `anchors`: this station's origin, bucket and witnesses (from the station);
 * without it only the log file is compared, under the origin of the
 * catalog's latest checkpoint.
 */
export async function checkAnchors(
  db: Db,
  dataDir: string,
  anchors?: { origin: string; bucket: { s3: S3Store; prefix: string } | null; peers: WitnessPeer[]; timeoutMs: number },
  /** The ledger's tree already built (verify's audit: LedgerTree.fromAudit); built from the event hashes when absent. */
  built?: LedgerTree,
): Promise<AnchorCheck> {
  // A marked vault's checkpoints verify with the key the chain of keys names for their size (the key file is not needed).
  let publicKey: Buffer | CheckpointSigners | undefined
  try {
    publicKey = stationSigners(db, dataDir)
  } catch (err) {
    return { problems: [{ subject: 'station-key', detail: errorMessage(err) }], notes: [], anchoring: null }
  }
  const tree = built ?? LedgerTree.build(db)
  const problems = checkCheckpoints(db, publicKey, tree)
  const path = checkpointLogPath(db)
  const origin = anchors?.origin ?? latestCheckpoint(db)?.origin ?? (path ? lastLogEntry(path)?.origin : undefined)
  if (!origin || !publicKey) return { problems, notes: [], anchoring: null }
  const g = await gatherOutside({
    db,
    publicKey,
    origin,
    bucket: anchors?.bucket ?? null,
    peers: anchors?.peers ?? [],
    timeoutMs: anchors?.timeoutMs ?? 10_000,
  })
  const restoreKeys = typeof publicKey === 'function' ? chainKeys(db) : publicKey
  const all = restoresIn(db, restoreKeys)
  problems.push(...g.problems, ...reconcileOutside(tree, [...listCheckpoints(db), ...checkpointsInLedger(db)], all, g.copies, origin))
  const restores = all.filter((r) => r.statement)
  const notes = [
    ...g.notes,
    ...restores.map(
      (r) =>
        `restored event ${r.seq}: the catalog was rolled back from ${r.statement!.from.treeSize} to ${r.statement!.to.treeSize} events on ${r.statement!.at} (${r.payload.detectedBy}; from ${r.payload.from.source})`,
    ),
  ]
  return { problems, notes, anchoring: g.report }
}
