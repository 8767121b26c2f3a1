/**
 * Restoring a good copy of a vault object whose local copy is bad or
 * missing. Sources, in order: the data dirs named in fixity.repairFrom (a
 * backup, a mirror: objects/<2 hex>/<sha256>), then the verified S3 copy
 * through the offload's own fetch-back (src/offload/cache.ts openObject).
 * A copy is hashed on the way and committed only when its SHA-256 and
 * length are the recorded ones; the bad local bytes are moved aside to
 * quarantine/ first (and put back if no good copy came).
 */
import { constants as C } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Db } from '../catalog/db.js'
import { verifiedCopy } from '../catalog/remote-copies.js'
import { errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { openObject } from '../offload/cache.js'
import type { OffloadDeps } from '../offload/context.js'
import { digestFile, type ObjectDigest, ObjectHasher } from '../vault/blocks.js'
import type { Vault } from '../vault/store.js'

export interface RepairDeps {
  db: Db
  vault: Vault
  logger: Logger
  repairFrom: readonly string[]
  offload: () => OffloadDeps | null
  now: () => Date
  chunkBytes: number
}

export interface Restored {
  from: 'backup' | 's3'
  /** Which copy: the backup file's path, or the bucket, key and version. */
  source: string
  /** Where the bad local bytes were moved (null: there were none). */
  quarantined: string | null
  digest: ObjectDigest
}

/** Copies `src` into staging while hashing it; the staged path and its digest, or null when `src` is not there. */
async function stageFrom(d: RepairDeps, src: string): Promise<{ staged: string; digest: ObjectDigest } | null> {
  let from: Awaited<ReturnType<typeof open>>
  try {
    from = await open(src, C.O_RDONLY | C.O_NOFOLLOW)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null
    throw err
  }
  const staged = d.vault.stagingPath()
  const h = new ObjectHasher()
  try {
    const to = await open(staged, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600)
    try {
      const buf = Buffer.allocUnsafe(d.chunkBytes)
      for (let pos = 0; ; ) {
        const { bytesRead } = await from.read(buf, 0, buf.length, pos)
        if (bytesRead === 0) break
        const chunk = buf.subarray(0, bytesRead)
        h.update(chunk)
        for (let off = 0; off < bytesRead; ) off += (await to.write(chunk, off, bytesRead - off, pos + off)).bytesWritten
        pos += bytesRead
      }
      await to.sync()
    } finally {
      await to.close()
    }
    return { staged, digest: h.digest() }
  } catch (err) {
    await rm(staged, { force: true })
    throw err
  } finally {
    await from.close()
  }
}

async function fromBackup(d: RepairDeps, sha256: string, size: number): Promise<Restored | null> {
  for (const dir of d.repairFrom) {
    const src = join(dir, 'objects', sha256.slice(0, 2), sha256)
    try {
      const got = await stageFrom(d, src)
      if (!got) continue
      if (got.digest.sha256 !== sha256 || got.digest.size !== size) {
        await rm(got.staged, { force: true })
        d.logger.warn(
          { event: 'fixity.repair_source_bad', sha256, source: src, found: got.digest.sha256, foundSize: got.digest.size },
          'the backup copy does not match the recorded SHA-256 either: not used',
        )
        continue
      }
      const quarantined = await d.vault.quarantine(sha256, d.now())
      await d.vault.commitObject(got.staged, sha256)
      return { from: 'backup', source: src, quarantined, digest: got.digest }
    } catch (err) {
      d.logger.warn({ event: 'fixity.repair_source_failed', sha256, source: src, err: errorMessage(err) }, 'cannot repair from this backup')
    }
  }
  return null
}

async function fromS3(d: RepairDeps, sha256: string): Promise<Restored | null> {
  const od = d.offload()
  const copy = od ? verifiedCopy(d.db, sha256) : undefined
  if (!od || !copy) return null
  // The offload's fetch-back runs when the local file is absent: move the bad one aside first.
  const quarantined = await d.vault.quarantine(sha256, d.now())
  try {
    const got = await openObject({ db: d.db, vault: d.vault, s3: od.s3, logger: d.logger, now: d.now }, sha256)
    // It was hashed on the way in; this read makes its block list (the file is in the page cache).
    const digest = await digestFile(got.path, { chunkBytes: d.chunkBytes })
    if (digest.sha256 !== sha256) throw new Error(`the fetched copy hashes to ${digest.sha256}`)
    return { from: 's3', source: `s3://${od.settings.bucket}/${copy.key} version ${copy.versionId}`, quarantined, digest }
  } catch (err) {
    d.logger.warn({ event: 'fixity.repair_source_failed', sha256, source: 's3', err: errorMessage(err) }, 'cannot repair from the S3 copy')
    if (quarantined) await d.vault.unquarantine(quarantined, sha256).catch(() => undefined)
    return null
  }
}

/** A good copy put in place of a bad or missing one, or null when no source has one. Never throws for a source that fails: it tries the next. */
export async function restoreGoodCopy(d: RepairDeps, sha256: string, size: number): Promise<Restored | null> {
  return (await fromBackup(d, sha256, size)) ?? (await fromS3(d, sha256))
}
