/**
 * Block hashes and the fixity schedule of vault objects (tables
 * object_fixity and fixity_runs, migration 012). The objects the fixity job
 * looks after are those stored recordings need (their originals and
 * derivatives, as objects.ts counts them) whose local copy was not evicted
 * to S3 on the record.
 */
import type { Db } from './db.js'

export interface ObjectFixity {
  sha256: string
  size: number
  blockBytes: number | null
  /** 32 bytes per block, in order; null until computed. */
  blocks: Buffer | null
  hashedAt: string | null
  /** The last time every byte was found to match (at ingest, when made, when served first, by the job). */
  checkedAt: string | null
  /** Set while the local copy is known bad (missing, wrong size, a block that does not match). */
  failedAt: string | null
  failure: string | null
}

/** A bad local copy: the payload of its `fixity-failed` event (src/ledger/events.ts), and what the row's `failure` says. */
export type FixityProblem = {
  sha256: string
  size: number
  problem: 'missing' | 'size' | 'block' | 'hash'
  /** The first block that did not match (of `blockBytes` bytes), when known. */
  block: number | null
  blockBytes: number | null
  /** The length on disk (null: missing) and, when the whole file was hashed, its SHA-256. */
  foundSize: number | null
  foundSha256: string | null
}

/** The `failure` column: one line for the catalog row and the logs, from the event's payload (a rebuild writes the same line again). */
export function describeProblem(f: FixityProblem): string {
  switch (f.problem) {
    case 'missing':
      return 'the local copy is missing'
    case 'size':
      return `the local copy has ${f.foundSize} bytes, recorded ${f.size}`
    case 'block':
      return `block ${f.block} (bytes from ${(f.block ?? 0) * (f.blockBytes ?? 0)}) does not match its recorded SHA-256`
    case 'hash':
      return `the local copy hashes to ${f.foundSha256 ?? '?'}, recorded ${f.sha256}`
  }
}

const SELECT = `SELECT sha256, size, block_bytes AS blockBytes, blocks, hashed_at AS hashedAt, checked_at AS checkedAt,
  failed_at AS failedAt, failure FROM object_fixity`

export function getObjectFixity(db: Db, sha256: string): ObjectFixity | undefined {
  return db.prepare(`${SELECT} WHERE sha256 = ?`).get(sha256) as ObjectFixity | undefined
}

/**
 * The block list of an object whose bytes were just hashed and found to be
 * the recorded ones (in the same pass: ingest, a new derivative, a first
 * serve, the fixity job, a repair): the object counts as checked at `at`,
 * and a known failure is cleared.
 */
export function recordObjectBlocks(db: Db, o: { sha256: string; size: number; blockBytes: number; blocks: Buffer; at: string }): void {
  db.prepare(`INSERT INTO object_fixity (sha256, size, block_bytes, blocks, hashed_at, checked_at, failed_at, failure) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)
    ON CONFLICT(sha256) DO UPDATE SET size = excluded.size, block_bytes = excluded.block_bytes, blocks = excluded.blocks, hashed_at = excluded.hashed_at,
      checked_at = excluded.checked_at, failed_at = NULL, failure = NULL`).run(o.sha256, o.size, o.blockBytes, o.blocks, o.at, o.at)
}

/** Every byte was found to match its block list again. */
export function markObjectChecked(db: Db, sha256: string, at: string): void {
  db.prepare('UPDATE object_fixity SET checked_at = ?, failed_at = NULL, failure = NULL WHERE sha256 = ?').run(at, sha256)
}

/** The local copy is bad (in the transaction of its `fixity-failed` event); its block list, if any, stays. */
export function markObjectFailed(db: Db, o: { sha256: string; size: number; at: string; failure: string }): void {
  db.prepare(`INSERT INTO object_fixity (sha256, size, checked_at, failed_at, failure) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(sha256) DO UPDATE SET checked_at = excluded.checked_at, failed_at = excluded.failed_at, failure = excluded.failure`).run(
    o.sha256,
    o.size,
    o.at,
    o.at,
    o.failure,
  )
}

/**
 * Every byte of an object was hashed whole and found to be the recorded
 * SHA-256 without a block list being made (fetched back from S3): it counts
 * as checked at `at`. A block list it has stays (the bytes are the same);
 * a known failure stays too, until a check or repair closes it on the record.
 */
export function recordObjectHashed(db: Db, o: { sha256: string; size: number; at: string }): void {
  db.prepare(`INSERT INTO object_fixity (sha256, size, checked_at) VALUES (?, ?, ?)
    ON CONFLICT(sha256) DO UPDATE SET checked_at = max(coalesce(checked_at, ''), excluded.checked_at)`).run(o.sha256, o.size, o.at)
}

