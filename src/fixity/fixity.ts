/**
 * No byte leaves under a hash it does not have (design.md "Fixity"). The
 * station builds one Fixity; the API opens every object it serves through
 * it, exports check their objects through it, and the fixity job
 * (job.ts) re-hashes every local object through it.
 *
 * Serving: an object is checked block by block as it is read
 * (vault/checked-read.ts) against the block list stored when its bytes
 * were last found to be the recorded ones. An object without a block list
 * yet is hashed whole before its first byte is served (and gets one). A
 * mismatch, a wrong length or a missing file is a `fixity-failed` event;
 * then a good copy is restored if one exists (repair.ts, `object-repaired`)
 * and the request is served from it, else it fails with OBJECT_CORRUPT or
 * OBJECT_MISSING. A mismatch after the first block cannot be answered with
 * an error any more: the stream ends with one (the response is aborted, so
 * the client sees fewer bytes than Content-Length) and the repair runs in
 * the background for the next request.
 */
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import type { Db } from '../catalog/db.js'
import { type FixityCandidate, getObjectFixity, recordObjectBlocks } from '../catalog/fixity.js'
import { localCopyEvicted } from '../catalog/remote-copies.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { openObject } from '../offload/cache.js'
import type { OffloadDeps } from '../offload/context.js'
import { blocksFit, type DigestOptions, digestFile, firstDifferentBlock, type ObjectDigest } from '../vault/blocks.js'
import { FixityMismatch, openCheckedRange } from '../vault/checked-read.js'
import type { Vault } from '../vault/store.js'
import { type Failure, recordFailure, recordRepair } from './record.js'
import { restoreGoodCopy } from './repair.js'
import type { FixitySettings } from './settings.js'

export interface FixityDeps {
  db: Db
  vault: Vault
  logger: Logger
  stationId: string
  /** The station's actor (`station:<id>`): fixity events are the station's own. */
  actor: string
  settings: FixitySettings
  /** The S3 offload, when configured: evicted objects come back through it, and it is a repair source. */
  offload: () => OffloadDeps | null
  /** The clock (tests move it). */
  now?: () => Date
  chunkBytes?: number
}

/** An object about to be served, its block list known. */
export interface CheckedObject {
  sha256: string
  size: number
  /**
   * Bytes start..end (inclusive), each block checked before its bytes are
   * passed on; resolves once the first block passed (or was repaired).
   */
  stream(start: number, end: number): Promise<Readable>
  /** Reads and checks every byte (an export checks each object before it packs it). */
  verify(): Promise<void>
}

/** Where the good bytes are and what they must hash to. */
interface Known {
  path: string
  blockBytes: number
  blocks: Buffer
}

export type CheckOutcome = 'ok' | 'failed' | 'repaired'

const corrupt = (sha256: string, why: string): BodyvaultError =>
  new BodyvaultError('OBJECT_CORRUPT', `object ${sha256}: ${why}; no good copy could be restored. It was reported (fixity-failed); see bodyvault fixity status`)

export class Fixity {
  readonly now: () => Date
  private readonly repairs = new Map<string, Promise<Known | null>>()
  private readonly hashing = new Map<string, Promise<ObjectDigest>>()

  constructor(readonly d: FixityDeps) {
    this.now = d.now ?? (() => new Date())
  }

  private get rec() {
    return { db: this.d.db, logger: this.d.logger, actor: this.d.actor, now: this.now }
  }

  private failure(sha256: string, size: number, where: string, f: Partial<Failure> & Pick<Failure, 'problem'>): Failure {
    return { sha256, size, block: null, blockBytes: null, foundSize: null, foundSha256: null, where, ...f }
  }

