import { insertCase, insertCaseLink, insertHold } from '../catalog/cases.js'
import type { Db } from '../catalog/db.js'
import { countRecordings, insertRecording, setRecordingStatus, touchDeviceAndOfficer } from '../catalog/recordings.js'
import { recordManifestUpload, restoreCopy, setLedgerUploadedThrough, setManifestsScannedThrough } from '../catalog/remote-copies.js'
import { putRetention } from '../catalog/retention.js'
import { restoreIngestSession } from '../catalog/sessions.js'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { actors, subjects } from '../ledger/events.js'
import { appendEvent, countEvents, restoreEvents, walkChain, type ChainProblem, type LedgerEvent } from '../ledger/ledger.js'
import { RetentionFold } from '../retention/check.js'
import { foldRecordings, type Expected } from '../ledger/recordings.js'
import type { Vault } from '../vault/store.js'
import { openObject } from './cache.js'
import type { OffloadSettings } from './config.js'
import { OffloadFold } from './check.js'
import { keys, MANIFEST_FORMAT, type Manifest } from './manifest.js'
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
  /** Problems the rebuilt chain has (e.g. events missing from the bucket). */
  ledgerProblems: ChainProblem[]
  /** Manifests whose snapshot disagrees with the ledger (stale: uploaded before later events). */
  staleManifests: number[]
  objects: { remote: number; checked: number; missing: string[]; fetched: number }
  /** What this rebuild does not restore. */
  notes: string[]
}

type Row = LedgerEvent

/**
 * Rebuilds a catalog from the bucket alone, into an EMPTY data dir: the
 * ledger segments and the manifests' events give the chain (kept verbatim,
 * with its hashes, so it still verifies); folding it gives the recordings,
 * cases, links, holds, deadlines and remote copies. Objects stay in S3
 * (every one is checked with a HEAD: size and SHA-256 metadata) and come
 * back into the local cache when read, or all at once with `fetch`. A
 * `catalog-rebuilt` event closes the rebuild.
 */
