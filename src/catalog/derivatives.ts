/**
 * Derivatives of recordings (table derivatives, migration 002): proxies and
 * thumbnails the media pipeline made, each backed by a `derived` ledger
 * event. Purge removes their objects with the original; offload uploads them.
 */
import type { Db } from './db.js'

export type DerivativeKind = 'proxy' | 'audio-proxy' | 'thumbnail'

export interface Derivative {
  id: number
  recordingId: number
  kind: DerivativeKind
  sha256: string
  size: number
  mimeType: string
  inputSha256: string
  ffmpegVersion: string | null
  /** The ffmpeg argument list, with {input}/{output} placeholders. */
  args: string[]
  createdAt: string
  eventSeq: number
}

type DerivativeRow = Omit<Derivative, 'args'> & { args: string }

const DERIV_SELECT = `SELECT id, recording_id AS recordingId, kind, sha256, size, mime_type AS mimeType, input_sha256 AS inputSha256,
  ffmpeg_version AS ffmpegVersion, args, created_at AS createdAt, event_seq AS eventSeq FROM derivatives`

function derivFromRow(r: DerivativeRow): Derivative & { argsText: string } {
  let args: string[]
  try {
    const parsed = JSON.parse(r.args) as unknown
    args = Array.isArray(parsed) ? parsed.map(String) : []
  } catch {
    args = []
  }
  return { ...r, args, argsText: r.args }
}

export function nextDerivativeId(db: Db): number {
  return (db.prepare('SELECT coalesce(max(id), 0) + 1 AS n FROM derivatives').get() as { n: number }).n
}

export function insertDerivative(db: Db, d: Derivative): void {
  db.prepare(`INSERT INTO derivatives (id, recording_id, kind, sha256, size, mime_type, input_sha256, ffmpeg_version, args, created_at, event_seq)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    d.id,
    d.recordingId,
    d.kind,
    d.sha256,
    d.size,
    d.mimeType,
    d.inputSha256,
    d.ffmpegVersion,
    JSON.stringify(d.args),
    d.createdAt,
    d.eventSeq,
  )
}

export function derivativesOf(db: Db, recordingId: number): Derivative[] {
  return (db.prepare(`${DERIV_SELECT} WHERE recording_id = ? ORDER BY id`).all(recordingId) as DerivativeRow[]).map(derivFromRow)
}

export function getDerivative(db: Db, recordingId: number, kind: DerivativeKind): Derivative | undefined {
  const r = db.prepare(`${DERIV_SELECT} WHERE recording_id = ? AND kind = ?`).get(recordingId, kind) as DerivativeRow | undefined
  return r ? derivFromRow(r) : undefined
}

/** Every derivatives row, with the raw args text as stored (verify compares it). */
export function allDerivatives(db: Db): IterableIterator<Derivative & { argsText: string }> {
  const it = db.prepare(`${DERIV_SELECT} ORDER BY id`).iterate() as IterableIterator<DerivativeRow>
  return (function* () {
    for (const r of it) yield derivFromRow(r)
  })()
}
