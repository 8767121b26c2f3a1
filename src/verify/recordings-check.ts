import type { Db } from '../catalog/db.js'
import { FIELDS, recordingRows } from '../catalog/recordings.js'
import { matchIngested, recordingRowReader } from '../catalog/recordings-ledger.js'
import type { Problem } from '../common/problems.js'
import { type EventType, subjects } from '../ledger/events.js'
import { eventReader, type FoldEvent, foldEventsOfType } from '../ledger/ledger.js'
import { type Expected, foldRecordings, RECORDING_CHANGES } from '../ledger/recordings.js'
import { type Needed, NeededObjects } from './needed.js'

export interface RecordingsCheck {
  problems: Problem[]
  recordings: number
  /** Original objects the ledger says must exist, their size, and the recordings that use them (in chain order). */
  needed: NeededObjects
}

const IMPORTANT = FIELDS.indexOf('important')
const EVENT_SEQ = FIELDS.indexOf('eventSeq')

/**
 * checkRecordings' findings, most of the comparison done by SQLite
 * (src/catalog/recordings-ledger.ts matchIngested: a row that matches its
 * event's text is the ledger's state of it): this thread folds and compares
 * only the rest, the recordings that later events change and any event
 * whose row did not match. Sound only for a ledger whose every payload is
 * in canonical form: the caller uses it when the audit found that, and the
 * streamed comparison otherwise. Undefined when the rest is not the simple
 * case (a catalog row without its event, a payload that is not JSON or has
 * no numeric recordingId, a recording ingested again after the event its
 * row matched): the caller then runs the streamed comparison, which finds
 * and words all of it.
 */
export function checkRecordingsFast(db: Db, changes: ReadonlyMap<number, FoldEvent[]>, head: number): RecordingsCheck | undefined {
  const m = matchIngested(db, head, changes.keys())
  // Prepared once: one event and one row per recording later events change (10,000 in the bench).
  const eventAt = eventReader(db)
  const recordingRow = recordingRowReader(db)
  const others = new Set(m.others)
  // The events left, by recording, in chain order.
  const byId = new Map<number, FoldEvent[]>()
  for (const seq of m.others) {
    let ev: FoldEvent | undefined
    try {
      ev = eventAt(seq)
    } catch {
      return undefined
    }
    const id = ev?.payload.recordingId
    if (!ev || typeof id !== 'number') return undefined
    const list = byId.get(id)
    if (list) list.push(ev)
    else byId.set(id, [ev])
  }
  const rowProblems: { id: number; p: Problem }[] = []
  const missing: { seq: number; p: Problem }[] = []
  const more: (Needed & { seq: number })[] = []
  let rows = m.matched
  const one = new Map<number, Expected>()
  for (const [id, evs] of byId) {
    const row = recordingRow(id)
    const last = evs[evs.length - 1]!
    if (row) {
      const rowSeq = row[EVENT_SEQ]
      if (typeof rowSeq === 'number' && rowSeq <= head && !others.has(rowSeq) && eventAt(rowSeq)?.type === 'ingested') {
        // Its row matched another `ingested` event of it: the last one (then these are folded over) or not the simple case.
        if (rowSeq > last.seq) continue
        return undefined
      }
      rows++
    }
    one.clear()
    foldRecordings(last, one)
    for (const c of changes.get(id) ?? []) if (c.seq > last.seq) foldRecordings(c, one)
    const want = one.get(id)!
    if (want.status === 'stored') more.push({ seq: last.seq, sha256: want.sha256, size: want.size, id })
    if (row) compareRow(id, row, want, rowProblems)
    else
      missing.push({
        seq: last.seq,
        p: { kind: 'catalog-missing', subject: subjects.recording(id), detail: `ledger event ${want.eventSeq} records it but the catalog has no row` },
      })
  }
  // A row no event accounts for: the streamed comparison names it.
  if (rows !== m.rows) return undefined
  rowProblems.sort((x, y) => x.id - y.id)
  missing.sort((x, y) => x.seq - y.seq)
  return {
    problems: [...rowProblems.map((x) => x.p), ...missing.map((x) => x.p)],
    recordings: m.rows,
    needed: NeededObjects.merged(m, more),
  }
}

function compareRow(id: number, row: unknown[], want: Expected, into: { id: number; p: Problem }[]): void {
  for (let i = 0; i < FIELDS.length; i++) {
    const field = FIELDS[i]!
    const a = i === IMPORTANT ? row[i] === 1 : row[i]
    const b = want[field] ?? null
    if (a !== b)
      into.push({
        id,
        p: {
          kind: 'catalog-mismatch',
          subject: subjects.recording(id),
          detail: `${field} is ${JSON.stringify(a)} in the catalog but ${JSON.stringify(b)} in ledger event ${want.eventSeq}`,
        },
      })
  }
}

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
    compareRow(id, row, want, rowProblems)
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
  return { problems: [...rowProblems.map((x) => x.p), ...missing], recordings, needed: new NeededObjects(() => needed) }
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
