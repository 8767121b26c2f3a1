import type { Db } from '../catalog/db.js'
import { canonicalBytes, chainHash, GENESIS_HASH, storedChainHash, type EventBody } from './canonical.js'
import type { EventType, NewEvent } from './events.js'

export interface LedgerEvent extends EventBody {
  prevHash: string
  hash: string
}

interface EventRow {
  seq: number
  type: string
  at: string
  actor: string
  subject: string
  payload: string
  prev_hash: string
  hash: string
}

function fromRow(r: EventRow): LedgerEvent {
  return {
    seq: r.seq,
    type: r.type,
    at: r.at,
    actor: r.actor,
    subject: r.subject,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  }
}

/**
 * Appends one event to the chain. Call it inside the caller's write
 * transaction (begun with .immediate()) so the event and the catalog change
 * it describes commit together (better-sqlite3 transactions nest as
 * savepoints). Called on its own, it begins an IMMEDIATE transaction: it
 * reads the head before it writes, and a deferred transaction that read
 * first cannot wait for another process's write lock (SQLite answers
 * SQLITE_BUSY at once instead of honouring busy_timeout). Only the event
 * types of ./events.ts, with their subjects and payloads, compile.
 */
export function appendEvent(db: Db, ev: NewEvent): LedgerEvent {
  const append = db.transaction((): LedgerEvent => {
    const head = db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined
    const body: EventBody = {
      seq: (head?.seq ?? 0) + 1,
      type: ev.type,
      at: (ev.at ?? new Date()).toISOString(),
      actor: ev.actor,
      subject: ev.subject,
      payload: ev.payload,
    }
    const prevHash = head?.hash ?? GENESIS_HASH
    const hash = chainHash(prevHash, body)
    // The stored payload is its canonical text, so what was hashed is what is kept.
    db.prepare('INSERT INTO events (seq, type, at, actor, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      body.seq,
      body.type,
      body.at,
      body.actor,
      body.subject,
      canonicalBytes(body.payload).toString('utf8'),
      prevHash,
      hash,
    )
    return { ...body, payload: JSON.parse(canonicalBytes(body.payload).toString('utf8')) as Record<string, unknown>, prevHash, hash }
  })
  return db.inTransaction ? append() : append.immediate()
}

export function eventsFor(db: Db, subject: string): LedgerEvent[] {
  return (db.prepare('SELECT * FROM events WHERE subject = ? ORDER BY seq').all(subject) as EventRow[]).map(fromRow)
}

/** The events about any of these subjects, in chain order. */
export function eventsAbout(db: Db, subjects: readonly string[]): LedgerEvent[] {
  const rows = db.prepare(`SELECT * FROM events WHERE subject IN (${subjects.map(() => '?').join(', ')}) ORDER BY seq`).all(...subjects) as EventRow[]
  return rows.map(fromRow)
}

/** The seq of the newest event about any of these subjects (0: none). */
export function latestSeqAbout(db: Db, subjects: readonly string[]): number {
  const r = db.prepare(`SELECT max(seq) AS m FROM events WHERE subject IN (${subjects.map(() => '?').join(', ')})`).get(...subjects) as { m: number | null }
  return r.m ?? 0
}

/**
 * The seq of the newest event of any of these types (0: none): one probe of
 * the type index per type, so a cache may ask it on every read to learn
 * whether something it counts was recorded since, by this process or another.
 */
export function latestSeqOfTypes(db: Db, types: readonly EventType[]): number {
  const newest = db.prepare('SELECT max(seq) FROM events WHERE type = ?').pluck()
  let m = 0
  for (const type of types) m = Math.max(m, (newest.get(type) as number | null) ?? 0)
  return m
}

/** The subjects of the events after `seq`, each once. */
export function subjectsSince(db: Db, seq: number): string[] {
  return db.prepare('SELECT DISTINCT subject FROM events WHERE seq > ?').pluck().all(seq) as string[]
}

/** Up to `limit` events after `seq`, in chain order. */
export function eventsAfter(db: Db, seq: number, limit: number): LedgerEvent[] {
  return (db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as EventRow[]).map(fromRow)
}

