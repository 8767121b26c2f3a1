// Proves that the throwaway S3 server from scripts/s3-test-server (Ceph RADOS
// Gateway) really enforces what offload relies on: Object Lock in COMPLIANCE
// mode, retention that can only grow, legal holds, and multipart uploads that
// come back byte-identical.
//
// Uses an already running server when BODYVAULT_S3_ENDPOINT is set (with
// BODYVAULT_S3_ACCESS_KEY / _SECRET_KEY / _REGION); otherwise starts one in a
// private folder on a free port and stops it in teardown.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { useS3Server } from './s3-support.js'

interface S3Env {
  endpoint: string
  accessKeyId: string
  secretAccessKey: string
  region: string
}

function envFrom(vars: Record<string, string | undefined>): S3Env {
  const need = (k: string): string => {
    const v = vars[k]
    if (!v) throw new Error(`missing ${k}`)
    return v
  }
  return {
    endpoint: need('BODYVAULT_S3_ENDPOINT'),
    accessKeyId: need('BODYVAULT_S3_ACCESS_KEY'),
    secretAccessKey: need('BODYVAULT_S3_SECRET_KEY'),
    region: vars.BODYVAULT_S3_REGION || 'us-east-1',
  }
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p
  } catch (e) {
    const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } }
    return { name: err.Code ?? err.name ?? String(e), status: err.$metadata?.httpStatusCode }
  }
  return { name: 'no error', status: undefined }
}

// Whole seconds: S3 stores retain-until dates with second precision.
const secondsAhead = (s: number): Date => new Date((Math.floor(Date.now() / 1000) + s) * 1000)

const s3env: S3Env = envFrom((await useS3Server(t, 's3-test')).env)

const s3 = new S3Client({
  endpoint: s3env.endpoint,
  region: s3env.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3env.accessKeyId, secretAccessKey: s3env.secretAccessKey },
  // The SDK's default (WHEN_SUPPORTED) sends a stream body as aws-chunked with
  // a CRC32 trailer, which Ceph 16 rejects (411 MissingContentLength); buffered
  // bodies happen to work. Send checksums only where the API demands one.
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
})
t.teardown(() => s3.destroy())

const bucket = `bv-lock-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`

t.test('bucket with object lock', async (t) => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }))
  const lock = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))
  t.equal(lock.ObjectLockConfiguration?.ObjectLockEnabled, 'Enabled', 'object lock enabled')
  const ver = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))
  t.equal(ver.Status, 'Enabled', 'object lock implies versioning')
})

t.test('COMPLIANCE retention: delete refused, extend ok, shorten refused', async (t) => {
  const Key = 'locked/recording.mp4'
  const retainUntil = secondsAhead(60)
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key,
      Body: 'evidence bytes',
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: retainUntil,
    }),
  )
  const VersionId = put.VersionId
  t.ok(VersionId, 'put returns a version id')

  const ret = await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key, VersionId }))
  t.equal(ret.Retention?.Mode, 'COMPLIANCE')
  t.equal(ret.Retention?.RetainUntilDate?.getTime(), retainUntil.getTime(), 'retain-until stored')

  const del = await errorOf(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key, VersionId })))
  t.equal(del.name, 'AccessDenied', 'deleting the locked version is refused')
  t.equal(del.status, 403)
  const bypass = await errorOf(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key, VersionId, BypassGovernanceRetention: true })))
  t.equal(bypass.name, 'AccessDenied', 'governance bypass does not unlock COMPLIANCE')
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key, VersionId }))
  t.equal(head.ContentLength, 'evidence bytes'.length, 'the version is still there')

  const longer = secondsAhead(120)
  await s3.send(
    new PutObjectRetentionCommand({
      Bucket: bucket,
      Key,
      VersionId,
      Retention: { Mode: 'COMPLIANCE', RetainUntilDate: longer },
    }),
  )
  const ret2 = await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key, VersionId }))
  t.equal(ret2.Retention?.RetainUntilDate?.getTime(), longer.getTime(), 'retention extended')

  const shorter = await errorOf(
    s3.send(
      new PutObjectRetentionCommand({
        Bucket: bucket,
        Key,
        VersionId,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: secondsAhead(30) },
      }),
    ),
  )
  t.equal(shorter.name, 'AccessDenied', 'shortening COMPLIANCE retention is refused')
  t.equal(shorter.status, 403)
  const ret3 = await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key, VersionId }))
  t.equal(ret3.Retention?.RetainUntilDate?.getTime(), longer.getTime(), 'retention unchanged')
})

