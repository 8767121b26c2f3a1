import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { createRequire } from 'node:module'
import type * as S3Sdk from '@aws-sdk/client-s3'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import type { OffloadSettings } from './config.js'

/**
 * The SDK, loaded by the first store made (~0.15 CPU-s): a station without
 * offload, and every command that makes no store, starts without it.
 */
let S: typeof S3Sdk

/**
 * The one thin adapter over @aws-sdk/client-s3: every S3 call bodyvault
 * makes is here, nothing else knows the SDK. Checksums: bodyvault sends
 * x-amz-checksum-sha256 values it computed itself (header, never the SDK's
 * aws-chunked trailers, which Ceph 16 does not understand) and never trusts
 * the server to have checked them: a copy is verified by reading it back.
 */
export interface Lock {
  /** COMPLIANCE retain-until, or null for none. */
  retainUntil: Date | null
  legalHold: boolean
}

/** One entry of a version listing: a version of an object, or a delete marker put on top of one. */
export interface ObjectVersion {
  key: string
  versionId: string
  isLatest: boolean
  deleteMarker: boolean
  size: number
}

export interface RemoteHash {
  sha256: string
  size: number
}

export class S3Store {
  readonly client: S3Sdk.S3Client
  readonly bucket: string

  constructor(s: OffloadSettings) {
    this.bucket = s.bucket
    // The SDK is pinned at 3.1169.0 on purpose (later releases need Node 22): its Node 20 notice would
    // print on every CLI run. An operator can still see it by setting the variable to "false".
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    S ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof S3Sdk
    this.client = new S.S3Client({
      ...(s.endpoint ? { endpoint: s.endpoint } : {}),
      region: s.region,
      forcePathStyle: s.forcePathStyle,
      credentials: s.credentials,
      maxAttempts: 3,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    })
  }

  destroy(): void {
    this.client.destroy()
  }

  /** Creates the bucket with Object Lock when missing (if allowed); refuses a bucket without Object Lock. */
  async ensureBucket(create: boolean): Promise<void> {
    let exists = true
    try {
      await this.client.send(new S.HeadBucketCommand({ Bucket: this.bucket }))
    } catch (err) {
      if (httpStatus(err) !== 404) throw err
      exists = false
    }
    if (!exists) {
      if (!create)
        throw new BodyvaultError(
          'OFFLOAD_NO_BUCKET',
          `bucket ${this.bucket} does not exist and offload.createBucket is false: create it with Object Lock enabled`,
          3,
        )
      await this.client.send(new S.CreateBucketCommand({ Bucket: this.bucket, ObjectLockEnabledForBucket: true }))
    }
    let enabled = false
    try {
      const c = await this.client.send(new S.GetObjectLockConfigurationCommand({ Bucket: this.bucket }))
      enabled = c.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled'
    } catch (err) {
      if (httpStatus(err) !== 404) throw err
    }
    if (!enabled)
      throw new BodyvaultError(
        'OFFLOAD_NO_OBJECT_LOCK',
        `bucket ${this.bucket} has no Object Lock: evidence cannot be made write-once there. Use a bucket created with Object Lock enabled`,
        3,
      )
  }