  /** Opens an object for serving (originals, proxies, thumbnails): present, its block list known, or an error that says what is wrong. */
  async open(sha256: string, size: number, where = 'serve'): Promise<CheckedObject> {
    let known = await this.ready(sha256, size, where)
    const stream = async (start: number, end: number): Promise<Readable> => {
      const range = (k: Known) => openCheckedRange(k.path, { ...k, size, start, end, onMismatch: (m) => this.midStream(sha256, size, where, m) })
      try {
        return await range(known)
      } catch (err) {
        // Nothing was sent yet: report, repair, and serve the good copy.
        known = await this.failAndRepair(sha256, size, where, await this.mismatchOf(err, sha256, size, known))
        try {
          return await range(known)
        } catch (again) {
          if (again instanceof FixityMismatch) throw corrupt(sha256, `the restored copy failed too (${again.message})`)
          throw again
        }
      }
    }
    return {
      sha256,
      size,
      stream,
      verify: async () => {
        if (size === 0) return
        for await (const _ of await stream(0, size - 1));
      },
    }
  }

  /** A stream or open error as what failed (a missing file is a failure too; anything else is not ours to report). */
  private async mismatchOf(err: unknown, sha256: string, size: number, k: Known): Promise<Failure> {
    if (err instanceof FixityMismatch)
      return this.failure(sha256, size, '', {
        problem: err.problem === 'short' ? 'size' : err.problem,
        block: err.block,
        blockBytes: k.blockBytes,
        foundSize:
          err.problem === 'block'
            ? size
            : await stat(k.path).then(
                (s) => s.size,
                () => null,
              ),
      })
    if (errnoCode(err) === 'ENOENT') return this.failure(sha256, size, '', { problem: 'missing' })
    throw err
  }

  /** Present locally (fetched back if evicted), with a block list that came from the recorded bytes. */
  private async ready(sha256: string, size: number, where: string): Promise<Known> {
    const path = this.d.vault.objectPath(sha256)
    try {
      await stat(path)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
      if (localCopyEvicted(this.d.db, sha256)) {
        // Evicted on the record: the offload fetches it back, hashed on the way (not a fault).
        await this.openLocal(sha256, where)
      } else return this.failAndRepair(sha256, size, where, this.failure(sha256, size, where, { problem: 'missing' }))
    }
    const row = getObjectFixity(this.d.db, sha256)
    const listed = row?.blocks && row.blockBytes && row.size === size && blocksFit(row.blocks, size, row.blockBytes)
    if (row?.failedAt) {
      // Known bad (already reported): a good copy if one can be had; else its good blocks are still served, each checked.
      const k = await this.repair(sha256, size)
      if (k) return k
      if (!listed) throw corrupt(sha256, row.failure ?? 'it failed its last check')
    }
    if (listed) return { path, blockBytes: row.blockBytes!, blocks: row.blocks! }
    // No block list yet: the whole object is hashed before its first byte is served.
    let digest: ObjectDigest
    try {
      digest = await this.digestOnce(sha256, path)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
      return this.failAndRepair(sha256, size, where, this.failure(sha256, size, where, { problem: 'missing' }))
    }
    if (digest.sha256 === sha256 && digest.size === size) {
      recordObjectBlocks(this.d.db, { ...digest, at: this.now().toISOString() })
      return { path, blockBytes: digest.blockBytes, blocks: digest.blocks }
    }
    return this.failAndRepair(sha256, size, where, this.wholeFailure(sha256, size, where, digest, undefined))
  }

  private digestOnce(sha256: string, path: string): Promise<ObjectDigest> {
    const pending = this.hashing.get(sha256)
    if (pending) return pending
    const p = digestFile(path, { chunkBytes: this.d.chunkBytes ?? 4 << 20 }).finally(() => this.hashing.delete(sha256))
    this.hashing.set(sha256, p)
    return p
  }

