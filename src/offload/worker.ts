import { constants as C } from 'node:fs'
import { open, rm, stat } from 'node:fs/promises'
import type { Db } from '../catalog/db.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { appendEvent, ledgerHead } from '../ledger/ledger.js'
import { objectInUse, objectsInUse, objectsOfRecording } from '../retention/objects.js'
import { purgeAfter, type RetentionPolicy } from '../retention/policy.js'
import { refreshDeadlines } from '../retention/store.js'
import type { Vault } from '../vault/store.js'
import type { OffloadSettings } from './config.js'
import { buildManifest, keys } from './manifest.js'
import { errorName, isOutage, type Lock, type S3Store } from './s3.js'

/**
 * The offload worker: one pass (`runOffloadOnce`) reconciles the catalog
 * with the bucket through a persisted queue (table offload_queue):
 *   object    upload an original or derivative (single PUT, or a multipart
 *             upload resumed part by part after an outage), read it back and
 *             hash it, check its lock; only then the `offloaded` event
 *   lock      extend COMPLIANCE retain-until when a deadline grew; legal
 *             hold ON while the deadline is indefinite, OFF when it is not
 *   manifest  the recording's manifest (catalog row + its ledger events)
 *   ledger    the chain itself, in append-only segments under legal hold
 *   delete    a purged recording's remote copy, once its lock has expired
 * A failed job is retried with exponential backoff (persisted, so a restart
 * keeps the schedule); an outage ends the pass early. Then the local cache
 * is trimmed: only objects with a verified remote copy are ever evicted.
 */
export interface OffloadDeps {
  db: Db
  vault: Vault
  s3: S3Store
  settings: OffloadSettings
  policy: RetentionPolicy
  stationId: string
  logger: Logger
  /** The clock (tests inject one). Object Lock dates use the server's real clock regardless. */
  now?: () => Date
}

type Op = 'object' | 'lock' | 'delete' | 'manifest' | 'ledger'
const ORDER: Op[] = ['object', 'lock', 'delete', 'manifest', 'ledger']

export interface OffloadReport {
  startedAt: string
  durationMs: number
  enqueued: Record<Op, number>
  done: Record<Op, number>
  verified: { sha256: string; size: number; versionId: string; multipart: boolean }[]
  evicted: { sha256: string; size: number; reason: string }[]
  failed: { op: Op; subject: string; attempts: number; error: string; nextAttemptAt: string }[]
  /** Not failures: jobs that must wait (a remote copy still under its COMPLIANCE lock). */
  deferred: { op: Op; subject: string; until: string; reason: string }[]
  /** Jobs still queued after this pass (waiting for a retry or a lock to expire). */
  pending: number
  /** The pass stopped early: the server is unreachable. */
  outage: boolean
}

interface Job {
  id: number
  op: Op
  subject: string
  attempts: number
  progress: string | null
}

/** Multipart progress kept in offload_queue.progress so an outage costs only the part in flight. */
interface Progress {
  uploadId: string
  partSize: number
  parts: Record<string, string>
}

class Deferred extends Error {
  constructor(
    readonly until: Date,
    message: string,
  ) {
    super(message)
  }
}

const zero = (): Record<Op, number> => ({ object: 0, lock: 0, delete: 0, manifest: 0, ledger: 0 })
const SEGMENT_EVENTS = 5000

