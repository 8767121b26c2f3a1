import { constants as C } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { objectsInUse } from '../catalog/objects.js'
import { saveUploadProgress, type OffloadJob } from '../catalog/offload-queue.js'
import { firstIngestOf } from '../catalog/recordings.js'
import { markCopyVerified, recordUpload, verifiedCopy } from '../catalog/remote-copies.js'
import { BodyvaultError, errnoCode } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { offloadActor, type OffloadDeps, type OffloadReport } from './context.js'
import { keys } from './manifest.js'
import { desiredLock } from './reconcile.js'

/** Multipart progress kept in the queue row so an outage costs only the part in flight. */
interface Progress {
  uploadId: string
  partSize: number
  parts: Record<string, string>
}

/**
 * The `object` job: uploads an original or derivative (single PUT, or a
 * multipart upload resumed part by part after an outage) with its lock,
 * reads it back and hashes it, checks the lock took effect; only then the
 * `offloaded` event, with the copy marked verified in the same transaction.
 */
export async function uploadObject(d: OffloadDeps, job: OffloadJob, report: OffloadReport, clock: () => Date): Promise<void> {
  const { db, s3, settings } = d
  const sha = job.subject
  const owner = objectsInUse(db).get(sha)
  if (!owner) return // purged meanwhile: nothing to upload
  if (verifiedCopy(db, sha)) return
  const path = d.vault.objectPath(sha)
  try {
    await stat(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT')
      throw new BodyvaultError('OFFLOAD_LOCAL_MISSING', `object ${sha} is neither in the local vault nor verified in S3: run bodyvault verify`, 3)
    throw err
  }
  const key = keys.object(settings.prefix, sha)
  const lock = desiredLock(db, d.policy, owner.recordingIds, clock())
  const multipart = owner.size >= settings.multipartThresholdBytes
  let versionId: string
  if (!multipart) {
    versionId = await s3.putFile(key, path, sha, owner.size, lock)
  } else {
    versionId = await multipartUpload(d, job, key, path, sha, owner.size)
    if (lock.retainUntil) await s3.setRetention(key, versionId, lock.retainUntil)
    if (lock.legalHold) await s3.setLegalHold(key, versionId, true)
  }
  recordUpload(db, { sha256: sha, size: owner.size, key, versionId, uploadedAt: clock().toISOString() })

  // Verified only after reading it back: the server is not trusted to have checked the checksum.
  const back = await s3.hashVersion(key, versionId)
  if (back.sha256 !== sha || back.size !== owner.size) {
    throw new Error(`read-back of ${key} version ${versionId} hashes to ${back.sha256} (${back.size} bytes), not ${sha} (${owner.size} bytes): uploading again`)
  }
  const got = await s3.getLock(key, versionId)
  if (lock.legalHold && !got.legalHold) throw new Error(`legal hold on ${key} did not take effect`)
  if (lock.retainUntil && (!got.retainUntil || got.retainUntil.getTime() < lock.retainUntil.getTime()))
    throw new Error(`COMPLIANCE retention on ${key} did not take effect (server says ${got.retainUntil?.toISOString() ?? 'none'})`)
  const cachedSince = firstIngestOf(db, sha) ?? clock().toISOString()
  db.transaction(() => {
    const now = clock()
    appendEvent(db, {
      type: 'offloaded',
      actor: offloadActor(d),
      subject: subjects.object(sha),
      at: now,
      payload: {
        sha256: sha,
        size: owner.size,
        bucket: s3.bucket,
        key,
        versionId,
        multipart,
        readBackSha256: back.sha256,
        retainUntil: got.retainUntil?.toISOString() ?? null,
        legalHold: got.legalHold,
        recordingIds: owner.recordingIds,
      },
    })
    markCopyVerified(db, sha, { verifiedAt: now.toISOString(), retainUntil: got.retainUntil?.toISOString() ?? null, legalHold: got.legalHold, cachedSince })
  }).immediate()
  report.verified.push({ sha256: sha, size: owner.size, versionId, multipart })
}

/**
 * Multipart upload that survives outages and restarts: the upload id and
 * each finished part's ETag are saved in the queue row after every part;
 * the next attempt asks the server which parts it holds and sends only the
 * rest. One part in memory at a time (memory stays bounded).
 */
async function multipartUpload(d: OffloadDeps, job: OffloadJob, key: string, path: string, sha: string, size: number): Promise<string> {
  const { db, s3 } = d
  let prog: Progress | null = job.progress ? (JSON.parse(job.progress) as Progress) : null
  if (prog) {
    const have = await s3.listParts(key, prog.uploadId)
    if (have === null) prog = null
    else prog.parts = Object.fromEntries([...have].filter(([n, etag]) => prog!.parts[String(n)] === etag).map(([n, etag]) => [String(n), etag]))
  }
  if (!prog) prog = { uploadId: await s3.createMultipart(key, sha), partSize: d.settings.partSizeBytes, parts: {} }
  const save = (): void => saveUploadProgress(db, job.id, JSON.stringify(prog))
  save()
  const count = Math.max(1, Math.ceil(size / prog.partSize))
  const fh = await open(path, C.O_RDONLY | C.O_NOFOLLOW)
  try {
    const buf = Buffer.allocUnsafe(prog.partSize)
    for (let n = 1; n <= count; n++) {
      if (prog.parts[String(n)]) continue
      const start = (n - 1) * prog.partSize
      const len = Math.min(prog.partSize, size - start)
      let got = 0
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, start + got)
        if (bytesRead === 0) throw new Error(`${path} is shorter than its recorded size ${size}`)
        got += bytesRead
      }
      const { etag } = await s3.uploadPart(key, prog.uploadId, n, Buffer.from(buf.subarray(0, len)))
      prog.parts[String(n)] = etag
      save()
    }
  } finally {
    await fh.close()
  }
  const parts = Array.from({ length: count }, (_, i) => ({ n: i + 1, etag: prog!.parts[String(i + 1)]! }))
  const versionId = await s3.completeMultipart(key, prog.uploadId, parts)
  saveUploadProgress(db, job.id, null)
  return versionId
}