  private wholeFailure(sha256: string, size: number, where: string, got: ObjectDigest, recorded: Buffer | null | undefined): Failure {
    const block = recorded && got.size === size ? firstDifferentBlock(recorded, got.blocks) : -1
    return this.failure(sha256, size, where, {
      problem: got.size !== size ? 'size' : block >= 0 ? 'block' : 'hash',
      block: block >= 0 ? block : null,
      blockBytes: block >= 0 ? got.blockBytes : null,
      foundSize: got.size,
      foundSha256: got.sha256,
    })
  }

  /** Reports a bad copy, then restores a good one or throws the error the request answers with. */
  private async failAndRepair(sha256: string, size: number, where: string, f: Failure): Promise<Known> {
    recordFailure(this.rec, { ...f, where })
    const k = await this.repair(sha256, size)
    if (k) return k
    if (f.problem === 'missing')
      throw new BodyvaultError(
        'OBJECT_MISSING',
        `object ${sha256} is missing from the local vault and no good copy could be restored: it was reported (fixity-failed); see bodyvault fixity status`,
      )
    throw corrupt(sha256, `the stored copy does not match its recorded SHA-256 (${f.problem}${f.block !== null ? ` at block ${f.block}` : ''})`)
  }

  /** A mismatch after bytes were sent: report it, repair in the background, and end the stream with OBJECT_CORRUPT. */
  private midStream(sha256: string, size: number, where: string, m: FixityMismatch): Error {
    try {
      recordFailure(
        this.rec,
        this.failure(
          sha256,
          size,
          where,
          m.problem === 'short' ? { problem: 'size' } : { problem: 'block', block: m.block, blockBytes: this.blockBytesOf(sha256) },
        ),
      )
    } catch (err) {
      this.d.logger.error({ event: 'fixity.record_failed', sha256, err: errorMessage(err) }, 'cannot record a fixity failure')
    }
    void this.repair(sha256, size).catch(() => undefined)
    return new BodyvaultError('OBJECT_CORRUPT', `object ${sha256}: ${m.message}; the response was cut off`)
  }

  private blockBytesOf(sha256: string): number | null {
    return getObjectFixity(this.d.db, sha256)?.blockBytes ?? null
  }

  /** Restores a good copy (one repair per object at a time); null when no source has one. */
  repair(sha256: string, size: number): Promise<Known | null> {
    const pending = this.repairs.get(sha256)
    if (pending) return pending
    const p = (async (): Promise<Known | null> => {
      const r = await restoreGoodCopy(
        {
          db: this.d.db,
          vault: this.d.vault,
          logger: this.d.logger,
          repairFrom: this.d.settings.repairFrom,
          offload: this.d.offload,
          now: this.now,
          chunkBytes: this.d.chunkBytes ?? 4 << 20,
        },
        sha256,
        size,
      )
      if (!r) return null
      recordRepair(this.rec, r)
      return { path: this.d.vault.objectPath(sha256), blockBytes: r.digest.blockBytes, blocks: r.digest.blocks }
    })().finally(() => this.repairs.delete(sha256))
    this.repairs.set(sha256, p)
    return p
  }

  /**
   * The fixity job's check of one local object: every byte hashed (within
   * `o.afterRead`'s budget), the whole SHA-256 compared with the recorded
   * one (so a block list edited together with the bytes is caught too), the
   * block list renewed; a bad copy reported and repaired where possible.
   * `where` names who checked in a finding's event (`reindex` checks the
   * copies a rebuilt catalog finds in its data dir the same way).
   */
  async check(
    c: FixityCandidate,
    { where = 'fixity-job', ...o }: Pick<DigestOptions, 'afterRead' | 'signal'> & { where?: string } = {},
  ): Promise<{ outcome: CheckOutcome; bytes: number }> {
    const path = this.d.vault.objectPath(c.sha256)
    const row = getObjectFixity(this.d.db, c.sha256)
    let got: ObjectDigest
    try {
      got = await digestFile(path, { ...o, chunkBytes: this.d.chunkBytes ?? 4 << 20 })
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
      return { outcome: await this.settle(c, this.failure(c.sha256, c.size, where, { problem: 'missing' })), bytes: 0 }
    }
    if (got.sha256 === c.sha256 && got.size === c.size) {
      if (row?.failedAt) recordRepair(this.rec, { from: 'in-place', source: path, quarantined: null, digest: got })
      else {
        if (row?.blocks && !row.blocks.equals(got.blocks))
          this.d.logger.warn({ event: 'fixity.blocks_replaced', sha256: c.sha256 }, 'the stored block list did not match the good bytes: replaced')
        recordObjectBlocks(this.d.db, { ...got, at: this.now().toISOString() })
      }
      return { outcome: row?.failedAt ? 'repaired' : 'ok', bytes: got.size }
    }
    return { outcome: await this.settle(c, this.wholeFailure(c.sha256, c.size, where, got, row?.blocks)), bytes: got.size }
  }