export async function runOffloadOnce(d: OffloadDeps): Promise<OffloadReport> {
  const clock = d.now ?? (() => new Date())
  const started = clock()
  const t0 = Date.now()
  const log = d.logger.child({ job: 'offload' })
  const report: OffloadReport = {
    startedAt: started.toISOString(),
    durationMs: 0,
    enqueued: zero(),
    done: zero(),
    verified: [],
    evicted: [],
    failed: [],
    deferred: [],
    pending: 0,
    outage: false,
  }
  refreshDeadlines({ db: d.db, policy: d.policy, actor: `station:${d.stationId}`, now: started })
  report.enqueued = enqueue(d, started)
  try {
    await d.s3.ensureBucket(d.settings.createBucket)
  } catch (err) {
    if (!isOutage(err)) throw err
    report.outage = true
    log.warn({ event: 'offload.outage', err: errorMessage(err) }, 'S3 unreachable: the queue waits for the next pass')
  }
  const tried = new Set<number>()
  while (!report.outage) {
    const job = nextJob(d.db, clock(), tried)
    if (!job) break
    tried.add(job.id)
    try {
      await runJob(d, job, report, clock)
      d.db.prepare('DELETE FROM offload_queue WHERE id = ?').run(job.id)
      report.done[job.op]++
    } catch (err) {
      const attempts = job.attempts + 1
      let next: Date
      if (err instanceof Deferred) {
        next = err.until
      } else {
        const base = d.settings.retry.baseSeconds * 1000 * 2 ** Math.min(attempts - 1, 20)
        next = new Date(clock().getTime() + Math.min(d.settings.retry.maxSeconds * 1000, base) * (0.75 + Math.random() * 0.5))
      }
      const msg = err instanceof Deferred ? err.message : `${errorName(err)}: ${errorMessage(err)}`
      d.db.prepare('UPDATE offload_queue SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?').run(attempts, next.toISOString(), msg, job.id)
      if (err instanceof Deferred) {
        report.deferred.push({ op: job.op, subject: job.subject, until: next.toISOString(), reason: msg })
        continue
      }
      report.failed.push({ op: job.op, subject: job.subject, attempts, error: msg, nextAttemptAt: next.toISOString() })
      if (isOutage(err)) {
        report.outage = true
        log.warn(
          { event: 'offload.outage', op: job.op, subject: job.subject, attempts, next: next.toISOString(), err: msg },
          'S3 unreachable: will retry with backoff',
        )
      } else {
        log.warn(
          { event: 'offload.job-failed', op: job.op, subject: job.subject, attempts, next: next.toISOString(), err: msg },
          'offload job failed: will retry',
        )
      }
    }
  }
  report.evicted = await evict(d, clock())
  report.pending = (d.db.prepare('SELECT count(*) AS n FROM offload_queue').get() as { n: number }).n
  report.durationMs = Date.now() - t0
  const busy = report.verified.length + report.evicted.length + report.failed.length + Object.values(report.done).reduce((x, y) => x + y, 0) > 0
  log[busy ? 'info' : 'debug'](
    {
      event: 'offload.pass',
      done: report.done,
      verified: report.verified.length,
      evicted: report.evicted.length,
      failed: report.failed.length,
      pending: report.pending,
      outage: report.outage,
      ms: report.durationMs,
    },
    'offload pass finished',
  )
  return report
}

function nextJob(db: Db, now: Date, tried: Set<number>): Job | undefined {
  const rows = db
    .prepare('SELECT id, op, subject, attempts, progress FROM offload_queue WHERE next_attempt_at <= ? ORDER BY id')
    .all(now.toISOString()) as Job[]
  rows.sort((a, b) => ORDER.indexOf(a.op) - ORDER.indexOf(b.op) || a.id - b.id)
  return rows.find((j) => !tried.has(j.id))
}

/** The newest event a recording's manifest carries: about the recording or one of its objects. */
function latestSeq(db: Db, recordingId: number): number {
  const subjects = [`recording:${recordingId}`, ...objectsOfRecording(db, recordingId).map((o) => `object:${o.sha256}`)]
  const r = db.prepare(`SELECT max(seq) AS m FROM events WHERE subject IN (${subjects.map(() => '?').join(', ')})`).get(...subjects) as { m: number | null }
  return r.m ?? 0
}

function put(db: Db, op: Op, subject: string, now: Date): number {
  return db
    .prepare('INSERT INTO offload_queue (op, subject, enqueued_at, next_attempt_at) VALUES (?, ?, ?, ?) ON CONFLICT(op, subject) DO NOTHING')
    .run(op, subject, now.toISOString(), now.toISOString()).changes
}

/** What the lock on an object must be: legal hold while any owner is kept indefinitely, else COMPLIANCE until the last owner's purge date. */
export function desiredLock(db: Db, policy: RetentionPolicy, _sha256: string, ownerIds: number[], now: Date): Lock {
  let until: Date | null = null
  for (const id of ownerIds) {
    const r = db.prepare('SELECT deadline FROM retention WHERE recording_id = ?').get(id) as { deadline: string | null } | undefined
    if (!r || r.deadline === null) return { retainUntil: null, legalHold: true }
    const p = purgeAfter(new Date(r.deadline), policy) as Date
    if (until === null || p > until) until = p
  }
  // A date already past cannot be a retain-until; the purge is due then anyway.
  if (until !== null && until.getTime() <= now.getTime() + 60_000) until = null
  if (until !== null) until = new Date(Math.ceil(until.getTime() / 1000) * 1000)
  return { retainUntil: until, legalHold: false }
}

