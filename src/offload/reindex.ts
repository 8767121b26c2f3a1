import { access } from 'node:fs/promises'
import type { Db } from '../catalog/db.js'
import { countRecordings } from '../catalog/recordings.js'
import { markFetchedBack, recordManifestUpload, setLedgerUploadedThrough, setManifestsScannedThrough } from '../catalog/remote-copies.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { actors, subjects } from '../ledger/events.js'
import { appendEvent, countEvents, ledgerHead, restoreEvents, walkChain, type ChainProblem } from '../ledger/ledger.js'
import type { Expected } from '../ledger/recordings.js'
import type { Vault } from '../vault/store.js'
import { readBucketIndex, type FoundManifest } from './bucket-index.js'
import type { ProxySettings } from '../media/proxy-policy.js'
import { confirmLocalCopy, openObject } from './cache.js'
import type { OffloadSettings } from './config.js'
import type { Manifest } from './manifest.js'
import { neededObjects, RebuildFold, writeRebuiltTables, type RebuildCounts } from './rebuild.js'
import { manifestLock } from './reconcile.js'
import type { S3Store } from './s3.js'

export interface ReindexReport {
  bucket: string
  prefix: string
  ledgerSegments: number
  manifests: number
  events: number
  recordings: number
  stored: number
  purged: number
  cases: number
  holds: number
  /** Retention flags, markers and the roster (units, officers, devices, assignments, attributions), from their events. */
  flags: number
  markers: number
  reviews: number
  roster: RebuildCounts['roster']
  media: Pick<RebuildCounts, 'mediaInfo' | 'derivatives' | 'links' | 'mediaJobs' | 'reprobe'>
  /** Open fixity findings (the local copy known bad, not repaired), objects with a check on the record, fixity job runs. */
  fixity: RebuildCounts['fixity']
  /** Problems the rebuilt chain has (e.g. events missing from the bucket). */
  ledgerProblems: ChainProblem[]
  /** Manifests whose snapshot disagrees with the ledger (stale: uploaded before later events). */
  staleManifests: number[]
  /** Recordings the ledger knows whose manifest is not in the bucket (deleted, or never written): rebuilt from the ledger alone. */
  manifestsMissing: number[]
  /** Manifests a delete marker hides (someone deleted the key; the version under it was read). */
  manifestsHidden: number[]
  /** Manifests without a legal hold (written before manifests were held): the offload worker writes them again under one. */
  manifestsUnprotected: number[]
  /**
   * Remote copies HEAD-checked in the bucket; with `local`, what became of each needed object whose copy is in the data dir:
   * `present`, found good; `replaced`, found bad, reported and replaced by a good copy (counted in `fetched` too); `failed`,
   * found bad with no good copy to be had (reported: `fixity-failed`), or (with `fetchMissing`) not brought back, each with why.
   * With `fetchMissing`, `fetched` also counts the objects absent from the data dir, brought back from the bucket; without it
   * those stay in the bucket, evicted on the record.
   */
  objects: {
    remote: number
    checked: number
    missing: string[]
    present: number
    presentBytes: number
    fetched: number
    fetchedBytes: number
    replaced: string[]
    failed: string[]
  }
  /** What this rebuild does not restore (also in the `catalog-rebuilt` event; `bodyvault doctor` repeats it). */
  notRestored: string[]
  notes: string[]
  durationMs: number
}

export interface ReindexOptions {
  db: Db
  vault: Vault
  s3: S3Store
  settings: OffloadSettings
  stationId: string
  logger: Logger
  /**
   * The copies already in the data dir (objects kept, catalog lost) of the objects a stored recording needs (originals and
   * derivatives): each checked by `checkLocal` (the station's Fixity.check: hashed whole, a bad copy reported and replaced by
   * a good one where one can be had) and on the record as local only when good. Without `local` they stay evicted on the
   * record, unchecked and unused. `fetchMissing` (`--fetch`) also brings the absent ones back from the bucket.
   */
  local?: { checkLocal(o: { sha256: string; size: number }): Promise<'ok' | 'failed' | 'repaired'>; fetchMissing: boolean }
  /** The station's proxy settings: a rebuilt queued proxy job gets the rank its recorded probe implies (src/media/policy.ts). */
  proxy: ProxySettings
  now?: () => Date
  /**
   * Called inside the rebuild's transaction, after the `catalog-rebuilt`
   * event: the place for the anchors' `restored` event (issue 14), naming
   * the last checkpoint the bucket holds and the rebuilt head.
   */
  onRebuilt?: (db: Db, rebuilt: { head: { seq: number; hash: string }; events: number }) => void
}

/**
 * Rebuilds a catalog from the bucket alone, into an EMPTY data dir: the
 * ledger segments and the manifests' events give the chain (kept verbatim,
 * with its hashes, so it still verifies); folding it gives every table the
 * ledger defines (./rebuild.ts). Manifests are cross-checked with the
 * chain: a recording without one is rebuilt from the ledger alone and
 * reported, never skipped. Objects stay in S3 (each checked with a HEAD:
 * size and SHA-256 metadata) and come back into the local cache when read,
 * by `restore-object`, or all at once with `local.fetchMissing`; a copy
 * still in the data dir is hashed whole and kept only when good (`local`). A `catalog-rebuilt`
 * event closes the rebuild; the chain goes on from it.
 */