  /**
   * The local path of an object that a job outside the served path is
   * about to read whole (a media job's original, which ffmpeg reads as a
   * file): fetched back first if it was evicted (hashed on the way), then
   * checked as the fixity job checks it (`where` names the job in a
   * finding) unless its bytes were found to match within `freshMs`: by a
   * check on record (a fetch back, a serve's first hash, the fixity job, a
   * repair) or at `knownGoodAt`, the caller's own (ingest's read-back,
   * which compares every byte written and records no check). A bad
   * copy is reported and repaired where it can be; without a good copy,
   * OBJECT_CORRUPT: nothing is made from bytes that are not the recorded
   * ones under the recorded hash. A copy gone without an eviction on the
   * record (and no remote copy to fetch) is a finding too, as serving
   * makes it, and is restored from a backup if one has it; else
   * OBJECT_MISSING as the offload said it. `signal` stops a check in the
   * middle (a daemon stop must not wait for a large original's whole read):
   * it throws the signal's reason, and nothing is recorded of that check.
   */
  async checkedPath(sha256: string, size: number, where: string, o: { freshMs: number; knownGoodAt?: string | null; signal?: AbortSignal }): Promise<string> {
    const { freshMs, knownGoodAt = null, signal } = o
    // The row as it is now: a fetch back records its own check.
    const check = async (): Promise<CheckOutcome> => {
      const row = getObjectFixity(this.d.db, sha256)
      const c = { sha256, size, checkedAt: row?.checkedAt ?? null, failedAt: row?.failedAt ?? null }
      return (await this.check(c, { where, ...(signal ? { signal } : {}) })).outcome
    }
    let path: string
    try {
      path = (await this.openLocal(sha256, where)).path
    } catch (err) {
      if (!(err instanceof BodyvaultError) || err.code !== 'OBJECT_MISSING' || localCopyEvicted(this.d.db, sha256)) throw err
      if ((await check()) === 'failed') throw err
      return this.d.vault.objectPath(sha256)
    }
    const row = getObjectFixity(this.d.db, sha256)
    const last = Math.max(row?.checkedAt ? Date.parse(row.checkedAt) : 0, knownGoodAt ? Date.parse(knownGoodAt) : 0)
    if (!row?.failedAt && last >= this.now().getTime() - freshMs) return path
    if ((await check()) === 'failed') throw corrupt(sha256, `its bytes are not the recorded ones (found by ${where})`)
    return path
  }

  /** The offload's openObject: the local copy, or an evicted one fetched back (hashed on the way), its event naming `fixity <where>`. */
  private openLocal(sha256: string, where: string): ReturnType<typeof openObject> {
    const { db, vault, logger, actor } = this.d
    return openObject({ db, vault, s3: this.d.offload()?.s3 ?? null, logger, now: this.now, actor, reason: `fixity ${where}` }, sha256)
  }

  private async settle(c: FixityCandidate, f: Failure): Promise<CheckOutcome> {
    recordFailure(this.rec, f)
    return (await this.repair(c.sha256, c.size)) ? 'repaired' : 'failed'
  }
}