/**
 * An object's fixity state as a catalog rebuilt from the ledger finds it
 * (src/offload/rebuild-fixity.ts): its last check the ledger proves, and
 * its open failure. No block list: one is made again from the bytes at the
 * next check or serve.
 */
export function restoreObjectFixity(
  db: Db,
  o: { sha256: string; size: number; checkedAt: string | null; failedAt: string | null; failure: string | null },
): void {
  db.prepare('INSERT INTO object_fixity (sha256, size, checked_at, failed_at, failure) VALUES (?, ?, ?, ?, ?)').run(
    o.sha256,
    o.size,
    o.checkedAt,
    o.failedAt,
    o.failure,
  )
}

// Objects stored recordings need (originals and derivatives, once each), with
// the earliest time one of them came into the vault, and whether the local
// copy was evicted on the record (a verified remote copy holds it).
const OBJECTS = `WITH used(sha256, size, since) AS (
    SELECT sha256, size, ingested_at FROM recordings WHERE status = 'stored'
    UNION ALL
    SELECT d.sha256, d.size, d.created_at FROM derivatives d JOIN recordings r ON r.id = d.recording_id WHERE r.status = 'stored'
  ), objs AS (
    SELECT u.sha256, max(u.size) AS size, min(u.since) AS since,
      EXISTS (SELECT 1 FROM offload_objects c WHERE c.sha256 = u.sha256 AND c.evicted_at IS NOT NULL AND c.deleted_at IS NULL) AS remote
    FROM used u GROUP BY u.sha256
  )`

export interface FixityCandidate {
  sha256: string
  size: number
  checkedAt: string | null
  failedAt: string | null
}

/**
 * Up to `limit` local objects due for a check, known-bad first, then never
 * checked, then oldest-checked: those last checked before `dueBefore`, and
 * known-bad ones not checked since `runStart` (each is tried once a run).
 */
export function dueObjects(db: Db, o: { dueBefore: string; runStart: string; limit: number }): FixityCandidate[] {
  return db
    .prepare(
      `${OBJECTS}
    SELECT o.sha256, o.size, f.checked_at AS checkedAt, f.failed_at AS failedAt
    FROM objs o LEFT JOIN object_fixity f ON f.sha256 = o.sha256
    WHERE NOT o.remote AND (f.checked_at IS NULL OR f.checked_at < CASE WHEN f.failed_at IS NOT NULL THEN @runStart ELSE @dueBefore END)
    ORDER BY f.failed_at IS NULL, f.checked_at IS NOT NULL, f.checked_at, o.sha256
    LIMIT @limit`,
    )
    .all(o) as FixityCandidate[]
}

export interface FixityCounts {
  /** Objects stored recordings need. */
  objects: number
  /** Of them, evicted to S3 on the record (no local copy to check). */
  remote: number
  /** Bytes of the local ones. */
  localBytes: number
  neverChecked: number
  /** Last checked before `dueBefore` (or never), or known bad. */
  due: number
  /** Not checked since `overdueBefore` (never-checked ones counted from when they came into the vault). */
  overdue: number
  /** Known bad (missing, wrong size, a block that does not match) and not repaired. */
  failed: number
  /** The oldest last check of a local object (null when none was ever checked). */
  oldestCheck: string | null
}

/** The cut-offs of the fixity schedule at one instant (src/fixity/schedule.ts computes them from the settings). */
export interface FixityCutoffs {
  /** Last checked before this (or never), or known bad: due. */
  dueBefore: string
  /** Not checked since this (never-checked ones counted from when they came into the vault): overdue. */
  overdueBefore: string
}

// Each bar's rule, once: fixityCounts counts them, fixityObjects lists them (over objs o LEFT JOIN object_fixity f).
const WHICH = {
  neverChecked: 'f.checked_at IS NULL',
  due: '(f.failed_at IS NOT NULL OR f.checked_at IS NULL OR f.checked_at < @dueBefore)',
  overdue: 'coalesce(f.checked_at, o.since) < @overdueBefore',
  failed: 'f.failed_at IS NOT NULL',
} as const
export type FixityBar = keyof typeof WHICH

