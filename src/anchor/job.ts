/**
 * The anchor job: takes new checkpoints to the bucket (./bucket.ts) and to
 * each witness that has a URL (./witness-client.ts), every
 * `ledger.anchorSeconds` and at once when a checkpoint is signed (kick). A
 * failed anchor waits (anchor_progress.next_attempt_at, doubling) unless a
 * new checkpoint comes. Passes never overlap. The daemon runs it
 * (src/station/daemon.ts); `bodyvault checkpoint` and exports run one pass.
 */
import { anchorProgress } from '../catalog/anchors.js'
import { latestCheckpoint } from '../catalog/checkpoints.js'
import { errorMessage } from '../common/errors.js'
import { uploadCheckpoints } from './bucket.js'
import { type AnchorDeps, targets } from './deps.js'
import { type CosignOutcome, requestCosignature } from './witness-client.js'

export interface AnchorPass {
  checkpoint: { id: number; treeSize: number } | null
  /** Checkpoints uploaded to the bucket (null: no bucket, or not due). */
  bucket: { uploaded: number } | { error: string } | null
  witnesses: CosignOutcome[]
}

const due = (d: AnchorDeps, target: string, now: Date): boolean => {
  const next = anchorProgress(d.db, target)?.nextAttemptAt
  return !next || Date.parse(next) <= now.getTime()
}

/** One pass over every anchor; `force`: ignore the back-off (a new checkpoint, or someone asked). Never throws. */
export async function anchorOnce(d: AnchorDeps, o: { force?: boolean } = {}): Promise<AnchorPass> {
  const now = d.now?.() ?? new Date()
  const cp = d.db.open ? latestCheckpoint(d.db) : undefined
  const pass: AnchorPass = { checkpoint: cp ? { id: cp.id, treeSize: cp.treeSize } : null, bucket: null, witnesses: [] }
  if (!cp) return pass
  const bucketJob =
    d.bucket && (o.force || due(d, targets.bucket(d.bucket), now))
      ? uploadCheckpoints(d).then(
          (uploaded) => (pass.bucket = { uploaded }),
          (err: unknown) => (pass.bucket = { error: errorMessage(err) }),
        )
      : undefined
  const asked = d.peers.filter((p) => p.url && (o.force || due(d, targets.witness(p.name), now)))
  pass.witnesses = await Promise.all(asked.map((p) => requestCosignature(d, p, cp)))
  await bucketJob
  return pass
}

/** Runs anchorOnce every `anchorSeconds`, and at once on kick(); stop() waits for the pass in flight. */
export function startAnchoring(d: AnchorDeps): { kick(): void; runNow(): Promise<AnchorPass | undefined>; stop(): Promise<void> } {
  let stopped = false
  let running: Promise<AnchorPass | undefined> | null = null
  let again = false
  const pass = (force: boolean): Promise<AnchorPass | undefined> => {
    if (running) {
      again ||= force
      return running
    }
    running = anchorOnce(d, { force })
      .catch((err: unknown) => {
        d.logger.error({ event: 'anchor.error', err: errorMessage(err) }, 'anchor pass failed')
        return undefined
      })
      .finally(() => {
        running = null
        if (again && !stopped) {
          again = false
          void pass(true)
        }
      })
    return running
  }
  const timer = setInterval(() => void pass(false), d.settings.anchorSeconds * 1000)
  timer.unref()
  void pass(false)
  return {
    kick: () => void pass(true),
    runNow: () => pass(true),
    stop: async () => {
      stopped = true
      clearInterval(timer)
      while (running) await running
    },
  }
}
