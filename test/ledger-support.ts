import type { Db } from '../src/catalog/db.js'
import type { NewEvent } from '../src/ledger/events.js'
import { appendEvent, type LedgerEvent } from '../src/ledger/ledger.js'

/**
 * Appends an event outside the ledger's vocabulary (src/ledger/events.ts),
 * which appendEvent's type refuses: for tests of the chain itself (any
 * type and payload hash and link the same way) and for forged events that
 * verify must catch.
 */
export function appendForeignEvent(db: Db, ev: { type: string; actor: string; subject: string; payload: Record<string, unknown>; at?: Date }): LedgerEvent {
  return appendEvent(db, ev as unknown as NewEvent)
}