/** Reconciles catalog and bucket: queues what is missing. Idempotent. */
function enqueue(d: OffloadDeps, now: Date): Record<Op, number> {
  const { db } = d
  const n = zero()
  return db
    .transaction(() => {
      const inUse = objectsInUse(db)
      const remote = new Map(
        (
          db
            .prepare(
              'SELECT sha256, verified_at AS verifiedAt, deleted_at AS deletedAt, retain_until AS retainUntil, legal_hold AS legalHold FROM offload_objects',
            )
            .all() as { sha256: string; verifiedAt: string | null; deletedAt: string | null; retainUntil: string | null; legalHold: number }[]
        ).map((r) => [r.sha256, r]),
      )
      for (const [sha, o] of inUse) {
        const r = remote.get(sha)
        if (!r || r.verifiedAt === null || r.deletedAt !== null) {
          n.object += put(db, 'object', sha, now)
          continue
        }
        const want = desiredLock(db, d.policy, sha, o.recordingIds, now)
        const extend = want.retainUntil !== null && (r.retainUntil === null || want.retainUntil.toISOString() > r.retainUntil)
        if (extend || want.legalHold !== (r.legalHold === 1)) n.lock += put(db, 'lock', sha, now)
      }
      for (const r of remote.values()) if (r.deletedAt === null && !inUse.has(r.sha256)) n.delete += put(db, 'delete', r.sha256, now)

      // Manifests: recordings touched by events since the last scan, and any never uploaded.
      const st = db.prepare("SELECT value FROM offload_state WHERE key = 'manifest.scannedThrough'").get() as { value: string } | undefined
      const from = Number(st?.value ?? 0)
      const ids = new Set<number>()
      for (const { subject } of db.prepare('SELECT DISTINCT subject FROM events WHERE seq > ?').all(from) as { subject: string }[]) {
        if (subject.startsWith('recording:')) ids.add(Number(subject.slice(10)))
        else if (subject.startsWith('object:')) {
          const sha = subject.slice(7)
          for (const { id } of db.prepare('SELECT id FROM recordings WHERE sha256 = ?').all(sha) as { id: number }[]) ids.add(id)
          if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'derivatives'").get()) {
            for (const { id } of db.prepare('SELECT recording_id AS id FROM derivatives WHERE sha256 = ?').all(sha) as { id: number }[]) ids.add(id)
          }
        }
      }
      for (const { id } of db
        .prepare('SELECT r.id FROM recordings r LEFT JOIN offload_manifests m ON m.recording_id = r.id WHERE m.recording_id IS NULL')
        .all() as { id: number }[])
        ids.add(id)
      const uploaded = db.prepare('SELECT event_seq AS seq FROM offload_manifests WHERE recording_id = ?')
      for (const id of ids) {
        if (!db.prepare('SELECT 1 FROM recordings WHERE id = ?').get(id)) continue
        const m = uploaded.get(id) as { seq: number } | undefined
        // Already uploaded with everything it holds (events of this pass's own uploads included)?
        if (m && m.seq >= latestSeq(db, id)) continue
        n.manifest += put(db, 'manifest', String(id), now)
      }
      const head = ledgerHead(db).seq
      db.prepare("INSERT INTO offload_state (key, value) VALUES ('manifest.scannedThrough', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
        String(head),
      )

      const through = Number(
        (db.prepare("SELECT value FROM offload_state WHERE key = 'ledger.uploadedThrough'").get() as { value: string } | undefined)?.value ?? 0,
      )
      if (head > through) n.ledger += put(db, 'ledger', 'chain', now)
      return n
    })
    .immediate()
}

async function runJob(d: OffloadDeps, job: Job, report: OffloadReport, clock: () => Date): Promise<void> {
  switch (job.op) {
    case 'object':
      return uploadObject(d, job, report, clock)
    case 'lock':
      return applyLock(d, job.subject, clock())
    case 'delete':
      return deleteRemote(d, job.subject)
    case 'manifest':
      return uploadManifest(d, Number(job.subject), clock())
    case 'ledger':
      return uploadLedger(d)
  }
}

