/**
 * Checkpoints in the Object Lock bucket: each signed note under
 * `<prefix>checkpoints/<tree size, 12 digits>-<root hex>.note`, written once
 * with a COMPLIANCE lock of `ledger.bucketLockDays`. While the lock lasts,
 * nobody on the station (root included, with the station's credentials)
 * can delete or overwrite it: a rewritten or rolled-back ledger still meets
 * its old signed roots here. The key names the size and root, so `verify`
 * reads the listing and fetches only the notes the catalog does not have.
 */
import { anchorFailed, anchorProgress, anchorReached } from '../catalog/anchors.js'
import { listCheckpoints } from '../catalog/checkpoints.js'
import { errorMessage } from '../common/errors.js'
import type { S3Store } from '../offload/s3.js'
import { type AnchorDeps, retryAt, targets } from './deps.js'

export const checkpointKeys = {
  one: (prefix: string, treeSize: number, rootHash: string): string => `${prefix}checkpoints/${String(treeSize).padStart(12, '0')}-${rootHash}.note`,
  all: (prefix: string): string => `${prefix}checkpoints/`,
}

/** Size and root named by a checkpoint key; undefined for another key. */
export function parseCheckpointKey(prefix: string, key: string): { treeSize: number; rootHash: string } | undefined {
  const m = /^([0-9]{12})-([0-9a-f]{64})\.note$/.exec(key.startsWith(checkpointKeys.all(prefix)) ? key.slice(checkpointKeys.all(prefix).length) : '')
  return m ? { treeSize: Number(m[1]), rootHash: m[2]! } : undefined
}

/** Uploads every checkpoint the bucket does not have yet, in order; returns how many. */
export async function uploadCheckpoints(d: AnchorDeps): Promise<number> {
  const b = d.bucket
  if (!b) return 0
  const { db } = d
  const target = targets.bucket(b)
  const done = anchorProgress(db, target)?.checkpointId ?? 0
  const rows = listCheckpoints(db).filter((r) => r.id > done)
  if (rows.length === 0) return 0
  const clock = (): Date => d.now?.() ?? new Date()
  try {
    await b.s3.ensureBucket(b.createBucket)
    for (const r of rows) {
      const now = clock()
      const retainUntil = new Date(now.getTime() + d.settings.bucketLockDays * 86_400_000)
      await b.s3.putText(checkpointKeys.one(b.prefix, r.treeSize, r.rootHash), r.note, 'text/plain; charset=utf-8', { retainUntil, legalHold: false })
      anchorReached(db, target, r, now)
    }
  } catch (err) {
    const p = anchorProgress(db, target)
    const now = clock()
    anchorFailed(db, target, errorMessage(err), retryAt(now, p?.attempts ?? 0, d.settings.anchorSeconds), now)
    d.logger.warn({ event: 'anchor.bucket_failed', bucket: b.s3.bucket, err: errorMessage(err) }, 'checkpoints not uploaded to the bucket: will retry')
    throw err
  }
  d.logger.info({ event: 'anchor.bucket', bucket: b.s3.bucket, uploaded: rows.length, through: rows.at(-1)!.id }, 'checkpoints uploaded to the bucket')
  return rows.length
}

export interface BucketCheckpoint {
  key: string
  treeSize: number
  rootHash: string
  lastModified: string | null
}

/** The checkpoints in the bucket under this station's prefix, from the listing. */
export async function listBucketCheckpoints(b: { s3: S3Store; prefix: string }): Promise<BucketCheckpoint[]> {
  const out: BucketCheckpoint[] = []
  for await (const o of b.s3.list(checkpointKeys.all(b.prefix))) {
    const k = parseCheckpointKey(b.prefix, o.key)
    if (k) out.push({ key: o.key, ...k, lastModified: o.lastModified?.toISOString() ?? null })
  }
  return out
}