  /** Single PUT of a file (small objects), lock applied with the write. */
  async putFile(key: string, path: string, sha256: string, size: number, lock: Lock): Promise<string> {
    const res = await this.client.send(
      new S.PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: size,
        ChecksumSHA256: b64(sha256),
        Metadata: { sha256 },
        ...(lock.retainUntil ? { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: lock.retainUntil } : {}),
        ...(lock.legalHold ? { ObjectLockLegalHoldStatus: 'ON' } : {}),
      }),
    )
    if (!res.VersionId) throw new Error(`the server returned no version id for ${key}: is versioning (Object Lock) on?`)
    return res.VersionId
  }

  /** A small JSON/text object (manifests, ledger segments). */
  async putText(key: string, text: string, contentType: string, lock: Lock = { retainUntil: null, legalHold: false }): Promise<string> {
    const body = Buffer.from(text, 'utf8')
    const sha = createHash('sha256').update(body).digest('hex')
    const res = await this.client.send(
      new S.PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ChecksumSHA256: b64(sha),
        Metadata: { sha256: sha },
        ...(lock.retainUntil ? { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: lock.retainUntil } : {}),
        ...(lock.legalHold ? { ObjectLockLegalHoldStatus: 'ON' } : {}),
      }),
    )
    return res.VersionId ?? ''
  }

  async createMultipart(key: string, sha256: string): Promise<string> {
    const res = await this.client.send(new S.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, Metadata: { sha256 }, ChecksumAlgorithm: 'SHA256' }))
    if (!res.UploadId) throw new Error(`no upload id for ${key}`)
    return res.UploadId
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<{ etag: string; checksum: string }> {
    const checksum = createHash('sha256').update(body).digest('base64')
    const res = await this.client.send(
      new S.UploadPartCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.length,
        ChecksumSHA256: checksum,
      }),
    )
    if (!res.ETag) throw new Error(`no ETag for part ${partNumber} of ${key}`)
    return { etag: res.ETag, checksum }
  }

  /** Parts the server holds for an unfinished upload; null when the upload is gone. */
  async listParts(key: string, uploadId: string): Promise<Map<number, string> | null> {
    const out = new Map<number, string>()
    let marker: string | undefined
    try {
      for (;;) {
        const res = await this.client.send(new S.ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }))
        for (const p of res.Parts ?? []) if (p.PartNumber && p.ETag) out.set(p.PartNumber, p.ETag)
        if (!res.IsTruncated) break
        marker = res.NextPartNumberMarker
      }
    } catch (err) {
      if (httpStatus(err) === 404) return null
      throw err
    }
    return out
  }

  async completeMultipart(key: string, uploadId: string, parts: { n: number; etag: string }[]): Promise<string> {
    const res = await this.client.send(
      new S.CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
      }),
    )
    if (res.VersionId) return res.VersionId
    // Some servers leave it out of the answer: the newest version of the key is ours (one writer per key).
    const head = await this.client.send(new S.HeadObjectCommand({ Bucket: this.bucket, Key: key }))
    if (!head.VersionId) throw new Error(`no version id for ${key} after completing the upload`)
    return head.VersionId
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new S.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
    } catch (err) {
      if (httpStatus(err) !== 404) throw err
    }
  }

  /** Reads a version back and hashes it (streamed: memory stays bounded). */
  async hashVersion(key: string, versionId: string): Promise<RemoteHash> {
    const res = await this.client.send(new S.GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }))
    const h = createHash('sha256')
    let size = 0
    for await (const chunk of res.Body as Readable) {
      h.update(chunk as Buffer)
      size += (chunk as Buffer).length
    }
    return { sha256: h.digest('hex'), size }
  }

  /** The body of a version as a stream (fetch back into the local cache). */
  async getStream(key: string, versionId: string | null): Promise<Readable> {
    const res = await this.client.send(new S.GetObjectCommand({ Bucket: this.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }))
    return res.Body as Readable
  }

  async getText(key: string): Promise<string> {
    return (await this.getTextVersion(key, null)).text
  }

  /** A small text object (a version of it, or the newest), with the legal hold the server reports for it. */
  async getTextVersion(key: string, versionId: string | null): Promise<{ text: string; legalHold: boolean }> {
    const res = await this.client.send(new S.GetObjectCommand({ Bucket: this.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }))
    const text = await (res.Body as { transformToString(enc?: string): Promise<string> }).transformToString('utf8')
    return { text, legalHold: res.ObjectLockLegalHoldStatus === 'ON' }
  }

  async head(key: string, versionId?: string): Promise<{ size: number; sha256: string | null; versionId: string | null } | null> {
    try {
      const h = await this.client.send(new S.HeadObjectCommand({ Bucket: this.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }))
      return { size: h.ContentLength ?? 0, sha256: h.Metadata?.sha256 ?? null, versionId: h.VersionId ?? null }
    } catch (err) {
      if (httpStatus(err) === 404) return null
      throw err
    }
  }

  async getLock(key: string, versionId: string): Promise<Lock> {
    let retainUntil: Date | null = null
    let legalHold = false
    try {
      const r = await this.client.send(new S.GetObjectRetentionCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }))
      if (r.Retention?.Mode === 'COMPLIANCE' && r.Retention.RetainUntilDate) retainUntil = r.Retention.RetainUntilDate
    } catch (err) {
      if (!noLockConfigured(err)) throw err
    }
    try {
      const l = await this.client.send(new S.GetObjectLegalHoldCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }))
      legalHold = l.LegalHold?.Status === 'ON'
    } catch (err) {
      if (!noLockConfigured(err)) throw err
    }
    return { retainUntil, legalHold }
  }

  /** COMPLIANCE retain-until (only ever extended: the server refuses to shorten it). */
  async setRetention(key: string, versionId: string, until: Date): Promise<void> {
    await this.client.send(
      new S.PutObjectRetentionCommand({ Bucket: this.bucket, Key: key, VersionId: versionId, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until } }),
    )
  }

  async setLegalHold(key: string, versionId: string, on: boolean): Promise<void> {
    await this.client.send(new S.PutObjectLegalHoldCommand({ Bucket: this.bucket, Key: key, VersionId: versionId, LegalHold: { Status: on ? 'ON' : 'OFF' } }))
  }

  /** Every version of one key (ours: one writer per key). */
  async versions(key: string): Promise<string[]> {
    const out: string[] = []
    let keyMarker: string | undefined
    let versionMarker: string | undefined
    for (;;) {
      const res = await this.client.send(
        new S.ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
      )
      for (const v of [...(res.Versions ?? []), ...(res.DeleteMarkers ?? [])]) if (v.Key === key && v.VersionId) out.push(v.VersionId)
      if (!res.IsTruncated) break
      keyMarker = res.NextKeyMarker
      versionMarker = res.NextVersionIdMarker
    }
    return out
  }

  async deleteVersion(key: string, versionId: string): Promise<void> {
    await this.client.send(new S.DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }))
  }

  /**
   * Every version and delete marker under a prefix. Per key, versions come
   * newest first (the order the server lists them in); delete markers
   * follow the versions of their page, `isLatest` telling the one on top.
   */
  async *listVersions(prefix: string): AsyncGenerator<ObjectVersion> {
    let keyMarker: string | undefined
    let versionMarker: string | undefined
    for (;;) {
      const res = await this.client.send(
        new S.ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
      )
      for (const v of res.Versions ?? [])
        if (v.Key && v.VersionId) yield { key: v.Key, versionId: v.VersionId, isLatest: v.IsLatest === true, deleteMarker: false, size: v.Size ?? 0 }
      for (const m of res.DeleteMarkers ?? [])
        if (m.Key && m.VersionId) yield { key: m.Key, versionId: m.VersionId, isLatest: m.IsLatest === true, deleteMarker: true, size: 0 }
      if (!res.IsTruncated) break
      keyMarker = res.NextKeyMarker
      versionMarker = res.NextVersionIdMarker
    }
  }

  /** Keys under a prefix, in order (with the server's last-modified time). */
  async *list(prefix: string): AsyncGenerator<{ key: string; size: number; lastModified: Date | null }> {
    let token: string | undefined
    for (;;) {
      const res = await this.client.send(new S.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
      for (const o of res.Contents ?? []) if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? null }
      if (!res.IsTruncated) break
      token = res.NextContinuationToken
    }
  }
}

function b64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64')
}

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode
}

export function errorName(err: unknown): string {
  const e = err as { Code?: string; name?: string } | null
  return e?.Code ?? e?.name ?? 'Error'
}

function noLockConfigured(err: unknown): boolean {
  const n = errorName(err)
  return httpStatus(err) === 404 || n === 'ObjectLockConfigurationNotFoundError' || n === 'NoSuchObjectLockConfiguration'
}

/** True for errors that mean "the server is unreachable" (an outage), not "this request is wrong". */
export function isOutage(err: unknown): boolean {
  const status = httpStatus(err)
  if (status !== undefined) return status >= 500 || status === 408 || status === 429
  const code = (err as { code?: string } | null)?.code
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND'].includes(code ?? '') ||
    /socket hang up|ECONNREFUSED|ECONNRESET|timed? ?out|TimeoutError/i.test(errorMessage(err)) ||
    errorName(err) === 'TimeoutError'
  )
}
