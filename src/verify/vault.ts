import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { type Db, openSnapshotReader } from '../catalog/db.js'
import { objectInUse } from '../catalog/objects.js'
import type { Problem } from '../common/problems.js'
import { checkAnchors } from '../anchor/check.js'
import type { AnchoringReport } from '../anchor/sources.js'
import { subjects } from '../ledger/events.js'
import type { KeyBreak } from '../ledger/key-chain.js'
import { LedgerTree } from '../ledger/tree.js'
import { auditLedger, auditLedgerSync, type LedgerAudit } from '../ledger/audit.js'
import { countEvents, type FoldEvent, foldEventsOfType, storedEventsOfType } from '../ledger/ledger.js'
import { RECORDING_CHANGES } from '../ledger/recordings.js'
import { checkMediaCatalog, hashMediaObjects, type MediaCatalogCheck } from '../media/check.js'
import { checkOffloadCatalog, OffloadFold } from '../offload/check.js'
import { checkRetentionCatalog, RetentionFold } from '../retention/check.js'
import { fixityState } from '../fixity/state.js'
import type { FixitySettings } from '../fixity/settings.js'
import type { CopyResult } from '../vault/hash.js'
import { HashPool } from '../vault/hash-pool.js'
import { type RehashReport, rehashObjects } from '../vault/rehash.js'
import type { Vault } from '../vault/store.js'
import { checkVaultIdentity, type IdentityReport } from './identity.js'
import type { NeededObjects } from './needed.js'
import { checkRecordings, checkRecordingsFast, recordingChanges } from './recordings-check.js'

export type { Problem, ProblemKind } from '../common/problems.js'

export interface VerifyReport {
  ok: boolean
  checked: { objects: number; events: number; recordings: number; bytes: number }
  problems: Problem[]
  /** Not problems: complete objects no recording points to (an ingest cut off before its commit), anchors not reached, restores. */
  notes: string[]
  /** How far the latest checkpoint got outside the catalog (null: no checkpoint or no station key yet). */
  anchoring: AnchoringReport | null
  /** The chain of station keys: how many, the current one, and where it was broken (a key replaced after loss), in every report for ever. */
  keys: { count: number; current: string | null; breaks: KeyBreak[] }
}

/** Everything verify reads from the catalog and the ledger, compared, from one snapshot. */
export interface Snapshot {
  head: number
  events: number
  recordings: number
  problems: Problem[]
  /** Original objects the ledger says must exist, their size, and the recordings that use them. */
  needed: NeededObjects
  media: MediaCatalogCheck
  offload: OffloadFold
  identity: IdentityReport
  /** The ledger's tree from the audit's workers (the checkpoints are checked against it), when they ran and found nothing wrong. */
  tree: LedgerTree | undefined
}

export interface VerifyOptions {
  chunkBytes?: number
  onObject?: (done: number, total: number) => void
  stationId?: string
  anchors?: Parameters<typeof checkAnchors>[2]
  /**
   * The daily run: ledger, catalog, checkpoints and the fixity job's state;
   * objects are only looked at (present, the right size), not re-hashed.
   */
  quick?: boolean
  /** The station's fixity settings: with `quick`, its known-bad objects are problems and its warning a note. */
  fixity?: FixitySettings
  /** Threads hashing objects (default: one per core). */
  threads?: number
  /** The ledger audit's worker threads and the ledger size from which it uses them (default: auditLedger's, one per core up to 4, from 50,000 events). */
  ledger?: { workers?: number; minRows?: number }
}

/**
 * Re-walks the ledger chain, checks every catalog row against the state the
 * ledger gives it, checks the vault's own state (marker, chain of keys, key
 * file) and re-hashes every object a stored recording needs.
 *
 * All catalog reads happen in one read snapshot (readSnapshot): a daemon
 * writing meanwhile (an ingest, a probe) cannot make the ledger and the
 * tables look apart. Its events are folded into the state the catalog
 * must have while auditLedger recomputes every hash, link and gap on the
 * other cores, through the snapshot's last event, whose hash it must end
 * on. Hashing objects follows, on all cores with bounded memory; an object
 * missing then is looked up once more in the ledger as it is now (purged or
 * evicted since the snapshot is not a problem).
 */
