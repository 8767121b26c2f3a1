import { insertCase, insertCaseLink, insertHold } from '../catalog/cases.js'
import type { Db } from '../catalog/db.js'
import { insertDerivative, type DerivativeKind } from '../catalog/derivatives.js'
import { insertFlag, markFlagRemoved, setFlagRemovalRequest } from '../catalog/flags.js'
import { insertMarker, type Marker } from '../catalog/markers.js'
import { insertLink, insertMediaInfo, MEDIA_FIELDS, type MediaFacts } from '../catalog/media-info.js'
import { restoreMediaJob, setJobCarries, setJobRank, type JobKind } from '../catalog/media-jobs.js'
import { insertRecording, recordCameraIdentity, setRecordingStatus, touchDeviceAndOfficer } from '../catalog/recordings.js'
import { restoreCopy } from '../catalog/remote-copies.js'
import { putRetention } from '../catalog/retention.js'
import { insertSample, type ReviewOutcome, setOutcome } from '../catalog/reviews.js'
import { restoreIngestSession } from '../catalog/sessions.js'
import type { EventPayload } from '../ledger/events.js'
import type { LedgerEvent } from '../ledger/ledger.js'
import { foldRecordings, type Expected } from '../ledger/recordings.js'
import { MediaFold } from '../media/check.js'
import { sha256Text } from '../media/facts.js'
import { jobsFor, proxyJobOfProbe } from '../media/policy.js'
import type { ProxySettings } from '../media/proxy-policy.js'
import { RosterFold } from '../registry/fold.js'
import { RetentionFold } from '../retention/check.js'
import type { FoundManifest } from './bucket-index.js'
import { OffloadFold } from './check.js'
import { FixityFold } from './rebuild-fixity.js'

type P = Record<string, unknown>

/**
 * The state a rebuilt catalog gets, folded from the chain: the same folds
 * verify runs (recordings, retention with its flags, remote copies,
 * media), plus what only a rebuild needs (ingest sessions, camera
 * identities, the roster, markers, the fixity findings and runs, the
 * counts of what it cannot restore).
 */
export class RebuildFold {
  readonly recordings = new Map<number, Expected>()
  readonly retention = new RetentionFold()
  readonly offload = new OffloadFold()
  readonly media = new MediaFold()
  readonly roster = new RosterFold()
  readonly fixity = new FixityFold()
  readonly markers: Marker[] = []
  /** Random-review samples and their outcomes, in chain order. */
  readonly reviews: {
    at: string
    actor: string
    p: EventPayload<'review-sampled'>
    outcomes: { at: string; actor: string; p: EventPayload<'review-outcome'> }[]
  }[] = []
  readonly sessions = new Map<number, { at: string; p: P }>()
  readonly offloaded = new Map<string, { at: string; p: P }>()
  readonly deleted = new Map<string, string>()
  readonly identities: { at: string; p: EventPayload<'camera-identified'> }[] = []
  /** Tokens created and not revoked; export requests made (neither comes back: see notRestored). */
  readonly tokens = new Set<number>()
  exportRequests = 0

  apply(ev: LedgerEvent): void {
    foldRecordings(ev, this.recordings)
    this.retention.apply(ev)
    this.offload.apply(ev)
    this.media.apply(ev)
    this.roster.apply(ev)
    this.fixity.apply(ev)
    const p = ev.payload
    switch (ev.type) {
      case 'ingest-session-ended':
        this.sessions.set(Number(p.sessionId), { at: ev.at, p })
        break
      case 'offloaded':
        this.offloaded.set(String(p.sha256), { at: ev.at, p })
        break
      case 'remote-deleted':
        this.deleted.set(String(p.sha256), ev.at)
        break
      case 'camera-identified':
        this.identities.push({ at: ev.at, p: p as EventPayload<'camera-identified'> })
        break
      case 'token-created':
        this.tokens.add(Number(p.tokenId))
        break
      case 'token-revoked':
        this.tokens.delete(Number(p.tokenId))
        break
      case 'export-requested':
        this.exportRequests++
        break
      case 'review-sampled':
        this.reviews.push({ at: ev.at, actor: ev.actor, p: p as EventPayload<'review-sampled'>, outcomes: [] })
        break
      case 'review-outcome': {
        const o = p as EventPayload<'review-outcome'>
        this.reviews.find((r) => r.p.sampleId === o.sampleId)?.outcomes.push({ at: ev.at, actor: ev.actor, p: o })
        break
      }
      case 'marker-added': {
        const m = p as EventPayload<'marker-added'>
        this.markers.push({
          id: m.markerId,
          recordingId: m.recordingId,
          positionMs: m.positionMs,
          note: m.note,
          createdBy: ev.actor,
          createdAt: ev.at,
          eventSeq: ev.seq,
        })
        break
      }
    }
  }
}

