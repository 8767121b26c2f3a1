import { allCaseLinks, allCases, allHolds, type CaseLinkRow, type CaseRow, type HoldRow } from '../catalog/cases.js'
import type { Db } from '../catalog/db.js'
import { allFlags, type FlagRow } from '../catalog/flags.js'
import { allRetention, type RetentionRow } from '../catalog/retention.js'
import type { Problem } from '../common/problems.js'
import { type EventType, subjects } from '../ledger/events.js'
import type { LedgerEvent } from '../ledger/ledger.js'

type P = Record<string, unknown>
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)

/**
 * The cases, case links, holds, retention flags and deadlines the ledger says the catalog
 * must hold (recording fields themselves are folded by foldRecordings in
 * src/verify/vault.ts). `verify` feeds every event here, then compares the
 * tables. It also checks every `purged` tombstone against the state at
 * that point of the chain: no hold or flag in force, no open case, deadline passed.
 */
export class RetentionFold {
  /** The event types apply() looks at, and the only ones: verify reads just these (by the type index), so the list cannot fall behind the switch. */
  static readonly types: ReadonlySet<EventType> = new Set<EventType>([
    'case-created',
    'case-closed',
    'case-reopened',
    'case-linked',
    'case-unlinked',
    'hold-placed',
    'hold-released',
    'flag-set',
    'flag-removal-requested',
    'flag-removal-withdrawn',
    'flag-removed',
    'retention-changed',
    'purged',
  ])
  readonly cases = new Map<string, CaseRow>()
  readonly links = new Map<string, CaseLinkRow>()
  readonly holds = new Map<number, HoldRow>()
  readonly flags = new Map<number, FlagRow>()
  readonly retention = new Map<number, Omit<RetentionRow, 'recordingId'>>()
  readonly problems: Problem[] = []

  apply(ev: Pick<LedgerEvent, 'seq' | 'type' | 'at' | 'actor' | 'payload'>): void {
    if (!RetentionFold.types.has(ev.type as EventType)) return
    const p = ev.payload as P
    switch (ev.type) {
      case 'case-created': {
        const n = String(p.caseNumber)
        this.cases.set(n, {
          number: n,
          type: String(p.type),
          title: str(p.title),
          status: 'open',
          openedAt: String(p.openedAt),
          openedBy: ev.actor,
          closedAt: null,
          closedBy: null,
        })
        break
      }
      case 'case-closed':
      case 'case-reopened': {
        const c = this.cases.get(String(p.caseNumber))
        if (!c) break
        if (ev.type === 'case-closed') Object.assign(c, { status: 'closed', closedAt: String(p.closedAt), closedBy: ev.actor })
        else Object.assign(c, { status: 'open', closedAt: null, closedBy: null })
        break
      }
      case 'case-linked':
        this.links.set(`${String(p.recordingId)}|${String(p.caseNumber)}`, {
          recordingId: Number(p.recordingId),
          caseNumber: String(p.caseNumber),
          linkedAt: ev.at,
          linkedBy: ev.actor,
        })
        break
      case 'case-unlinked':
        this.links.delete(`${String(p.recordingId)}|${String(p.caseNumber)}`)
        break
      case 'hold-placed': {
        const id = Number(p.holdId)
        this.holds.set(id, {
          id,
          recordingId: Number(p.recordingId),
          reason: String(p.reason),
          placedBy: ev.actor,
          placedAt: ev.at,
          releasedAt: null,
          releasedBy: null,
          releaseReason: null,
        })
        break
      }
      case 'hold-released': {
        const h = this.holds.get(Number(p.holdId))
        if (h) Object.assign(h, { releasedAt: ev.at, releasedBy: ev.actor, releaseReason: str(p.reason) })
        break
      }
      case 'flag-set': {
        const id = Number(p.flagId)
        this.flags.set(id, {
          id,
          recordingId: Number(p.recordingId),
          flag: String(p.flag),
          reason: String(p.reason),
          setBy: ev.actor,
          setPerson: String(p.person),
          setAt: ev.at,
          removalRequestedBy: null,
          removalPerson: null,
          removalRequestedAt: null,
          removalReason: null,
          removedAt: null,
          removedBy: null,
          removedPerson: null,
        })
        break
      }
      case 'flag-removal-requested':
      case 'flag-removal-withdrawn': {
        const f = this.flags.get(Number(p.flagId))
        const asked = ev.type === 'flag-removal-requested'
        if (f)
          Object.assign(f, {
            removalRequestedBy: asked ? ev.actor : null,
            removalPerson: asked ? String(p.person) : null,
            removalRequestedAt: asked ? ev.at : null,
            removalReason: asked ? str(p.reason) : null,
          })
        break
      }
      case 'flag-removed': {
        const f = this.flags.get(Number(p.flagId))
        if (f) Object.assign(f, { removedAt: ev.at, removedBy: ev.actor, removedPerson: String(p.person) })
        break
      }
      case 'retention-changed': {
        const d = String(p.deadline)
        this.retention.set(Number(p.recordingId), {
          deadline: d === 'indefinite' ? null : d,
          rule: String(p.rule),
          ruleRef: str(p.ruleRef),
          eventSeq: ev.seq,
        })
        break
      }
      case 'purged':
        this.checkPurge(ev.seq, ev.at, Number(p.recordingId))
        break
    }
  }