/** Events of these types as stored (payload as its text), in chain order: for checks that must survive a payload that is not JSON. */
export function storedEventsOfType(
  db: Db,
  types: readonly EventType[],
): IterableIterator<{ seq: number; type: EventType; at: string; actor: string; payload: string }> {
  return db
    .prepare(`SELECT seq, type, at, actor, payload FROM events WHERE type IN (${types.map(() => '?').join(', ')}) ORDER BY seq`)
    .iterate(...types) as IterableIterator<{ seq: number; type: EventType; at: string; actor: string; payload: string }>
}

/** What a fold reads of an event: payload parsed, no hashes (the audit checks those). */
export type FoldEvent = Pick<LedgerEvent, 'seq' | 'type' | 'at' | 'actor' | 'payload'>

/**
 * Events of these types, payload parsed, in chain order, read by the type
 * index: for verify's folds, which look at few types. An event whose payload
 * is not JSON is left out (the audit reports it).
 */
export function* foldEventsOfType(db: Db, types: Iterable<EventType>): Generator<FoldEvent> {
  const list = [...types]
  const stmt = db.prepare(`SELECT seq, type, at, actor, payload FROM events WHERE type IN (${list.map(() => '?').join(', ')}) ORDER BY seq`).raw()
  for (const [seq, type, at, actor, text] of stmt.iterate(...list) as IterableIterator<[number, string, string, string, string]>) {
    let payload: Record<string, unknown>
    try {
      payload = JSON.parse(text) as Record<string, unknown>
    } catch {
      continue
    }
    yield { seq, type, at, actor, payload }
  }
}

/** How many events there are (of these types, when given). */
export function countEvents(db: Db, types?: readonly EventType[]): number {
  if (!types) return db.prepare('SELECT count(*) FROM events').pluck().get() as number
  return db
    .prepare(`SELECT count(*) FROM events WHERE type IN (${types.map(() => '?').join(', ')})`)
    .pluck()
    .get(...types) as number
}

/**
 * Writes events exactly as they were (their seqs and hashes, the payload in
 * canonical form), for a catalog rebuilt from copies of the chain; walkChain
 * then tells whether they still form one.
 */
export function restoreEvents(db: Db, events: Iterable<LedgerEvent>): void {
  const insert = db.prepare('INSERT INTO events (seq, type, at, actor, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  db.transaction(() => {
    for (const e of events) insert.run(e.seq, e.type, e.at, e.actor, e.subject, canonicalBytes(e.payload).toString('utf8'), e.prevHash, e.hash)
  }).immediate()
}

/** How many events come after `seq`, not counting those of the `except` types. */
export function countEventsAfter(db: Db, seq: number, except: readonly EventType[]): number {
  return db
    .prepare(`SELECT count(*) FROM events WHERE seq > ? AND type NOT IN (${except.map(() => '?').join(', ') || "''"})`)
    .pluck()
    .get(seq, ...except) as number
}

export function eventAt(db: Db, seq: number): LedgerEvent | undefined {
  return eventReader(db)(seq)
}

/** eventAt with its statement prepared once, for a caller that reads many events (a prepare costs more than the read). */
export function eventReader(db: Db): (seq: number) => LedgerEvent | undefined {
  const stmt = db.prepare('SELECT * FROM events WHERE seq = ?')
  return (seq) => {
    const r = stmt.get(seq) as EventRow | undefined
    return r ? fromRow(r) : undefined
  }
}

export function ledgerHead(db: Db): { seq: number; hash: string } {
  const head = db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined
  return head ?? { seq: 0, hash: GENESIS_HASH }
}

export interface ChainProblem {
  seq: number
  detail: string
}

/**
 * Re-walks the whole chain in seq order, recomputing every hash. Yields
 * each event as it goes (for callers that fold state) and reports gaps,
 * reordering, edited events and broken links. `links: true` checks the
 * sequence and the links only, no hash recomputed: for verify, whose
 * auditLedger (audit.ts) recomputes them on all cores, tied to this walk by
 * the last event's stored hash.
 */