export async function verifyVault(db: Db, vault: Vault, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const snap = await readSnapshot(db, vault, opts.stationId, opts.ledger)
  const { problems, needed, media, offload } = snap
  const chunkBytes = opts.chunkBytes ?? 4 << 20
  // The checkpoints, inside the catalog and outside it (log file, bucket, witnesses): async, so after the snapshot; a checkpoint signs a prefix of the ledger, which later events do not change.
  const anchors = await checkAnchors(db, vault.dataDir, opts.anchors, snap.tree)
  problems.push(...anchors.problems.map((p) => ({ kind: 'checkpoint' as const, ...p })))

  // Objects: the ledger decides which must exist and what they must hash to.
  const { hash, lanes, close } = objectHashing(opts)
  // Evicted from the local cache after a verified offload (or never local after a rebuild from S3): on the record, not a problem.
  const mayBeAbsent = (sha: string): boolean => offload.mayBeAbsent(sha)
  let originals: RehashReport
  let derivatives: RehashReport
  try {
    originals = await rehashObjects(vault, needed, {
      hash,
      lanes,
      mayBeAbsent,
      subject: subjects.object,
      usedBy: ({ ids }) => ids.map((i) => subjects.recording(i)).join(', '),
      altered: 'the object was altered',
      onObject: (done) => opts.onObject?.(done, needed.size),
    })
    // Derivative objects (proxies, thumbnails) re-hashed.
    derivatives = await hashMediaObjects(vault, media.needed, { chunkBytes, mayBeAbsent, hash, lanes })
  } finally {
    await close()
  }
  problems.push(...originals.problems, ...derivatives.problems)
  const objects = originals.objects + derivatives.objects
  const bytes = originals.bytes + derivatives.bytes
  const remoteOnly = originals.absent
  const missing = [...originals.missing, ...derivatives.missing]
  if (missing.length) {
    const gone = goneSince(db, snap.head)
    problems.push(...missing.filter((p) => !gone.has(p.subject.slice('object:'.length))))
  }

  const notes: string[] = [...media.notes, ...anchors.notes]
  if (opts.quick) {
    notes.push('quick: objects looked at (present, recorded size), not re-hashed; run verify without --quick to re-hash them')
    if (opts.fixity) {
      const fx = fixityState(db, opts.fixity, new Date())
      if (fx.failed)
        problems.push({
          kind: 'object-corrupt',
          subject: 'fixity',
          detail: `${fx.failed} object(s) found bad by the rolling fixity check and not repaired (bodyvault fixity status)`,
        })
      if (fx.warning) notes.push(`fixity: ${fx.warning}`)
    }
  }
  if (remoteOnly) notes.push(`${remoteOnly} object(s) are held only in S3 (evicted from the local cache after a verified upload): not re-hashed here`)
  for (const b of snap.identity.chain.breaks)
    notes.push(
      `the chain of station keys is BROKEN at event ${b.seq}: key ${b.fingerprint.slice(0, 16)}… replaced without the old one (${b.previousFingerprint?.slice(0, 16) ?? 'unknown'}…) by ${b.actor} at ${b.at}: ${b.reason}`,
    )
  for (const sha of await listObjects(vault)) {
    // Looked up now: an object an ingest committed after the snapshot is not unreferenced.
    if (!needed.has(sha) && !media.objectShas.has(sha) && !objectInUse(db, sha))
      notes.push(
        `object ${sha} is in the vault but no recording refers to it (an ingest or a media job stopped between storing it and its commit; the next docking of that file, or the job's next run, will use it)`,
      )
  }
  const chain = snap.identity.chain
  return {
    ok: problems.length === 0,
    checked: { objects, events: snap.events, recordings: snap.recordings, bytes },
    problems,
    notes,
    keys: { count: chain.keys.length, current: chain.current?.fingerprint ?? null, breaks: chain.breaks },
    anchoring: anchors.anchoring,
  }
}

/**
 * How verify hashes objects (rehashObjects' `hash` and `lanes`): a HashPool of
 * one thread per core, two objects queued per thread so that none waits
 * between files; with `quick`, a look at the size only (present and of the
 * recorded size, taken as hashing to its name). Exported for bench/verify.ts.
 */
export function objectHashing(opts: Pick<VerifyOptions, 'quick' | 'chunkBytes' | 'threads'>): {
  hash: (path: string, sha256: string) => Promise<CopyResult>
  lanes: number
  close: () => Promise<void>
} {
  if (opts.quick) return { hash: async (path, sha) => ({ sha256: sha, size: (await stat(path)).size }), lanes: 8, close: async () => undefined }
  const pool = new HashPool({ chunk: opts.chunkBytes ?? 4 << 20, ...(opts.threads ? { threads: opts.threads } : {}) })
  return { hash: (path) => pool.hash(path), lanes: pool.threads * 2, close: () => pool.close() }
}

/**
 * Every catalog read of verify, from one snapshot, compared with the state
 * the ledger gives. The snapshot is held on a private read-only connection
 * (BEGIN, then the ledger's head; an in-memory catalog, in tests: this
 * connection, all in this thread). The audit's workers start first and
 * recompute every hash, link and gap through that head on the other cores
 * while this thread folds the snapshot's events into the catalog state and
 * compares the tables (the recordings mostly by SQLite: checkRecordingsFast,
 * trusted once the audit has found every payload canonical; the snapshot
 * stays open until then, for the streamed comparison otherwise): the two
 * overlap instead of running one after the other. (Folding in the workers was measured and rejected: handing a
 * million folded recordings back costs this thread 5-7 µs each in
 * structured-clone decoding, more than parsing and folding them here.)
 * The workers read through their own connections: the audit must end on
 * the head's stored hash, or the ledger was rewritten under verify.
 * Exported for bench/ledger.ts: this is "the ledger part of verify".
 */