  /** A tombstone must be justified by the chain itself. */
  private checkPurge(seq: number, at: string, id: number): void {
    const subject = `event:${seq}`
    const who = subjects.recording(id)
    for (const h of this.holds.values()) {
      if (h.recordingId === id && h.releasedAt === null)
        this.problems.push({ kind: 'retention', subject, detail: `${who} was purged while legal hold #${h.id} was in force` })
    }
    for (const f of this.flags.values()) {
      if (f.recordingId === id && f.removedAt === null)
        this.problems.push({ kind: 'retention', subject, detail: `${who} was purged while flag #${f.id} (${f.flag}) was set` })
    }
    for (const l of this.links.values()) {
      if (l.recordingId === id && this.cases.get(l.caseNumber)?.status !== 'closed')
        this.problems.push({ kind: 'retention', subject, detail: `${who} was purged while linked to open case ${l.caseNumber}` })
    }
    const r = this.retention.get(id)
    if (!r) this.problems.push({ kind: 'retention', subject, detail: `${who} was purged but the ledger never gave it a deadline` })
    else if (r.deadline === null) this.problems.push({ kind: 'retention', subject, detail: `${who} was purged but its deadline was indefinite (${r.rule})` })
    else if (r.deadline > at) this.problems.push({ kind: 'retention', subject, detail: `${who} was purged at ${at}, before its deadline ${r.deadline}` })
  }
}

/** Compares the retention tables with the fold, field by field. */
export function checkRetentionCatalog(db: Db, fold: RetentionFold): Problem[] {
  const out: Problem[] = [...fold.problems]
  compare(out, 'case', allCases(db), (r) => r.number, fold.cases)
  compare(out, 'case-link', allCaseLinks(db), (r) => `${r.recordingId}|${r.caseNumber}`, fold.links)
  compare(out, 'hold', allHolds(db), (r) => r.id, fold.holds)
  compare(out, 'flag', allFlags(db), (r) => r.id, fold.flags)
  compare(out, 'retention', allRetention(db), (r) => r.recordingId, new Map([...fold.retention].map(([k, v]) => [k, { recordingId: k, ...v }])))
  return out
}

function compare<K, R extends object>(out: Problem[], what: string, rows: R[], key: (r: R) => K, want: Map<K, R>): void {
  const seen = new Set<K>()
  for (const row of rows) {
    const k = key(row)
    seen.add(k)
    const w = want.get(k)
    const subject = `${what}:${String(k)}`
    if (!w) {
      out.push({ kind: 'catalog-extra', subject, detail: `catalog ${what} row has no ledger event` })
      continue
    }
    for (const f of Object.keys(w) as (keyof R)[]) {
      if ((row[f] ?? null) !== (w[f] ?? null))
        out.push({
          kind: 'catalog-mismatch',
          subject,
          detail: `${String(f)} is ${JSON.stringify(row[f])} in the catalog but ${JSON.stringify(w[f])} in the ledger`,
        })
    }
  }
  for (const k of want.keys())
    if (!seen.has(k))
      out.push({ kind: 'catalog-missing', subject: `${what}:${String(k)}`, detail: `the ledger records this ${what} but the catalog has no row` })
}
