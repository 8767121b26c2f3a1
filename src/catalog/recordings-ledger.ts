import type { Db } from './db.js'
import { COLUMNS, FIELDS, type Recording } from './recordings.js'

/**
 * Verify's bulk comparison of the recordings with their `ingested` events,
 * done by SQLite in C (src/verify/recordings-check.ts): a million rows and a
 * million payloads read into JavaScript cost verify's main thread about 20
 * CPU-seconds; SQLite compares them in a fraction of that and hands over
 * only what differs.
 *
 * A row matches its event (joined by `event_seq`) when the payload's values
 * at the keys the catalog has columns for, as one JSON array (json_extract
 * with every path), are the same text as the columns as one JSON array
 * (json_array). Both are SQLite's rendering of JSON values, so the same
 * text is the same values of the same JSON types: a text column and a
 * number differ, `true` and 1 differ, as the JavaScript comparison (`!==`
 * between the column as better-sqlite3 reads it and the parsed payload's
 * value, a missing key as null) finds them. A value the two spell
 * differently (an escape) is no match, and the caller compares it the
 * JavaScript way. Facts the catalog keeps elsewhere (the registry's
 * attribution, the raw source name) are other keys of the payload, not
 * looked at, as the JavaScript comparison does not look at them. A payload
 * that is not JSON is no match (json_valid first: json_extract would throw).
 */

/** Payload key (the recording field) of each column the `ingested` payload carries. */
const PAYLOAD = (FIELDS.filter((f) => f !== 'ingestedAt' && f !== 'eventSeq' && f !== 'status') as (keyof Recording)[]).map((f) => ({
  key: f === 'id' ? 'recordingId' : f,
  column: f === 'important' ? "json(CASE r.important WHEN 1 THEN 'true' WHEN 0 THEN 'false' END)" : `r.${COLUMNS[f]}`,
}))
const MATCH = `r.status = 'stored' AND r.ingested_at = e.at AND json_valid(e.payload)
  AND json_extract(e.payload, ${PAYLOAD.map((p) => `'$.${p.key}'`).join(', ')}) = json_array(${PAYLOAD.map((p) => p.column).join(', ')})`

export interface IngestedMatches {
  /** Rows that match their `ingested` event (and are not among `except`). */
  matched: number
  /** Of those rows, in chain order: their events' seqs, ids and sizes (JSON arrays) and their sha256s end to end. */
  seqs: string
  ids: string
  sizes: string
  shas: string
  /** The `ingested` events through the head whose row did not match (or is among `except`), in chain order. */
  others: number[]
  /** Catalog rows in all. */
  rows: number
}

/**
 * The `ingested` events through `head` against the recordings rows, in one
 * pass by SQLite: which rows match their event (see above), what they hold
 * (for verify's list of objects), and which events are left for the
 * caller. `except`: recordings compared by the caller whatever (those
 * later events change).
 */
export function matchIngested(db: Db, head: number, except: Iterable<number>): IngestedMatches {
  const r = db
    .prepare(
      `WITH x AS (SELECT e.seq, r.id, r.sha256, r.size,
          coalesce(${MATCH} AND r.id NOT IN (SELECT value FROM json_each(?)), 0) AS ok
        FROM events e LEFT JOIN recordings r ON r.event_seq = e.seq WHERE e.type = 'ingested' AND e.seq <= ? ORDER BY e.seq)
      SELECT count(*) FILTER (WHERE ok), json_group_array(seq) FILTER (WHERE ok), json_group_array(id) FILTER (WHERE ok),
        json_group_array(size) FILTER (WHERE ok), group_concat(sha256, '') FILTER (WHERE ok), json_group_array(seq) FILTER (WHERE NOT ok) FROM x`,
    )
    .raw()
    .get(JSON.stringify([...except]), head) as [number, string, string, string, string | null, string]
  const rows = db.prepare('SELECT count(*) FROM recordings').pluck().get() as number
  return { matched: r[0], seqs: r[1], ids: r[2], sizes: r[3], shas: r[4] ?? '', others: JSON.parse(r[5]) as number[], rows }
}

/** One recording's column values in FIELDS order (important as 0/1), or undefined; the statement prepared once. */
export function recordingRowReader(db: Db): (id: number) => unknown[] | undefined {
  const stmt = db.prepare(`SELECT ${FIELDS.map((f) => COLUMNS[f]).join(', ')} FROM recordings WHERE id = ?`).raw()
  return (id) => stmt.get(id) as unknown[] | undefined
}