export interface RebuildCounts {
  recordings: number
  stored: number
  purged: number
  cases: number
  holds: number
  /** Retention flags (kept for good while in force: losing one would let the purge take what must stay). */
  flags: number
  markers: number
  reviews: number
  roster: ReturnType<RosterFold['write']>
  mediaInfo: number
  derivatives: number
  links: number
  mediaJobs: { done: number; failed: number; queued: number }
  /** Stored recordings whose probe result is in the ledger but whose raw tags are not in the bucket: queued to be probed again. */
  reprobe: number[]
  /** Purged recordings in the same case: their media_info row cannot come back (no original to probe). */
  mediaInfoLost: number[]
  /** Objects a stored recording needs with an open fixity finding, with a check on the record; fixity job runs. */
  fixity: ReturnType<FixityFold['write']>
}

/** Every object a stored recording needs (its original and its derivatives), and what needs it. */
export function neededObjects(f: RebuildFold): Map<string, string> {
  const out = new Map<string, string>()
  for (const r of f.recordings.values()) if (r.status === 'stored') out.set(r.sha256, `recording ${r.id}`)
  for (const { p } of f.media.derived.values())
    if (f.recordings.get(p.recordingId)?.status === 'stored') out.set(p.sha256, `the ${p.kind} of recording ${p.recordingId}`)
  return out
}

/** The raw texts of a media_info row from the manifest, when they are the ones the `probed` event hashed. */
function mediaTexts(
  found: FoundManifest | undefined,
  p: { tagsSha256: string; gpsTrackSha256?: string | null },
): { tags: string; gpsTrack: string | null } | null {
  const m = found?.manifest.media
  if (!m) return null
  if (sha256Text(m.tags) !== p.tagsSha256) return null
  if ((m.gpsTrack === null ? null : sha256Text(m.gpsTrack)) !== (p.gpsTrackSha256 ?? null)) return null
  return m
}

/** The facts of a `probed` event, a field it predates as null (as its media_info row has it). */
const factsOf = (p: Partial<MediaFacts>): MediaFacts => Object.fromEntries(MEDIA_FIELDS.map((k) => [k, p[k] ?? null])) as MediaFacts

const DONE_BY: Record<Exclude<JobKind, 'probe'>, DerivativeKind[]> = { proxy: ['proxy', 'audio-proxy'], thumbnail: ['thumbnail'] }

/**
 * Writes every table the fold defines into an empty catalog (inside the
 * caller's transaction): ingest sessions, devices and officers, recordings,
 * cases, links, holds, deadlines, remote copies (none cached locally,
 * but for a copy with an open fixity finding), media info, derivatives,
 * sidecar links, the media jobs (done where the ledger holds the result,
 * failed where it holds the failure, else queued; a proxy job ranked as its
 * recorded probe implies, by the probe's own rule and the station's `proxy`
 * settings), and the fixity state.
 */
