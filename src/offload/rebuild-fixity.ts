/**
 * The fixity state a rebuilt catalog gets from the chain (tables
 * object_fixity and fixity_runs): each object's open finding and its last
 * check the ledger proves, and the fixity job's runs. What the catalog
 * wrote beside an event, the rebuild writes again from it:
 *   derived          the derivative hashed as it was made: checked then
 *   fetched-back     an evicted object hashed whole on its way back: checked then
 *   local-copy-confirmed  a copy already in a rebuilt data dir hashed whole
 *                    and found good (reindex --fetch): checked then
 *   fixity-failed    the local copy bad (an object subject, not a package
 *                    being sent): an open finding, checked then
 *   object-repaired  a good copy in place again: the finding closed, checked then
 *   fixity-checked   one run of the fixity job: a fixity_runs row
 * A check that found the bytes good is not an event (the job's quiet
 * pass, a first serve, an ingest): such objects come back never checked
 * and are due at the next run, as they would be after a data-dir loss.
 */
import type { Db } from '../catalog/db.js'
import { describeProblem, type FixityProblem, insertFixityRun, restoreObjectFixity } from '../catalog/fixity.js'
import type { EventPayload } from '../ledger/events.js'
import type { LedgerEvent } from '../ledger/ledger.js'

interface ObjectState {
  size: number
  checkedAt: string
  failedAt: string | null
  failure: string | null
}

export class FixityFold {
  readonly objects = new Map<string, ObjectState>()
  readonly runs: { seq: number; at: string; p: EventPayload<'fixity-checked'> }[] = []

  apply(ev: LedgerEvent): void {
    const p = ev.payload as Record<string, unknown>
    switch (ev.type) {
      case 'derived':
      case 'fetched-back':
      case 'local-copy-confirmed':
        this.checked(String(p.sha256), Number(p.size), ev.at, false)
        break
      case 'object-repaired':
        this.checked(String(p.sha256), Number(p.size), ev.at, true)
        break
      case 'fixity-failed': {
        if (!ev.subject.startsWith('object:')) break // a package being sent: not a vault object
        const f = p as unknown as FixityProblem
        this.objects.set(f.sha256, { size: f.size, checkedAt: ev.at, failedAt: ev.at, failure: describeProblem(f) })
        break
      }
      case 'fixity-checked':
        this.runs.push({ seq: ev.seq, at: ev.at, p: p as unknown as EventPayload<'fixity-checked'> })
    }
  }

  private checked(sha256: string, size: number, at: string, closes: boolean): void {
    const was = this.objects.get(sha256)
    this.objects.set(sha256, closes || !was ? { size, checkedAt: at, failedAt: null, failure: null } : { ...was, checkedAt: at })
  }

  /** Known bad on the record, not repaired since. */
  isOpen(sha256: string): boolean {
    return this.objects.get(sha256)?.failedAt != null
  }

  /** Writes the rows of the objects `needed` names (inside the rebuild's transaction), and every run. */
  write(db: Db, needed: ReadonlySet<string>): { open: number; checked: number; runs: number } {
    const c = { open: 0, checked: 0, runs: 0 }
    for (const [sha256, o] of this.objects) {
      if (!needed.has(sha256)) continue
      restoreObjectFixity(db, { sha256, ...o })
      if (o.failedAt !== null) c.open++
      else c.checked++
    }
    for (const { seq, at, p } of this.runs) {
      insertFixityRun(db, {
        startedAt: new Date(Date.parse(at) - p.durationMs).toISOString(),
        endedAt: at,
        trigger: p.trigger,
        scope: p.scope,
        objects: p.objects,
        bytes: p.bytes,
        failed: p.failed,
        repaired: p.repaired,
        remaining: p.remaining,
        stopped: p.stopped,
        eventSeq: seq,
      })
      c.runs++
    }
    return c
  }
}