export async function reindexFromS3(d: {
  db: Db
  vault: Vault
  s3: S3Store
  settings: OffloadSettings
  stationId: string
  logger: Logger
  fetch?: boolean
  now?: () => Date
}): Promise<ReindexReport> {
  const { db, s3, settings } = d
  if (countEvents(db) > 0 || countRecordings(db) > 0) {
    throw new BodyvaultError(
      'REINDEX_NOT_EMPTY',
      `the catalog in ${d.vault.dataDir} is not empty: reindex --from-s3 rebuilds into an empty data dir (set BODYVAULT_DATA_DIR or dataDir to a new folder)`,
      2,
    )
  }
  const prefix = settings.prefix
  const report: ReindexReport = {
    bucket: s3.bucket,
    prefix,
    ledgerSegments: 0,
    manifests: 0,
    events: 0,
    recordings: 0,
    stored: 0,
    purged: 0,
    cases: 0,
    holds: 0,
    ledgerProblems: [],
    staleManifests: [],
    objects: { remote: 0, checked: 0, missing: [], fetched: 0 },
    notes: [],
  }

  const events = new Map<number, Row>()
  const inSegments: Row[] = []
  const conflicts: string[] = []
  const add = (e: Row, from: string): void => {
    const had = events.get(e.seq)
    if (had && had.hash !== e.hash) conflicts.push(`event ${e.seq}: ${from} has hash ${e.hash.slice(0, 12)}…, another object ${had.hash.slice(0, 12)}…`)
    else if (!had) events.set(e.seq, e)
  }
  for await (const o of s3.list(keys.ledgers(prefix))) {
    if (!o.key.endsWith('.jsonl')) continue
    report.ledgerSegments++
    for (const line of (await s3.getText(o.key)).split('\n')) {
      if (!line.trim()) continue
      const e = JSON.parse(line) as Row
      add(e, o.key)
      inSegments.push(e)
    }
  }
  const manifests = new Map<number, Manifest>()
  for await (const o of s3.list(keys.manifests(prefix))) {
    if (!o.key.endsWith('.json')) continue
    const m = JSON.parse(await s3.getText(o.key)) as Manifest
    if (m.format !== MANIFEST_FORMAT) {
      report.notes.push(`${o.key}: unknown manifest format ${String(m.format)}: skipped`)
      continue
    }
    report.manifests++
    manifests.set(m.recording.id, m)
    for (const e of m.events) add(e as Row, o.key)
  }
  if (conflicts.length)
    throw new BodyvaultError(
      'REINDEX_CONFLICT',
      `the bucket holds two different versions of some events (${conflicts.slice(0, 3).join('; ')}): refusing to rebuild from it`,
      1,
    )
  const ordered = [...events.values()].sort((a, b) => a.seq - b.seq)
  if (ordered.length === 0)
    throw new BodyvaultError(
      'REINDEX_EMPTY',
      `no ledger segments or manifests under s3://${s3.bucket}/${prefix}: nothing to rebuild from (check offload.bucket and offload.prefix)`,
      1,
    )

  // The chain, verbatim.
  restoreEvents(db, ordered)
  report.events = ordered.length
  const chain: ChainProblem[] = []
  const recordings = new Map<number, Expected>()
  const retention = new RetentionFold()
  const offload = new OffloadFold()
  const sessions = new Map<number, { at: string; p: Record<string, unknown> }>()
  const offloaded = new Map<string, { at: string; p: Record<string, unknown> }>()
  const deleted = new Map<string, string>()
  for (const ev of walkChain(db, chain)) {
    foldRecordings(ev, recordings)
    retention.apply(ev)
    offload.apply(ev)
    if (ev.type === 'ingest-session-ended') sessions.set(Number(ev.payload.sessionId), { at: ev.at, p: ev.payload })
    if (ev.type === 'offloaded') offloaded.set(String(ev.payload.sha256), { at: ev.at, p: ev.payload })
    if (ev.type === 'remote-deleted') deleted.set(String(ev.payload.sha256), ev.at)
  }
  report.ledgerProblems = chain
  const now = (d.now ?? (() => new Date()))()

  db.transaction(() => {
    // Ingest sessions the recordings point to.
    const ids = new Set<number>()
    for (const r of recordings.values()) if (r.sessionId !== null && r.sessionId !== undefined) ids.add(r.sessionId)
    for (const id of new Set([...ids, ...sessions.keys()])) {
      const s = sessions.get(id)
      const first =
        [...recordings.values()]
          .filter((r) => r.sessionId === id)
          .map((r) => r.ingestedAt)
          .sort()[0] ??
        s?.at ??
        now.toISOString()
      restoreIngestSession(db, {
        id,
        sourceRoot: String(s?.p.root ?? '(rebuilt from S3: unknown)'),
        profileId: String(s?.p.profileId ?? 'unknown'),
        deviceId: (s?.p.deviceId as string | null | undefined) ?? null,
        startedAt: first,
        endedAt: s?.at ?? null,
        state: s ? (String(s.p.state) as 'complete' | 'incomplete') : 'incomplete',
        filesIngested: Number(s?.p.ingested ?? 0),
        filesPresent: Number(s?.p.present ?? 0),
        filesSkipped: Number(s?.p.skipped ?? 0),
        filesFailed: Number(s?.p.failed ?? 0),
        bytesIngested: Number(s?.p.bytesIngested ?? 0),
      })
    }
    for (const r of [...recordings.values()].sort((a, b) => a.id - b.id)) {
      touchDeviceAndOfficer(db, r.deviceId, r.officerId, r.ingestedAt)
      const { status, ...row } = r
      insertRecording(db, row)
      if (status !== 'stored') setRecordingStatus(db, r.id, status)
      report.recordings++
      if (status === 'stored') report.stored++
      else report.purged++
    }
    for (const c of retention.cases.values()) {
      insertCase(db, c)
      report.cases++
    }
    for (const l of retention.links.values()) insertCaseLink(db, l)
    for (const h of retention.holds.values()) {
      insertHold(db, h)
      report.holds++
    }
    for (const [id, t] of retention.retention) putRetention(db, { recordingId: id, ...t })
    for (const [sha, o] of offload.objects) {
      const e = offloaded.get(sha)!
      restoreCopy(db, {
        sha256: sha,
        size: Number(e.p.size),
        key: o.key,
        versionId: o.versionId,
        verifiedAt: e.at,
        retainUntil: (e.p.retainUntil as string | null) ?? null,
        legalHold: Boolean(e.p.legalHold),
        evictedAt: now.toISOString(),
        deletedAt: deleted.get(sha) ?? null,
      })
    }
    const segEnd = contiguousThrough(inSegments.sort((a, b) => a.seq - b.seq))
    for (const [id, m] of manifests) {
      const maxSeq = m.events.reduce((x, e) => Math.max(x, e.seq), 0)
      recordManifestUpload(db, id, maxSeq, now.toISOString())
      const want = recordings.get(id)
      if (!want || JSON.stringify(snapshot(m.recording)) !== JSON.stringify(snapshot(want))) report.staleManifests.push(id)
    }
    setLedgerUploadedThrough(db, segEnd)
    setManifestsScannedThrough(db, ordered[ordered.length - 1]!.seq)
    appendEvent(db, {
      type: 'catalog-rebuilt',
      actor: actors.station(d.stationId),
      subject: subjects.station(d.stationId),
      at: now,
      payload: {
        source: 's3',
        bucket: s3.bucket,
        prefix,
        events: ordered.length,
        recordings: report.recordings,
        manifests: report.manifests,
        ledgerSegments: report.ledgerSegments,
        chainProblems: chain.length,
      },
    })
  }).immediate()

  // Every remote object the catalog now points to: there, the right size, the right SHA-256 metadata.
  for (const [sha, o] of offload.objects) {
    if (o.deleted) continue
    report.objects.remote++
    try {
      const h = await s3.head(o.key, o.versionId)
      if (!h || h.size !== Number(offloaded.get(sha)!.p.size) || (h.sha256 !== null && h.sha256 !== sha)) report.objects.missing.push(sha)
      else report.objects.checked++
    } catch (err) {
      report.objects.missing.push(`${sha} (${errorMessage(err)})`)
    }
  }
  const needed = [...recordings.values()].filter((r) => r.status === 'stored')
  for (const r of needed)
    if (!offload.objects.has(r.sha256)) report.objects.missing.push(`${r.sha256} (recording ${r.id} was never offloaded: its bytes are not in the bucket)`)
  if (d.fetch) {
    for (const sha of new Set(needed.map((r) => r.sha256))) {
      const o = offload.objects.get(sha)
      if (!o || o.deleted) continue
      await openObject({ db, vault: d.vault, s3, logger: d.logger }, sha)
      report.objects.fetched++
    }
  }
  const media = countEvents(db, ['probed', 'derived', 'camera-identified'])
  if (media > 0)
    report.notes.push(
      `${media} media/docking event(s) are in the rebuilt ledger, but their tables (media_info, derivatives, media_links, officer/device names) are not rebuilt here`,
    )
  d.logger.info({ event: 'offload.reindexed', events: report.events, recordings: report.recordings, problems: chain.length }, 'catalog rebuilt from S3')
  return report
}

/** The recording fields events define (what a manifest snapshot must agree on). */
function snapshot(r: Partial<Expected>): unknown[] {
  return [r.id, r.sha256, r.size, r.category ?? null, r.caseNumber ?? null, r.status]
}

function contiguousThrough(ordered: Row[]): number {
  let n = 0
  for (const e of ordered) {
    if (e.seq !== n + 1) break
    n = e.seq
  }
  return n
}