export function fixityCounts(db: Db, o: FixityCutoffs): FixityCounts {
  const r = db
    .prepare(
      `${OBJECTS}
    SELECT count(*) AS objects, coalesce(sum(o.remote), 0) AS remote, coalesce(sum(CASE WHEN NOT o.remote THEN o.size END), 0) AS localBytes,
      coalesce(sum(NOT o.remote AND ${WHICH.neverChecked}), 0) AS neverChecked,
      coalesce(sum(NOT o.remote AND ${WHICH.due}), 0) AS due,
      coalesce(sum(NOT o.remote AND ${WHICH.overdue}), 0) AS overdue,
      coalesce(sum(NOT o.remote AND ${WHICH.failed}), 0) AS failed,
      min(CASE WHEN NOT o.remote THEN f.checked_at END) AS oldestCheck
    FROM objs o LEFT JOIN object_fixity f ON f.sha256 = o.sha256`,
    )
    .get({ dueBefore: o.dueBefore, overdueBefore: o.overdueBefore }) as FixityCounts
  return r
}

/**
 * The local objects one of fixityCounts' bars counts (the dashboard's fixity
 * bars): how many, and the first `limit`, oldest first (by failure, else last
 * check, else arrival in the vault). `at` is the failure, else the last check.
 */
export function fixityObjects(
  db: Db,
  which: FixityBar,
  limit: number,
  cutoffs: FixityCutoffs,
): { total: number; objects: { sha256: string; at: string | null; failure: string | null }[] } {
  const from = `FROM objs o LEFT JOIN object_fixity f ON f.sha256 = o.sha256 WHERE NOT o.remote AND ${WHICH[which]}`
  const params = { dueBefore: cutoffs.dueBefore, overdueBefore: cutoffs.overdueBefore }
  const uses = (sql: string) => Object.fromEntries(Object.entries(params).filter(([k]) => sql.includes(`@${k}`)))
  const count = `${OBJECTS} SELECT count(*) ${from}`
  const total = db.prepare(count).pluck().get(uses(count)) as number
  const list = `${OBJECTS} SELECT o.sha256, coalesce(f.failed_at, f.checked_at) AS at, f.failure ${from}
    ORDER BY coalesce(f.failed_at, f.checked_at, o.since), o.sha256 LIMIT @limit`
  const objects = db.prepare(list).all({ ...uses(list), limit }) as { sha256: string; at: string | null; failure: string | null }[]
  return { total, objects }
}

/** Bytes of the local objects (the job's pass time at its budget). */
export function localObjectBytes(db: Db): number {
  return (db.prepare(`${OBJECTS} SELECT coalesce(sum(size), 0) FROM objs WHERE NOT remote`).pluck().get() as number) ?? 0
}

/** Known-bad local objects: what `fixity status` lists. */
export function failedObjects(db: Db, limit = 100): { sha256: string; size: number; failedAt: string; failure: string }[] {
  return db
    .prepare('SELECT sha256, size, failed_at AS failedAt, failure FROM object_fixity WHERE failed_at IS NOT NULL ORDER BY failed_at LIMIT ?')
    .all(limit) as { sha256: string; size: number; failedAt: string; failure: string }[]
}

export interface FixityRun {
  startedAt: string
  endedAt: string
  trigger: 'schedule' | 'manual'
  scope: 'due' | 'all'
  objects: number
  bytes: number
  failed: number
  repaired: number
  /** Objects still due when it ended. */
  remaining: number
  /** It ended early (the station stopped, or it was interrupted). */
  stopped: boolean
  eventSeq: number | null
}

export function insertFixityRun(db: Db, r: FixityRun): number {
  return Number(
    db
      .prepare(
        'INSERT INTO fixity_runs (started_at, ended_at, trigger, scope, objects, bytes, failed, repaired, remaining, stopped, event_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(r.startedAt, r.endedAt, r.trigger, r.scope, r.objects, r.bytes, r.failed, r.repaired, r.remaining, r.stopped ? 1 : 0, r.eventSeq).lastInsertRowid,
  )
}

export function lastFixityRun(db: Db): FixityRun | undefined {
  const r = db
    .prepare(
      `SELECT started_at AS startedAt, ended_at AS endedAt, trigger, scope, objects, bytes, failed, repaired, remaining, stopped, event_seq AS eventSeq
       FROM fixity_runs ORDER BY id DESC LIMIT 1`,
    )
    .get() as (Omit<FixityRun, 'stopped'> & { stopped: number }) | undefined
  return r ? { ...r, stopped: r.stopped === 1 } : undefined
}

/** Bytes every fixity run read, all time (for /metrics). */
export function fixityBytesTotal(db: Db): number {
  return db.prepare('SELECT coalesce(sum(bytes), 0) FROM fixity_runs').pluck().get() as number
}
