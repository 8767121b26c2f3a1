/**
 * Random review (随机抽查, tables review_samples and review_items, migration
 * 019): samples drawn from a recorded seed and the outcome of each item,
 * each backed by a ledger event (`review-sampled`, `review-outcome`).
 */
import type { Db } from './db.js'

export const REVIEW_OUTCOMES = ['ok', 'late', 'wrong-category', 'incomplete', 'other'] as const
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number]

export interface ReviewSample {
  id: number
  month: string
  perOfficer: number
  seed: string
  requestedBy: string
  requestedAt: string
}

export interface ReviewItem {
  sampleId: number
  recordingId: number
  officerId: string
  outcome: ReviewOutcome | null
  note: string | null
  decidedBy: string | null
  decidedAt: string | null
}

/** Stored recordings (sidecars left out) with an officer, recorded in [from, to): what a sample is drawn from. */
export function reviewCandidates(db: Db, from: string, to: string): { id: number; officerId: string }[] {
  return db
    .prepare(
      "SELECT id, officer_id AS officerId FROM recordings WHERE kind <> 'sidecar' AND status = 'stored' AND officer_id IS NOT NULL AND recorded_at >= ? AND recorded_at < ? ORDER BY id",
    )
    .all(from, to) as { id: number; officerId: string }[]
}

export function insertSample(db: Db, s: Omit<ReviewSample, 'id'>, items: { recordingId: number; officerId: string }[]): number {
  const id = Number(
    db
      .prepare('INSERT INTO review_samples (month, per_officer, seed, requested_by, requested_at) VALUES (?, ?, ?, ?, ?)')
      .run(s.month, s.perOfficer, s.seed, s.requestedBy, s.requestedAt).lastInsertRowid,
  )
  const add = db.prepare('INSERT INTO review_items (sample_id, recording_id, officer_id) VALUES (?, ?, ?)')
  for (const it of items) add.run(id, it.recordingId, it.officerId)
  return id
}

export function nextSampleId(db: Db): number {
  return (db.prepare('SELECT coalesce(max(id), 0) + 1 AS n FROM review_samples').get() as { n: number }).n
}

export function getSample(db: Db, id: number): ReviewSample | undefined {
  return db
    .prepare('SELECT id, month, per_officer AS perOfficer, seed, requested_by AS requestedBy, requested_at AS requestedAt FROM review_samples WHERE id = ?')
    .get(id) as ReviewSample | undefined
}

export function sampleItems(db: Db, sampleId: number): ReviewItem[] {
  return db
    .prepare(
      'SELECT sample_id AS sampleId, recording_id AS recordingId, officer_id AS officerId, outcome, note, decided_by AS decidedBy, decided_at AS decidedAt FROM review_items WHERE sample_id = ? ORDER BY officer_id, recording_id',
    )
    .all(sampleId) as ReviewItem[]
}

export function setOutcome(db: Db, sampleId: number, recordingId: number, o: { outcome: ReviewOutcome; note: string | null; by: string; at: string }): boolean {
  return (
    db
      .prepare('UPDATE review_items SET outcome = ?, note = ?, decided_by = ?, decided_at = ? WHERE sample_id = ? AND recording_id = ?')
      .run(o.outcome, o.note, o.by, o.at, sampleId, recordingId).changes === 1
  )
}

/** The samples of a month (or all), newest first. */
export function listSamples(db: Db, month?: string, limit = 200): ReviewSample[] {
  const sql = 'SELECT id, month, per_officer AS perOfficer, seed, requested_by AS requestedBy, requested_at AS requestedAt FROM review_samples'
  return (
    month ? db.prepare(`${sql} WHERE month = ? ORDER BY id DESC LIMIT ?`).all(month, limit) : db.prepare(`${sql} ORDER BY id DESC LIMIT ?`).all(limit)
  ) as ReviewSample[]
}