export async function readSnapshot(db: Db, vault: Vault, stationId: string | undefined, ledger: VerifyOptions['ledger']): Promise<Snapshot> {
  const reader = db.memory ? undefined : openSnapshotReader(db)
  const on = reader ?? db
  let snap: Snapshot
  let a: LedgerAudit
  let headHash = ''
  let headSeq = 0
  on.exec('BEGIN')
  try {
    const last = on.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined
    headHash = last?.hash ?? ''
    headSeq = last?.seq ?? 0
    const audit = reader ? auditLedger(db, { ...ledger, throughSeq: headSeq }) : Promise.resolve(auditLedgerSync(db, headSeq))
    // Awaited below; a throw here must not leave its rejection unhandled.
    audit.catch(() => undefined)
    snap = compareSnapshot(on, vault, stationId, headSeq, true)
    a = await audit
    // SQLite's comparison holds for payloads in canonical form only: any other, or any other finding, and the
    // recordings are compared the streamed way, still in the snapshot.
    if (a.slowPath > 0 || a.problems.length > 0 || a.lastSeq !== headSeq || a.lastHash !== headHash)
      snap = compareSnapshot(on, vault, stationId, headSeq, false)
  } finally {
    on.exec('COMMIT')
    reader?.close()
  }
  const problems: Problem[] = a.problems.map((c) => ({ kind: 'ledger' as const, subject: `event:${c.seq}`, detail: c.detail }))
  if (headSeq > 0 && (a.lastSeq !== headSeq || a.lastHash !== headHash))
    problems.push({
      kind: 'ledger',
      subject: `event:${headSeq}`,
      detail: `the ledger changed while verify read it: the hash audit ended at event ${a.lastSeq} (${a.lastHash.slice(0, 12)}…), the catalog snapshot at ${headSeq} (${headHash.slice(0, 12)}…); run verify again`,
    })
  snap.problems.unshift(...problems)
  // Synced with the events appended since the snapshot, as a tree built afresh would be.
  if (a.tree && problems.length === 0) snap.tree = LedgerTree.fromAudit(db, { tree: a.tree, lastSeq: a.lastSeq, lastHash: a.lastHash })
  return snap
}

/**
 * The snapshot's events folded (links, hashes and gaps are the audit's) and every table compared with the fold;
 * synchronous, inside the snapshot. Only the events a fold looks at are read, by the type index: first the few that
 * the retention and offload folds take and that change a recording, then the `ingested` ones, streamed against the
 * catalog rows (recordings-check.ts). `fast`: most of that comparison by SQLite (checkRecordingsFast), for a ledger
 * whose payloads the audit finds all canonical.
 */
function compareSnapshot(db: Db, vault: Vault, stationId: string | undefined, head: number, fast: boolean): Snapshot {
  const problems: Problem[] = []
  const retention = new RetentionFold()
  const offload = new OffloadFold()
  const changes = new Map<number, FoldEvent[]>()
  for (const ev of foldEventsOfType(db, new Set([...RetentionFold.types, ...OffloadFold.types, ...RECORDING_CHANGES]))) {
    retention.apply(ev)
    offload.apply(ev)
    recordingChanges(changes, ev)
  }
  const { problems: rows, recordings, needed } = (fast ? checkRecordingsFast(db, changes, head) : undefined) ?? checkRecordings(db, changes)
  problems.push(...rows, ...checkRetentionCatalog(db, retention), ...checkOffloadCatalog(db, offload))
  const identity = checkVaultIdentity(db, vault.dataDir, stationId)
  problems.push(...identity.problems)
  const media = checkMediaCatalog(db)
  problems.push(...media.problems)
  return { head, events: countEvents(db), recordings, problems, needed, media, offload, identity, tree: undefined }
}

/** Objects the ledger has purged or evicted after event `seq`: absent now by right. */
function goneSince(db: Db, seq: number): Set<string> {
  const gone = new Set<string>()
  for (const e of storedEventsOfType(db, ['purged', 'evicted'])) {
    if (e.seq <= seq) continue
    const p = JSON.parse(e.payload) as { sha256?: string; objects?: { sha256: string }[] }
    if (p.sha256) gone.add(p.sha256)
    for (const o of p.objects ?? []) gone.add(o.sha256)
  }
  return gone
}

async function listObjects(vault: Vault): Promise<string[]> {
  const out: string[] = []
  let dirs: string[]
  try {
    dirs = await readdir(vault.objectsDir)
  } catch {
    return out
  }
  for (const d of dirs) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue
    for (const f of await readdir(join(vault.objectsDir, d))) if (/^[0-9a-f]{64}$/.test(f) && f.startsWith(d)) out.push(f)
  }
  return out
}
