import type { Db } from '../catalog/db.js'
import { canonicalBytes, chainHash, GENESIS_HASH, storedChainHash, type EventBody } from './canonical.js'

export interface LedgerEvent extends EventBody {
  prevHash: string
  hash: string
}

export interface NewEvent {
  type: string
  actor: string
  subject: string
  payload: Record<string, unknown>
  /** Defaults to now. */
  at?: Date
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
 * transaction so the event and the catalog change it describes commit
 * together (better-sqlite3 transactions nest as savepoints).
 */
export function appendEvent(db: Db, ev: NewEvent): LedgerEvent {
  return db.transaction((): LedgerEvent => {
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
  })()
}

export function eventsFor(db: Db, subject: string): LedgerEvent[] {
  return (db.prepare('SELECT * FROM events WHERE subject = ? ORDER BY seq').all(subject) as EventRow[]).map(fromRow)
}

export function eventAt(db: Db, seq: number): LedgerEvent | undefined {
  const r = db.prepare('SELECT * FROM events WHERE seq = ?').get(seq) as EventRow | undefined
  return r ? fromRow(r) : undefined
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
 * reordering, edited events and broken links.
 */
export function* walkChain(db: Db, problems: ChainProblem[]): Generator<LedgerEvent> {
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
    const recomputed = storedChainHash(prev, { ...ev, payloadText: row.payload })
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
