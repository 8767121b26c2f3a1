import { createHash } from 'node:crypto'
import { constants as C } from 'node:fs'
import { open, rm, stat } from 'node:fs/promises'
import type { Db } from '../catalog/db.js'
import { recordObjectHashed } from '../catalog/fixity.js'
import { markFetchedBack, verifiedCopy } from '../catalog/remote-copies.js'
import { BodyvaultError, errnoCode } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import type { Vault } from '../vault/store.js'
import type { S3Store } from './s3.js'

export interface OpenedObject {
  /** A local file holding exactly the object's bytes (read-only, mode 0444). */
  path: string
  size: number
  /** True when it had been evicted and was just fetched back from S3 (and re-verified). */
  fetched: boolean
}

/** What opening an object needs; `actor` and `reason` name who fetched an evicted one back, and why, in its `fetched-back` event. */
export interface OpenObjectDeps {
  db: Db
  vault: Vault
  s3: S3Store | null
  logger: Logger
  now?: () => Date
  /** The ledger actor of the `fetched-back` event; without one, no event is written (the callers in src/ all pass one). */
  actor?: string
  /** What needed the bytes ("read", "restore-object", "reindex --fetch", ...). Default "read". */
  reason?: string
}

const inflight = new Map<string, Promise<OpenedObject>>()

/**
 * Opens a vault object for reading, wherever it is: the local file when it
 * is there, else the verified remote copy, fetched back into the local
 * cache, hashed on the way and committed only when the SHA-256 matches,
 * with a `fetched-back` event in the transaction that marks it cached.
 * The API streams (and serves ranges) from the returned path. Concurrent
 * calls for the same object share one download.
 */
export async function openObject(d: OpenObjectDeps, sha256: string): Promise<OpenedObject> {
  const path = d.vault.objectPath(sha256)
  try {
    const s = await stat(path)
    return { path, size: s.size, fetched: false }
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err
  }
  const pending = inflight.get(sha256)
  if (pending) return pending
  const p = fetchBack(d, sha256).finally(() => inflight.delete(sha256))
  inflight.set(sha256, p)
  return p
}

async function fetchBack(d: OpenObjectDeps, sha256: string): Promise<OpenedObject> {
  const row = verifiedCopy(d.db, sha256)
  if (!row) throw new BodyvaultError('OBJECT_MISSING', `object ${sha256} is not in the local vault and has no verified remote copy: run bodyvault verify`, 3)
  if (!d.s3)
    throw new BodyvaultError(
      'OFFLOAD_DISABLED',
      `object ${sha256} was evicted to S3 but offload is not configured: configure the offload section (and BODYVAULT_S3_ACCESS_KEY / _SECRET_KEY) to fetch it back`,
      3,
    )
  const staging = d.vault.stagingPath()
  const h = createHash('sha256')
  let size = 0
  const body = await d.s3.getStream(row.key, row.versionId)
  const fh = await open(staging, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600)
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer
      h.update(b)
      size += b.length
      let off = 0
      while (off < b.length) off += (await fh.write(b, off, b.length - off)).bytesWritten
    }
    await fh.sync()
  } catch (err) {
    await fh.close().catch(() => undefined)
    await rm(staging, { force: true })
    throw err
  }
  await fh.close()
  const got = h.digest('hex')
  if (got !== sha256 || size !== row.size) {
    await rm(staging, { force: true })
    throw new BodyvaultError(
      'REMOTE_CORRUPT',
      `the remote copy ${row.key} (version ${row.versionId}) hashes to ${got} (${size} bytes), not ${sha256}: not used; run bodyvault verify and check the bucket`,
      3,
    )
  }
  await d.vault.commitObject(staging, sha256)
  const at = d.now?.() ?? new Date()
  const reason = d.reason ?? 'read'
  d.db
    .transaction(() => {
      if (d.actor)
        appendEvent(d.db, {
          type: 'fetched-back',
          actor: d.actor,
          subject: subjects.object(sha256),
          at,
          payload: { sha256, size, key: row.key, versionId: row.versionId, reason },
        })
      markFetchedBack(d.db, sha256, at.toISOString())
      // Every byte was just hashed and matched: a check (a rebuild reads it back from the fetched-back event).
      recordObjectHashed(d.db, { sha256, size, at: at.toISOString() })
    })
    .immediate()
  d.logger.info({ event: 'offload.fetched', sha256, size, reason }, 'evicted object fetched back from S3')
  return { path: d.vault.objectPath(sha256), size, fetched: true }
}

/**
 * A local copy found in the data dir of a rebuilt catalog and found to be
 * the recorded bytes (the caller hashed it whole, or repaired it): on the
 * record as local again, its `local-copy-confirmed` event in the
 * transaction that marks it cached. Until then the rebuilt catalog and the
 * ledger (`catalog-rebuilt`) say it was evicted: nothing would check it,
 * and verify would accept its loss.
 */
export function confirmLocalCopy(d: Pick<OpenObjectDeps, 'db' | 'now'> & { actor: string; reason: string }, sha256: string, size: number): void {
  const at = d.now?.() ?? new Date()
  d.db
    .transaction(() => {
      appendEvent(d.db, { type: 'local-copy-confirmed', actor: d.actor, subject: subjects.object(sha256), at, payload: { sha256, size, reason: d.reason } })
      markFetchedBack(d.db, sha256, at.toISOString())
    })
    .immediate()
}