export function* walkChain(db: Db, problems: ChainProblem[], opts: { links?: boolean } = {}): Generator<LedgerEvent> {
  let prev = GENESIS_HASH
  let expected = 1
  for (const row of db.prepare('SELECT * FROM events ORDER BY seq').iterate() as IterableIterator<EventRow>) {
    if (row.seq !== expected) {
      problems.push({
        seq: row.seq,
        detail: row.seq > expected ? `events ${expected}..${row.seq - 1} are missing (deleted?)` : `sequence out of order: expected ${expected}`,
      })
      expected = row.seq
    }
    let ev: LedgerEvent
    try {
      ev = fromRow(row)
    } catch {
      problems.push({ seq: row.seq, detail: 'payload is not valid JSON' })
      prev = row.hash
      expected++
      continue
    }
    if (row.prev_hash !== prev)
      problems.push({ seq: row.seq, detail: `prev_hash ${row.prev_hash.slice(0, 12)}… does not link to the previous event's hash ${prev.slice(0, 12)}…` })
    const recomputed = opts.links ? row.hash : storedChainHash(prev, { ...ev, payloadText: row.payload })
    if (recomputed !== row.hash)
      problems.push({
        seq: row.seq,
        detail: `hash does not match its content (stored ${row.hash.slice(0, 12)}…, recomputed ${recomputed.slice(0, 12)}…): the event was edited`,
      })
    yield ev
    // Continue from the stored hash so one edit is reported once, not at every later event.
    prev = row.hash
    expected++
  }
}

/**
 * What GET /v1/audit and GET /v1/ledger ask for: events of these types (all
 * types when absent) after a seq, in a time range, by or about one account,
 * of one outcome, about one subject, by one actor, about one unit's footage.
 */
export interface AuditQuery {
  types?: readonly string[] | undefined
  afterSeq: number
  from?: string | undefined
  to?: string | undefined
  /** The account: its actor (`user:<name>`), the `user` of the payload, or one of the accounts a `sign-in-failures` event counts. */
  user?: string | undefined
  outcome?: string | undefined
  /** Exactly this subject (`recording:12`, `export:3`...). */
  subject?: string | undefined
  /** Exactly this actor (`user:li.clerk`, `token:4`, `station:...`). */
  actor?: string | undefined
  /** About this unit: the unit itself, or a recording attributed to it (the officer's unit at the recorded time). */
  unit?: string | undefined
  limit: number
}

/** Up to `limit` events matching the query, in chain order (the query's `afterSeq` pages). */
export function auditEvents(db: Db, q: AuditQuery): LedgerEvent[] {
  const where = ['seq > ?']
  const args: unknown[] = [q.afterSeq]
  const add = (clause: string, ...values: unknown[]): void => {
    where.push(clause)
    args.push(...values)
  }
  if (q.types !== undefined) add(`type IN (${q.types.map(() => '?').join(', ')})`, ...q.types)
  if (q.from !== undefined) add('at >= ?', q.from)
  if (q.to !== undefined) add('at < ?', q.to)
  if (q.subject !== undefined) add('subject = ?', q.subject)
  if (q.actor !== undefined) add('actor = ?', q.actor)
  if (q.unit !== undefined)
    add("(subject = ? OR subject IN (SELECT 'recording:' || recording_id FROM recording_attribution WHERE unit_code = ?))", `unit:${q.unit}`, q.unit)
  if (q.user !== undefined)
    add(
      "(actor = ? OR json_extract(payload, '$.user') = ? OR EXISTS (SELECT 1 FROM json_each(payload, '$.accounts') WHERE json_extract(value, '$.user') = ?))",
      `user:${q.user}`,
      q.user,
      q.user,
    )
  if (q.outcome !== undefined) add("json_extract(payload, '$.outcome') = ?", q.outcome)
  const rows = db.prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...args, q.limit) as EventRow[]
  return rows.map(fromRow)
}