t.test('legal hold', async (t) => {
  const Key = 'held/recording.mp4'
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'held evidence' }))
  const VersionId = put.VersionId
  await s3.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key, VersionId, LegalHold: { Status: 'ON' } }))
  const hold = await s3.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key, VersionId }))
  t.equal(hold.LegalHold?.Status, 'ON', 'legal hold reads back ON')

  const del = await errorOf(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key, VersionId })))
  t.equal(del.name, 'AccessDenied', 'deleting a held version is refused')

  await s3.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key, VersionId, LegalHold: { Status: 'OFF' } }))
  const off = await s3.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key, VersionId }))
  t.equal(off.LegalHold?.Status, 'OFF', 'legal hold released')
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key, VersionId }))
  t.equal((await errorOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key, VersionId })))).status, 404, 'unheld, unretained version can be deleted')
})

t.test('multipart upload round-trips byte-identically and can be locked', async (t) => {
  const Key = 'multipart/big.bin'
  const size = 20 * 1024 * 1024 + 12345 // not a multiple of the part size
  const data = randomBytes(size)
  const want = createHash('sha256').update(data).digest('hex')
  const retainUntil = secondsAhead(60)

  const parts = new Set<number>()
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key,
      Body: data,
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: retainUntil,
    },
    partSize: 5 * 1024 * 1024,
    queueSize: 4,
  })
  upload.on('httpUploadProgress', (p) => {
    if (p.part) parts.add(p.part)
  })
  const done = await upload.done()
  const VersionId = done.VersionId
  t.equal(parts.size, 5, 'uploaded in 5 parts')
  t.ok(VersionId, 'complete returns a version id')

  // Ceph 16 answers CompleteMultipartUpload with an empty <ETag/>: read it back.
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key, VersionId }))
  t.match(head.ETag ?? '', /^"?[0-9a-f]{32}-5"?$/, 'multipart ETag (md5-of-md5s-5)')
  t.equal(head.ContentLength, size)

  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key, VersionId }))
  t.equal(got.ContentLength, size)
  const h = createHash('sha256')
  for await (const chunk of got.Body as AsyncIterable<Uint8Array>) h.update(chunk)
  t.equal(h.digest('hex'), want, 'sha256 of the downloaded object matches')

  // Ceph 16 silently drops x-amz-object-lock-* on CreateMultipartUpload: the
  // completed object is NOT locked. Whoever uploads multipart must lock the
  // version afterwards (PutObjectRetention) or rely on the bucket's default
  // retention, and verify with GetObjectRetention.
  const before = await errorOf(s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key, VersionId })))
  if (before.name !== 'no error') {
    t.comment(`lock headers on CreateMultipartUpload were ignored (${before.name}); locking afterwards`)
    await s3.send(
      new PutObjectRetentionCommand({
        Bucket: bucket,
        Key,
        VersionId,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: retainUntil },
      }),
    )
  }
  const ret = await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key, VersionId }))
  t.equal(ret.Retention?.Mode, 'COMPLIANCE', 'multipart object is locked')
  t.equal(ret.Retention?.RetainUntilDate?.getTime(), retainUntil.getTime())
  const del = await errorOf(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key, VersionId })))
  t.equal(del.name, 'AccessDenied', 'deleting the locked multipart version is refused')
})
