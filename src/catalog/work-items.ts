import type { Db } from './db.js'
import { type FixityBar, type FixityCutoffs, fixityObjects } from './fixity.js'

/**
 * The items behind the dashboard's work chart and anchoring panel, one row
 * per item the chart counts (a media job, an offload job, a vault object,
 * a recording), each with the recording it concerns where there is one:
 * what GET /v1/dashboard/items lists, so a supervisor goes from a bar to
 * the recordings behind it. The counts are the chart's own (queueDepth in
 * ./stats.ts, fixityCounts in ./fixity.ts, the latest checkpoint's size).
 */
export const WORK_ITEMS = [
  'media:queued',
  'media:running',
  'media:failed',
  'offload:queued',
  'offload:retrying',
  'fixity:neverChecked',
  'fixity:due',
  'fixity:overdue',
  'fixity:failed',
  'unanchored',
] as const
export type WorkItemKind = (typeof WORK_ITEMS)[number]

/** A type: the reply schema's types take it as a plain object. */
export type WorkItem = {
  /** The media job's kind (probe, proxy, thumbnail), the offload job's op, `object` (fixity) or `ingested` (anchoring). */
  item: string
  /** The vault object (offload, fixity) or the recording's original (anchoring); null for a media job. */
  sha256: string | null
  /** An offload job's subject when it is not an object (a manifest, the ledger). */
  subject: string | null
  recordingId: number | null
  recordedAt: string | null
  officerId: string | null
  deviceId: string | null
  /** The last error, or the fixity failure. */
  note: string | null
  attempts: number | null
  /** When the job last changed, the object failed (else was last found good), or the recording was ingested. */
  at: string | null
}

// The recording an object belongs to: its original, else the recording a proxy or thumbnail was made of.
const OWNER = `coalesce((SELECT id FROM recordings WHERE sha256 = x.sha256 ORDER BY id LIMIT 1),
  (SELECT recording_id FROM derivatives WHERE sha256 = x.sha256 ORDER BY id LIMIT 1))`
const REC = 'r.id AS recordingId, r.recorded_at AS recordedAt, r.officer_id AS officerId, r.device_id AS deviceId'

/** The items of one bar: the first `limit` of them, oldest first, and how many there are. */
export function workItems(
  db: Db,
  what: WorkItemKind,
  o: { limit: number; anchoredEvents?: number; fixity?: FixityCutoffs | undefined },
): { total: number; items: WorkItem[] } {
  if (what.startsWith('media:')) {
    const state = what.slice('media:'.length)
    const total = db.prepare('SELECT count(*) FROM media_jobs WHERE state = ?').pluck().get(state) as number
    const items = db
      .prepare(
        `SELECT j.kind AS item, NULL AS sha256, NULL AS subject, ${REC}, j.last_error AS note, j.attempts, j.updated_at AS at
         FROM media_jobs j LEFT JOIN recordings r ON r.id = j.recording_id WHERE j.state = ? ORDER BY j.id LIMIT ?`,
      )
      .all(state, o.limit) as WorkItem[]
    return { total, items }
  }
  if (what.startsWith('offload:')) {
    // queueDepth's states: retrying once an attempt failed, queued before.
    const retrying = what === 'offload:retrying' ? 1 : 0
    const total = db.prepare('SELECT count(*) FROM offload_queue WHERE (attempts > 0) = ?').pluck().get(retrying) as number
    const items = db
      .prepare(
        `WITH x AS (SELECT q.*, CASE WHEN length(q.subject) = 64 THEN q.subject END AS sha256 FROM offload_queue q WHERE (q.attempts > 0) = ?)
         SELECT x.op AS item, x.sha256, CASE WHEN x.sha256 IS NULL THEN x.subject END AS subject, ${REC}, x.last_error AS note, x.attempts, x.enqueued_at AS at
         FROM x LEFT JOIN recordings r ON r.id = ${OWNER} ORDER BY x.id LIMIT ?`,
      )
      .all(retrying, o.limit) as WorkItem[]
    return { total, items }
  }
  if (what.startsWith('fixity:')) {
    // Due and overdue are counted at the dashboard's cut-offs (the fixity state's); the others need none.
    const bar = what.slice('fixity:'.length) as FixityBar
    if ((bar === 'due' || bar === 'overdue') && !o.fixity) return { total: 0, items: [] }
    const { total, objects } = fixityObjects(db, bar, o.limit, o.fixity ?? { dueBefore: '', overdueBefore: '' })
    const stmt = db.prepare(`SELECT ${REC} FROM (SELECT ? AS sha256) x JOIN recordings r ON r.id = ${OWNER}`)
    const items = objects.map((f): WorkItem => {
      const r = (stmt.get(f.sha256) as Pick<WorkItem, 'recordingId' | 'recordedAt' | 'officerId' | 'deviceId'> | undefined) ?? {
        recordingId: null,
        recordedAt: null,
        officerId: null,
        deviceId: null,
      }
      return { item: 'object', sha256: f.sha256, subject: null, ...r, note: f.failure, attempts: null, at: f.at }
    })
    return { total, items }
  }
  // Recordings whose ingest event lies beyond the latest checkpoint's tree (events 1..anchoredEvents): no checkpoint covers them yet.
  const after = o.anchoredEvents ?? 0
  const total = db.prepare("SELECT count(*) FROM recordings WHERE status = 'stored' AND event_seq > ?").pluck().get(after) as number
  const items = db
    .prepare(
      `SELECT 'ingested' AS item, r.sha256, NULL AS subject, ${REC}, NULL AS note, NULL AS attempts, r.ingested_at AS at
       FROM recordings r WHERE r.status = 'stored' AND r.event_seq > ? ORDER BY r.event_seq LIMIT ?`,
    )
    .all(after, o.limit) as WorkItem[]
  return { total, items }
}