export function writeRebuiltTables(db: Db, f: RebuildFold, manifests: Map<number, FoundManifest>, now: Date, proxy: ProxySettings): RebuildCounts {
  const c: RebuildCounts = {
    recordings: 0,
    stored: 0,
    purged: 0,
    cases: 0,
    holds: 0,
    flags: 0,
    markers: 0,
    reviews: 0,
    roster: { units: 0, officers: 0, devices: 0, assignments: 0, attributions: 0 },
    mediaInfo: 0,
    derivatives: 0,
    links: 0,
    mediaJobs: { done: 0, failed: 0, queued: 0 },
    reprobe: [],
    mediaInfoLost: [],
    fixity: { open: 0, checked: 0, runs: 0 },
  }
  const recordings = [...f.recordings.values()].sort((a, b) => a.id - b.id)

  // Ingest sessions the recordings point to.
  const ids = new Set<number>()
  for (const r of recordings) if (r.sessionId !== null && r.sessionId !== undefined) ids.add(r.sessionId)
  for (const id of new Set([...ids, ...f.sessions.keys()])) {
    const s = f.sessions.get(id)
    const first =
      recordings
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

  for (const r of recordings) {
    touchDeviceAndOfficer(db, r.deviceId, r.officerId, r.ingestedAt)
    const { status, ...row } = r
    insertRecording(db, row)
    if (status !== 'stored') setRecordingStatus(db, r.id, status)
    c.recordings++
    if (status === 'stored') c.stored++
    else c.purged++
  }
  for (const { at, p } of f.identities) recordCameraIdentity(db, { ...p, at })

  const { retention } = f
  for (const k of retention.cases.values()) {
    insertCase(db, k)
    c.cases++
  }
  for (const l of retention.links.values()) insertCaseLink(db, l)
  for (const h of retention.holds.values()) {
    insertHold(db, h)
    c.holds++
  }
  for (const [id, t] of retention.retention) putRetention(db, { recordingId: id, ...t })
  for (const fl of [...retention.flags.values()].sort((a, b) => a.id - b.id)) {
    insertFlag(db, fl)
    if (fl.removalRequestedBy !== null)
      setFlagRemovalRequest(db, fl.id, {
        by: fl.removalRequestedBy,
        person: fl.removalPerson ?? '',
        at: fl.removalRequestedAt ?? '',
        reason: fl.removalReason ?? '',
      })
    if (fl.removedAt !== null) markFlagRemoved(db, fl.id, fl.removedBy ?? '', fl.removedPerson ?? '', fl.removedAt)
    c.flags++
  }
  for (const m of f.markers) if (f.recordings.has(m.recordingId)) c.markers += insertMarker(db, m) ? 1 : 0
  c.roster = f.roster.write(db)
  for (const r of f.reviews) {
    const items = r.p.recordingIds.map((id) => ({ recordingId: id, officerId: f.recordings.get(id)?.officerId ?? '' }))
    const id = insertSample(db, { month: r.p.month, perOfficer: r.p.perOfficer, seed: r.p.seed, requestedBy: r.actor, requestedAt: r.at }, items)
    if (id !== r.p.sampleId) throw new Error(`review sample ${r.p.sampleId} of the ledger was rebuilt as ${id}: samples are numbered in chain order`)
    for (const o of r.outcomes) setOutcome(db, id, o.p.recordingId, { outcome: o.p.outcome as ReviewOutcome, note: o.p.note, by: o.actor, at: o.at })
    c.reviews++
  }

  const needed = new Set(neededObjects(f).keys())
  for (const [sha, o] of f.offload.objects) {
    const e = f.offloaded.get(sha)!
    restoreCopy(db, {
      sha256: sha,
      size: Number(e.p.size),
      key: o.key,
      versionId: o.versionId,
      verifiedAt: e.at,
      retainUntil: (e.p.retainUntil as string | null) ?? null,
      legalHold: Boolean(e.p.legalHold),
      // A local copy found bad and not repaired stays on the record as local: the finding is about it, the
      // dashboard counts it, and the next check or serve repairs it from this remote copy (fixity-failed stays open till then).
      evictedAt: needed.has(sha) && f.fixity.isOpen(sha) ? null : now.toISOString(),
      deletedAt: f.deleted.get(sha) ?? null,
      now: now.toISOString(),
    })
  }

  // Media: probe results (their raw texts from the manifest), derivatives, sidecar links.
  const probed = new Set<number>()
  for (const [id, { seq, at, p }] of f.media.probed) {
    const rec = f.recordings.get(id)
    if (!rec) continue
    const texts = mediaTexts(manifests.get(id), p)
    if (!texts) {
      ;(rec.status === 'stored' ? c.reprobe : c.mediaInfoLost).push(id)
      continue
    }
    insertMediaInfo(db, { ...factsOf(p), recordingId: id, tags: texts.tags, gpsTrack: texts.gpsTrack, probedAt: at, eventSeq: seq })
    probed.add(id)
    c.mediaInfo++
  }
  const made = new Map<number, Set<string>>()
  for (const [id, { seq, at, p }] of [...f.media.derived].sort((a, b) => a[0] - b[0])) {
    insertDerivative(db, {
      id,
      recordingId: p.recordingId,
      kind: p.kind as DerivativeKind,
      sha256: p.sha256,
      size: p.size,
      mimeType: p.mimeType,
      inputSha256: p.inputSha256,
      ffmpegVersion: p.ffmpegVersion,
      args: p.args as string[],
      createdAt: at,
      eventSeq: seq,
    })
    made.set(p.recordingId, (made.get(p.recordingId) ?? new Set()).add(p.kind))
    c.derivatives++
  }
  for (const [sidecarId, l] of f.media.links) {
    insertLink(db, sidecarId, l.recordingId, l.seq)
    c.links++
  }

  c.fixity = f.fixity.write(db, needed)

  // Media jobs: operational state, rebuilt so that nothing is redone and nothing is forgotten.
  const at = now.toISOString()
  for (const r of recordings) {
    if (r.status !== 'stored') continue
    for (const kind of jobsFor(r.kind)) {
      const done = kind === 'probe' ? probed.has(r.id) : DONE_BY[kind].some((k) => made.get(r.id)?.has(k))
      const failed = done ? undefined : f.media.failed.get(`${r.id}:${kind}`)
      const state = done ? 'done' : failed ? 'failed' : 'queued'
      restoreMediaJob(db, {
        recordingId: r.id,
        kind,
        state,
        result: done ? 'rebuilt from the ledger' : null,
        lastError: failed ? `${failed.code}: ${failed.error}` : null,
        attempts: failed?.attempts ?? 0,
        at,
      })
      // The claim order the probe gave it (a copy before transcodes) and the thumbnail a remux makes in the same run; a job
      // without a recorded probe waits for one, which sets both.
      const probe = kind === 'proxy' ? f.media.probed.get(r.id) : undefined
      const job = probe ? proxyJobOfProbe(factsOf(probe.p), proxy) : null
      if (job) {
        setJobRank(db, r.id, kind, job.rank)
        setJobCarries(db, r.id, kind, job.carries)
      }
      c.mediaJobs[state]++
    }
  }
  return c
}