export async function reindexFromS3(d: ReindexOptions): Promise<ReindexReport> {
  const { db, s3, settings } = d
  const t0 = Date.now()
  if (countEvents(db) > 0 || countRecordings(db) > 0) {
    throw new BodyvaultError(
      'REINDEX_NOT_EMPTY',
      `the catalog in ${d.vault.dataDir} is not empty: reindex --from-s3 rebuilds into an empty data dir (set BODYVAULT_DATA_DIR or dataDir to a new folder)`,
    )
  }
  const prefix = settings.prefix
  const index = await readBucketIndex(s3, prefix)
  const fold = new RebuildFold()
  for (const ev of index.events) fold.apply(ev)
  const objects = await checkRemoteObjects(s3, fold)
  const now = (d.now ?? (() => new Date()))()
  const actor = actors.station(d.stationId)

  const chain: ChainProblem[] = []
  const r = db
    .transaction(() => {
      restoreEvents(db, index.events)
      // Walked for its problems only: the fold above read the same events from the bucket.
      for (const _ of walkChain(db, chain));
      const counts = writeRebuiltTables(db, fold, index.manifests, now, d.proxy)
      const m = crossCheckManifests(db, fold.recordings, index.manifests)
      for (const id of m.recorded) {
        const found = index.manifests.get(id)!
        recordManifestUpload(
          db,
          id,
          found.manifest.events.reduce((x, e) => Math.max(x, e.seq), 0),
          now.toISOString(),
        )
      }
      setLedgerUploadedThrough(db, index.segmentsThrough)
      setManifestsScannedThrough(db, index.events[index.events.length - 1]!.seq)
      const notRestored = whatIsNotRestored(fold, counts, m.missing)
      appendEvent(db, {
        type: 'catalog-rebuilt',
        actor,
        subject: subjects.station(d.stationId),
        at: now,
        payload: {
          source: 's3',
          bucket: s3.bucket,
          prefix,
          events: index.events.length,
          recordings: counts.recordings,
          manifests: index.manifests.size,
          ledgerSegments: index.ledgerSegments,
          chainProblems: chain.length,
          manifestsMissing: m.missing,
          notRestored,
        },
      })
      d.onRebuilt?.(db, { head: ledgerHead(db), events: index.events.length })
      return { counts, m, notRestored }
    })
    .immediate()

  const report: ReindexReport = {
    bucket: s3.bucket,
    prefix,
    ledgerSegments: index.ledgerSegments,
    manifests: index.manifests.size,
    events: index.events.length,
    recordings: r.counts.recordings,
    stored: r.counts.stored,
    purged: r.counts.purged,
    cases: r.counts.cases,
    holds: r.counts.holds,
    flags: r.counts.flags,
    markers: r.counts.markers,
    reviews: r.counts.reviews,
    roster: r.counts.roster,
    media: {
      mediaInfo: r.counts.mediaInfo,
      derivatives: r.counts.derivatives,
      links: r.counts.links,
      mediaJobs: r.counts.mediaJobs,
      reprobe: r.counts.reprobe,
    },
    fixity: r.counts.fixity,
    ledgerProblems: chain,
    staleManifests: r.m.stale,
    manifestsMissing: r.m.missing,
    manifestsHidden: r.m.hidden,
    manifestsUnprotected: r.m.unprotected,
    objects: { ...objects, present: 0, presentBytes: 0, fetched: 0, fetchedBytes: 0, replaced: [], failed: [] },
    notRestored: r.notRestored,
    notes: index.notes,
    durationMs: 0,
  }
  if (d.local) await settleNeeded(d, d.local, fold, report.objects, actor)
  report.durationMs = Date.now() - t0
  d.logger.info(
    { event: 'offload.reindexed', events: report.events, recordings: report.recordings, problems: chain.length, manifestsMissing: r.m.missing.length },
    'catalog rebuilt from S3',
  )
  return report
}

/**
 * Each needed object with a remote copy whose copy is in the data dir (and,
 * with `fetchMissing`, each absent one: fetched) is local at the end or
 * counted failed. A copy already in the data dir is never taken on trust:
 * it is checked first, and marked local only when good (or repaired); one
 * rule for plain `reindex --from-s3` and for `--fetch`.
 */
