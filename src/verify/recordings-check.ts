import type { Db } from '../catalog/db.js'
import { FIELDS, recordingRows } from '../catalog/recordings.js'
import type { Problem } from '../common/problems.js'
import { type EventType, subjects } from '../ledger/events.js'
import { type FoldEvent, foldEventsOfType } from '../ledger/ledger.js'
import { type Expected, foldRecordings, RECORDING_CHANGES } from '../ledger/recordings.js'

export interface RecordingsCheck {
  problems: Problem[]
  recordings: number
  /** Original objects the ledger says must exist, their size, and the recordings that use them (in chain order). */
  needed: Map<string, { size: number; ids: number[] }>
}

const IMPORTANT = FIELDS.indexOf('important')

/**
 * Every catalog recording against the state the ledger gives it, streamed:
 * one `ingested` event at a time (by the type index, in chain order) folded
 * with the later changes to that recording (`changes`: the few events of
 * RECORDING_CHANGES, gathered beforehand by the caller), and compared at
 * once with its catalog row, read by a cursor in id order beside it (rows
 * the ledger has not reached yet wait in a map). Nothing is kept per
 * recording but its object in `needed`: the former whole fold held a
 * million parsed payloads until the comparison, and collecting them cost
 * more than folding them. The findings and their order are the whole
 * fold's: row findings by id, then the recordings missing from the catalog
 * in chain order.
 */
export function checkRecordings(db: Db, changes: ReadonlyMap<number, FoldEvent[]>): RecordingsCheck {
  let last: Map<number, number> | undefined
  for (;;) {
    const r = compareStreamed(db, changes, last)
    if (!('again' in r)) return r
    // A recording ingested twice: the later event is the one that counts (as in the whole fold); the pass starts again knowing it.
    last = r.again
  }
}

function compareStreamed(
  db: Db,
  changes: ReadonlyMap<number, FoldEvent[]>,
  /** Recordings with more than one `ingested` event: the seq of the last one. */
  last: Map<number, number> | undefined,
): RecordingsCheck | { again: Map<number, number> } {
  const rowProblems: { id: number; p: Problem }[] = []
  const missing: Problem[] = []
  const needed = new Map<string, { size: number; ids: number[] }>()
  const seen = new Set<number>()
  let twice: Map<number, number> | undefined
  const rows = recordingRows(db)
  let cursor = rows.next()
  const ahead = new Map<number, unknown[]>()
  let recordings = 0
  const one = new Map<number, Expected>()
  for (const ev of foldEventsOfType(db, ['ingested'])) {
    const id = ev.payload.recordingId
    if (typeof id !== 'number') {
      // No catalog row can match it (the whole fold kept it under that key, and found no row).
      missing.push({
        kind: 'catalog-missing',
        subject: subjects.recording(id as number),
        detail: `ledger event ${ev.seq} records it but the catalog has no row`,
      })
      continue
    }
    if (last) {
      if ((last.get(id) ?? ev.seq) !== ev.seq) continue
    } else if (seen.has(id)) {
      twice ??= new Map()
      twice.set(id, ev.seq)
      continue
    }
    seen.add(id)
    one.clear()
    foldRecordings(ev, one, true)
    for (const c of changes.get(id) ?? []) if (c.seq > ev.seq) foldRecordings(c, one)
    const want = one.get(id)!
    if (want.status === 'stored') {
      const n = needed.get(want.sha256)
      if (n) n.ids.push(id)
      else needed.set(want.sha256, { size: want.size, ids: [id] })
    }
    let row = ahead.get(id)
    if (row) ahead.delete(id)
    else
      while (!cursor.done) {
        const r = cursor.value
        const rid = r[0] as number
        if (rid > id) break
        recordings++
        cursor = rows.next()
        if (rid === id) {
          row = r
          break
        }
        ahead.set(rid, r)
      }
    if (!row) {
      missing.push({ kind: 'catalog-missing', subject: subjects.recording(id), detail: `ledger event ${want.eventSeq} records it but the catalog has no row` })
      continue
    }
    for (let i = 0; i < FIELDS.length; i++) {
      const field = FIELDS[i]!
      const a = i === IMPORTANT ? row[i] === 1 : row[i]
      const b = want[field] ?? null
      if (a !== b)
        rowProblems.push({
          id,
          p: {
            kind: 'catalog-mismatch',
            subject: subjects.recording(id),
            detail: `${field} is ${JSON.stringify(a)} in the catalog but ${JSON.stringify(b)} in ledger event ${want.eventSeq}`,
          },
        })
    }
  }
  if (twice) {
    rows.return?.()
    return { again: twice }
  }
  for (; !cursor.done; cursor = rows.next()) {
    recordings++
    ahead.set(cursor.value[0] as number, cursor.value)
  }
  for (const id of ahead.keys())
    rowProblems.push({ id, p: { kind: 'catalog-extra', subject: subjects.recording(id), detail: 'catalog row has no ingested event in the ledger' } })
  // Stable: a row's findings stay in field order.
  rowProblems.sort((x, y) => x.id - y.id)
  return { problems: [...rowProblems.map((x) => x.p), ...missing], recordings, needed }
}

/** Which recordings the changes are about, each recording's in chain order. */
export function recordingChanges(into: Map<number, FoldEvent[]>, ev: FoldEvent): void {
  if (!RECORDING_CHANGES.has(ev.type as EventType)) return
  const id = ev.payload.recordingId
  if (typeof id !== 'number') return
  const list = into.get(id)
  if (list) list.push(ev)
  else into.set(id, [ev])
}