async function uploadObject(d: OffloadDeps, job: Job, report: OffloadReport, clock: () => Date): Promise<void> {
  const { db, s3, settings } = d
  const sha = job.subject
  const owner = objectsInUse(db).get(sha)
  if (!owner) return // purged meanwhile: nothing to upload
  const done = db.prepare('SELECT 1 FROM offload_objects WHERE sha256 = ? AND verified_at IS NOT NULL AND deleted_at IS NULL').get(sha)
  if (done) return
  const path = d.vault.objectPath(sha)
  try {
    await stat(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT')
      throw new BodyvaultError('OFFLOAD_LOCAL_MISSING', `object ${sha} is neither in the local vault nor verified in S3: run bodyvault verify`, 3)
    throw err
  }
  const key = keys.object(settings.prefix, sha)
  const lock = desiredLock(db, d.policy, sha, owner.recordingIds, clock())
  const multipart = owner.size >= settings.multipartThresholdBytes
  let versionId: string
  if (!multipart) {
    versionId = await s3.putFile(key, path, sha, owner.size, lock)
  } else {
    versionId = await multipartUpload(d, job, key, path, sha, owner.size)
    if (lock.retainUntil) await s3.setRetention(key, versionId, lock.retainUntil)
    if (lock.legalHold) await s3.setLegalHold(key, versionId, true)
  }
  db.prepare(`INSERT INTO offload_objects (sha256, size, key, version_id, uploaded_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(sha256) DO UPDATE SET size = excluded.size, key = excluded.key, version_id = excluded.version_id, uploaded_at = excluded.uploaded_at, verified_at = NULL, deleted_at = NULL, evicted_at = NULL`).run(
    sha,
    owner.size,
    key,
    versionId,
    clock().toISOString(),
  )

  // Verified only after reading it back: the server is not trusted to have checked the checksum.
  const back = await s3.hashVersion(key, versionId)
  if (back.sha256 !== sha || back.size !== owner.size) {
    throw new Error(`read-back of ${key} version ${versionId} hashes to ${back.sha256} (${back.size} bytes), not ${sha} (${owner.size} bytes): uploading again`)
  }
  const got = await s3.getLock(key, versionId)
  if (lock.legalHold && !got.legalHold) throw new Error(`legal hold on ${key} did not take effect`)
  if (lock.retainUntil && (!got.retainUntil || got.retainUntil.getTime() < lock.retainUntil.getTime()))
    throw new Error(`COMPLIANCE retention on ${key} did not take effect (server says ${got.retainUntil?.toISOString() ?? 'none'})`)
  const cachedSince =
    (db.prepare("SELECT min(ingested_at) AS m FROM recordings WHERE sha256 = ? AND status = 'stored'").get(sha) as { m: string | null }).m ??
    clock().toISOString()
  db.transaction(() => {
    const now = clock()
    appendEvent(db, {
      type: 'offloaded',
      actor: `station:${d.stationId}`,
      subject: `object:${sha}`,
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
    db.prepare('UPDATE offload_objects SET verified_at = ?, retain_until = ?, legal_hold = ?, cached_since = ? WHERE sha256 = ?').run(
      now.toISOString(),
      got.retainUntil?.toISOString() ?? null,
      got.legalHold ? 1 : 0,
      cachedSince,
      sha,
    )
  }).immediate()
  report.verified.push({ sha256: sha, size: owner.size, versionId, multipart })
}

/**
 * Multipart upload that survives outages and restarts: the upload id and
 * each finished part's ETag are saved in the queue row after every part;
 * the next attempt asks the server which parts it holds and sends only the
 * rest. One part in memory at a time (memory stays bounded).
 */
async function multipartUpload(d: OffloadDeps, job: Job, key: string, path: string, sha: string, size: number): Promise<string> {
  const { db, s3 } = d
  let prog: Progress | null = job.progress ? (JSON.parse(job.progress) as Progress) : null
  if (prog) {
    const have = await s3.listParts(key, prog.uploadId)
    if (have === null) prog = null
    else prog.parts = Object.fromEntries([...have].filter(([n, etag]) => prog!.parts[String(n)] === etag).map(([n, etag]) => [String(n), etag]))
  }
  if (!prog) prog = { uploadId: await s3.createMultipart(key, sha), partSize: d.settings.partSizeBytes, parts: {} }
  const save = (): void => void db.prepare('UPDATE offload_queue SET progress = ? WHERE id = ?').run(JSON.stringify(prog), job.id)
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
  db.prepare('UPDATE offload_queue SET progress = NULL WHERE id = ?').run(job.id)
  return versionId
}

async function applyLock(d: OffloadDeps, sha: string, now: Date): Promise<void> {
  const { db, s3 } = d
  const owner = objectsInUse(db).get(sha)
  const row = db
    .prepare(
      'SELECT key, version_id AS versionId, retain_until AS retainUntil, legal_hold AS legalHold FROM offload_objects WHERE sha256 = ? AND verified_at IS NOT NULL AND deleted_at IS NULL',
    )
    .get(sha) as { key: string; versionId: string; retainUntil: string | null; legalHold: number } | undefined
  if (!owner || !row) return
  const want = desiredLock(db, d.policy, sha, owner.recordingIds, now)
  const log = d.logger.child({ job: 'offload', sha256: sha })
  // Retention first, then the hold comes off: never a moment with neither.
  if (want.retainUntil && (row.retainUntil === null || want.retainUntil.toISOString() > row.retainUntil)) {
    await s3.setRetention(row.key, row.versionId, want.retainUntil)
    db.prepare('UPDATE offload_objects SET retain_until = ? WHERE sha256 = ?').run(want.retainUntil.toISOString(), sha)
    log.info({ event: 'offload.retention-extended', from: row.retainUntil, to: want.retainUntil.toISOString() }, 'remote retention extended')
  }
  if (want.legalHold !== (row.legalHold === 1)) {
    await s3.setLegalHold(row.key, row.versionId, want.legalHold)
    db.prepare('UPDATE offload_objects SET legal_hold = ? WHERE sha256 = ?').run(want.legalHold ? 1 : 0, sha)
    log.info(
      { event: 'offload.legal-hold', on: want.legalHold },
      want.legalHold ? 'remote legal hold placed (deadline indefinite)' : 'remote legal hold lifted (deadline is a date again)',
    )
  }
}

async function deleteRemote(d: OffloadDeps, sha: string): Promise<void> {
  const { db, s3 } = d
  if (objectInUse(db, sha)) return // re-ingested, or a mistake: never delete what a stored recording needs
  const row = db.prepare('SELECT key, version_id AS versionId FROM offload_objects WHERE sha256 = ? AND deleted_at IS NULL').get(sha) as
    | { key: string; versionId: string }
    | undefined
  if (!row) return
  const versions = await s3.versions(row.key)
  for (const v of versions) {
    const lock = await s3.getLock(row.key, v)
    if (lock.legalHold) await s3.setLegalHold(row.key, v, false)
    if (lock.retainUntil && lock.retainUntil.getTime() > Date.now()) {
      throw new Deferred(
        new Date(lock.retainUntil.getTime() + 60_000),
        `remote copy ${row.key} is locked (COMPLIANCE) until ${lock.retainUntil.toISOString()}: deleting then`,
      )
    }
    await s3.deleteVersion(row.key, v)
  }
  db.transaction(() => {
    appendEvent(db, {
      type: 'remote-deleted',
      actor: `station:${d.stationId}`,
      subject: `object:${sha}`,
      payload: { sha256: sha, bucket: s3.bucket, key: row.key, versionIds: versions },
    })
    db.prepare('UPDATE offload_objects SET deleted_at = ? WHERE sha256 = ?').run(new Date().toISOString(), sha)
  }).immediate()
}

async function uploadManifest(d: OffloadDeps, recordingId: number, now: Date): Promise<void> {
  const { manifest, maxSeq } = buildManifest(d.db, recordingId, d.stationId, d.settings.prefix)
  await d.s3.putText(keys.manifest(d.settings.prefix, recordingId), JSON.stringify(manifest, null, 1), 'application/json')
  d.db
    .prepare(
      'INSERT INTO offload_manifests (recording_id, event_seq, uploaded_at) VALUES (?, ?, ?) ON CONFLICT(recording_id) DO UPDATE SET event_seq = excluded.event_seq, uploaded_at = excluded.uploaded_at',
    )
    .run(recordingId, maxSeq, now.toISOString())
}

/** The chain, in append-only JSON-lines segments, each under legal hold (the ledger is kept for ever). */
async function uploadLedger(d: OffloadDeps): Promise<void> {
  const { db } = d
  for (;;) {
    const through = Number(
      (db.prepare("SELECT value FROM offload_state WHERE key = 'ledger.uploadedThrough'").get() as { value: string } | undefined)?.value ?? 0,
    )
    const rows = db
      .prepare('SELECT seq, type, at, actor, subject, payload, prev_hash AS prevHash, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(through, SEGMENT_EVENTS) as { seq: number; payload: string }[]
    if (rows.length === 0) return
    const text = rows.map((r) => JSON.stringify({ ...r, payload: JSON.parse(r.payload) as unknown })).join('\n') + '\n'
    const last = rows[rows.length - 1]!.seq
    await d.s3.putText(keys.ledger(d.settings.prefix, through + 1, last), text, 'application/x-ndjson', { retainUntil: null, legalHold: true })
    db.prepare("INSERT INTO offload_state (key, value) VALUES ('ledger.uploadedThrough', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
      String(last),
    )
  }
}

/**
 * The local cache policy: evicts objects whose remote copy is verified,
 * oldest first, when older than keepDays or while the cache is over
 * maxBytes. Each eviction is an `evicted` event, committed before the
 * unlink (a crash in between leaves a harmless cached copy).
 */
async function evict(d: OffloadDeps, now: Date): Promise<OffloadReport['evicted']> {
  const { db, vault } = d
  const { keepDays, maxBytes } = d.settings.cache
  const out: OffloadReport['evicted'] = []
  if (keepDays === null && maxBytes === null) return out
  const inUse = objectsInUse(db)
  const rows = db
    .prepare(
      'SELECT sha256, size, version_id AS versionId, cached_since AS cachedSince, evicted_at AS evictedAt FROM offload_objects WHERE verified_at IS NOT NULL AND deleted_at IS NULL',
    )
    .all() as { sha256: string; size: number; versionId: string; cachedSince: string | null; evictedAt: string | null }[]
  const evicted = new Set(rows.filter((r) => r.evictedAt !== null).map((r) => r.sha256))
  let localBytes = 0
  for (const [sha, o] of inUse) if (!evicted.has(sha)) localBytes += o.size
  const candidates = rows.filter((r) => r.evictedAt === null && inUse.has(r.sha256)).sort((a, b) => (a.cachedSince ?? '').localeCompare(b.cachedSince ?? ''))
  const cutoff = keepDays === null ? null : new Date(now.getTime() - keepDays * 86_400_000).toISOString()
  for (const c of candidates) {
    const old = cutoff !== null && (c.cachedSince ?? '') <= cutoff
    const over = maxBytes !== null && localBytes > maxBytes
    if (!old && !over) continue
    const path = vault.objectPath(c.sha256)
    try {
      await stat(path)
    } catch {
      continue // not here: verify decides whether that is a problem
    }
    const reason = old ? `cached longer than ${keepDays} day(s)` : `local cache over ${maxBytes} bytes`
    db.transaction(() => {
      appendEvent(db, {
        type: 'evicted',
        actor: `station:${d.stationId}`,
        subject: `object:${c.sha256}`,
        at: now,
        payload: { sha256: c.sha256, size: c.size, versionId: c.versionId, reason },
      })
      db.prepare('UPDATE offload_objects SET evicted_at = ?, cached_since = NULL WHERE sha256 = ?').run(now.toISOString(), c.sha256)
    }).immediate()
    await rm(path, { force: true })
    localBytes -= c.size
    out.push({ sha256: c.sha256, size: c.size, reason })
  }
  return out
}

/** Runs passes every `intervalSeconds` until stopped; passes never overlap. */
export function startOffloadWorker(d: OffloadDeps): { stop(): Promise<void>; runNow(): Promise<OffloadReport | undefined> } {
  let stopped = false
  let running: Promise<OffloadReport | undefined> | null = null
  let timer: NodeJS.Timeout | null = null
  const log = d.logger.child({ job: 'offload' })
  const pass = (): Promise<OffloadReport | undefined> => {
    if (running) return running
    running = runOffloadOnce(d)
      .catch((err: unknown) => {
        log.error({ event: 'offload.error', err: errorMessage(err) }, 'offload pass failed')
        return undefined
      })
      .finally(() => {
        running = null
        if (!stopped) timer = setTimeout(() => void pass(), d.settings.intervalSeconds * 1000)
      })
    return running
  }
  timer = setTimeout(() => void pass(), 1000)
  return {
    runNow: pass,
    stop: async () => {
      stopped = true
      if (timer) clearTimeout(timer)
      if (running) await running
    },
  }
}