async function settleNeeded(
  d: ReindexOptions,
  local: NonNullable<ReindexOptions['local']>,
  fold: RebuildFold,
  out: ReindexReport['objects'],
  actor: string,
): Promise<void> {
  const reason = local.fetchMissing ? 'reindex --fetch' : 'reindex'
  for (const sha256 of neededObjects(fold).keys()) {
    const o = fold.offload.objects.get(sha256)
    if (!o || o.deleted) continue
    const size = Number(fold.offloaded.get(sha256)!.p.size)
    try {
      if (!(await isThere(d.vault.objectPath(sha256)))) {
        if (!local.fetchMissing) continue
        const got = await openObject({ db: d.db, vault: d.vault, s3: d.s3, logger: d.logger, actor, reason }, sha256)
        out.fetched++
        out.fetchedBytes += got.size
        continue
      }
      const outcome = await local.checkLocal({ sha256, size })
      if (outcome === 'failed') {
        // Reported (fixity-failed) and still bad: on the record as local, as a rebuild leaves an open finding, so the
        // dashboard counts it and the next check or serve tries the repair again.
        markFetchedBack(d.db, sha256, (d.now?.() ?? new Date()).toISOString())
        out.failed.push(`${sha256} (the local copy does not hash to its name and no good copy could be had: reported, see bodyvault fixity status)`)
        continue
      }
      confirmLocalCopy({ db: d.db, actor, reason, ...(d.now ? { now: d.now } : {}) }, sha256, size)
      if (outcome === 'ok') {
        out.present++
        out.presentBytes += size
      } else {
        out.replaced.push(sha256)
        out.fetched++
        out.fetchedBytes += size
      }
    } catch (err) {
      out.failed.push(`${sha256} (${errorMessage(err)})`)
    }
  }
}

async function isThere(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw err
  }
}

/** Every remote object the catalog will point to: there, the right size, the right SHA-256 metadata; and every needed object has one. */
async function checkRemoteObjects(s3: S3Store, f: RebuildFold): Promise<{ remote: number; checked: number; missing: string[] }> {
  const out = { remote: 0, checked: 0, missing: [] as string[] }
  for (const [sha, o] of f.offload.objects) {
    if (o.deleted) continue
    out.remote++
    try {
      const h = await s3.head(o.key, o.versionId)
      if (!h || h.size !== Number(f.offloaded.get(sha)!.p.size) || (h.sha256 !== null && h.sha256 !== sha)) out.missing.push(sha)
      else out.checked++
    } catch (err) {
      out.missing.push(`${sha} (${errorMessage(err)})`)
    }
  }
  for (const [sha, who] of neededObjects(f))
    if (!f.offload.objects.has(sha)) out.missing.push(`${sha} (${who} was never offloaded: its bytes are not in the bucket)`)
  return out
}

/**
 * Manifests against the chain. A recording the ledger knows without a
 * manifest is `missing` unless its manifest was released (purged, remote
 * deletion done); one a delete marker hides is `hidden`; one without its
 * legal hold is `unprotected`. Only a held, visible manifest (or a released
 * one) counts as uploaded: the offload worker writes the others again.
 */
function crossCheckManifests(
  db: Db,
  recordings: Map<number, Expected>,
  manifests: Map<number, FoundManifest>,
): { missing: number[]; hidden: number[]; unprotected: number[]; stale: number[]; recorded: number[] } {
  const out = { missing: [] as number[], hidden: [] as number[], unprotected: [] as number[], stale: [] as number[], recorded: [] as number[] }
  for (const [id, want] of recordings) {
    const found = manifests.get(id)
    const hold = manifestLock(db, id).legalHold
    if (!found) {
      if (hold) out.missing.push(id)
      continue
    }
    if (JSON.stringify(snapshot(found.manifest.recording)) !== JSON.stringify(snapshot(want))) out.stale.push(id)
    if (found.hidden) out.hidden.push(id)
    else if (hold && !found.held) out.unprotected.push(id)
    else out.recorded.push(id)
  }
  for (const id of manifests.keys()) if (!recordings.has(id)) out.stale.push(id)
  return out
}

/** The recording fields events define (what a manifest snapshot must agree on). */
function snapshot(r: Partial<Manifest['recording']>): unknown[] {
  return [r.id, r.sha256, r.size, r.category ?? null, r.caseNumber ?? null, r.status]
}

/** What the bucket cannot give back, in words an admin acts on. */
function whatIsNotRestored(f: RebuildFold, c: RebuildCounts, missing: number[]): string[] {
  const out: string[] = []
  if (missing.length)
    out.push(`manifests of recording(s) ${missing.join(', ')} are not in the bucket: rebuilt from the ledger alone (the offload worker writes them again)`)
  if (c.reprobe.length)
    out.push(`media info of recording(s) ${c.reprobe.join(', ')}: the raw tags are not in the bucket; queued to be probed again (bodyvault media run)`)
  if (c.mediaInfoLost.length)
    out.push(`media info of purged recording(s) ${c.mediaInfoLost.join(', ')}: the raw tags are not in the bucket and the originals are gone`)
  if (f.tokens.size) out.push(`${f.tokens.size} API token(s): their secrets are never in the bucket; make new ones (bodyvault token create)`)
  if (f.exportRequests) out.push(`${f.exportRequests} export request(s) of the API: their events are in the ledger; a pending request must be made again`)
  out.push(
    'the station key and its signed checkpoints stayed in the lost data dir: a new key signs from the next checkpoint (put a backed-up keys/ folder back first to keep the old one)',
  )
  return out
}
