import { createHash, randomBytes } from 'node:crypto'
import type { Db } from '../catalog/db.js'
import {
  getSample,
  insertSample,
  nextSampleId,
  REVIEW_OUTCOMES,
  reviewCandidates,
  sampleItems,
  setOutcome,
  type ReviewItem,
  type ReviewOutcome,
  type ReviewSample,
} from '../catalog/reviews.js'
import { BodyvaultError } from '../common/errors.js'
import { subjects } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'

/**
 * Random review (随机抽查): a supervisor asks for N recordings per officer
 * of a month; the draw is reproducible from the seed, which is recorded
 * (in the catalog and in the `review-sampled` event): anyone can draw it
 * again from the same recordings and check that nobody picked the easy
 * ones. Each item gets one outcome (ok, late, wrong category, not recorded
 * in full, other + note), a `review-outcome` event, and counts in the
 * monthly statistics.
 */

/**
 * The pure draw: for each officer, the N recordings whose SHA-256 of
 * "seed|officer|recording id" sorts lowest. Independent of the order of
 * the input; another seed gives an independent draw.
 */
export function pickSample(
  candidates: readonly { id: number; officerId: string }[],
  perOfficer: number,
  seed: string,
): { recordingId: number; officerId: string }[] {
  const by = new Map<string, { id: number; rank: string }[]>()
  for (const c of candidates) {
    const rank = createHash('sha256').update(`${seed}|${c.officerId}|${c.id}`).digest('hex')
    const list = by.get(c.officerId) ?? []
    list.push({ id: c.id, rank })
    by.set(c.officerId, list)
  }
  const out: { recordingId: number; officerId: string }[] = []
  for (const officerId of [...by.keys()].sort()) {
    const picked = by
      .get(officerId)!
      .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : a.id - b.id))
      .slice(0, perOfficer)
      .map((x) => x.id)
      .sort((a, b) => a - b)
    for (const id of picked) out.push({ recordingId: id, officerId })
  }
  return out
}

export interface ReviewCtx {
  db: Db
  actor: string
  /** The police number (`account:<id>` for a service account). */
  person: string
  stationId: string
  now: Date
}

export function drawSample(
  ctx: ReviewCtx,
  o: { month: string; from: string; to: string; perOfficer: number; seed?: string | undefined },
): { sample: ReviewSample; items: ReviewItem[] } {
  if (!Number.isInteger(o.perOfficer) || o.perOfficer < 1 || o.perOfficer > 1000)
    throw new BodyvaultError('USAGE', 'the sample size per officer is a whole number from 1 to 1000')
  const seed = o.seed ?? randomBytes(16).toString('hex')
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(seed)) throw new BodyvaultError('USAGE', 'a seed is 1-128 letters, digits, . _ -')
  const { db } = ctx
  return db
    .transaction(() => {
      const picked = pickSample(reviewCandidates(db, o.from, o.to), o.perOfficer, seed)
      const sampleId = nextSampleId(db)
      appendEvent(db, {
        type: 'review-sampled',
        actor: ctx.actor,
        subject: subjects.station(ctx.stationId),
        at: ctx.now,
        payload: { sampleId, month: o.month, perOfficer: o.perOfficer, seed, recordingIds: picked.map((p) => p.recordingId), person: ctx.person },
      })
      insertSample(db, { month: o.month, perOfficer: o.perOfficer, seed, requestedBy: ctx.actor, requestedAt: ctx.now.toISOString() }, picked)
      return { sample: getSample(db, sampleId)!, items: sampleItems(db, sampleId) }
    })
    .immediate()
}

export function recordOutcome(ctx: ReviewCtx, sampleId: number, recordingId: number, outcome: string, note: string | undefined): ReviewItem {
  if (!(REVIEW_OUTCOMES as readonly string[]).includes(outcome))
    throw new BodyvaultError('USAGE', `the outcome is one of ${REVIEW_OUTCOMES.join(', ')}, not "${outcome}"`)
  const n = note?.trim() || null
  if (outcome === 'other' && n === null) throw new BodyvaultError('REASON_REQUIRED', 'the outcome "other" needs a note (--note TEXT)')
  const { db } = ctx
  return db
    .transaction(() => {
      if (!getSample(db, sampleId)) throw new BodyvaultError('USAGE', `no review sample ${sampleId}`)
      appendEvent(db, {
        type: 'review-outcome',
        actor: ctx.actor,
        subject: subjects.recording(recordingId),
        at: ctx.now,
        payload: { sampleId, recordingId, outcome, note: n, person: ctx.person },
      })
      if (!setOutcome(db, sampleId, recordingId, { outcome: outcome as ReviewOutcome, note: n, by: ctx.actor, at: ctx.now.toISOString() }))
        throw new BodyvaultError('USAGE', `recording ${recordingId} is not in review sample ${sampleId}`)
      return sampleItems(db, sampleId).find((i) => i.recordingId === recordingId)!
    })
    .immediate()
}
