import type { Recording } from '../catalog/recordings.js'

export type Expected = Omit<Recording, 'status'> & { status: Recording['status'] }

/**
 * The state of every recording as the ledger says it is: the one place
 * that folds events into recordings. Event types that do not touch a
 * recording are ignored here.
 */
export function foldRecordings(ev: { seq: number; type: string; at: string; payload: Record<string, unknown> }, into: Map<number, Expected>): void {
  if (ev.type === 'ingested') {
    const { recordingId, ...facts } = ev.payload as { recordingId: number } & Record<string, unknown>
    into.set(recordingId, {
      ...(facts as unknown as Omit<Recording, 'id' | 'ingestedAt' | 'eventSeq' | 'status'>),
      id: recordingId,
      ingestedAt: ev.at,
      eventSeq: ev.seq,
      status: 'stored',
    })
  } else if (ev.type === 'category-changed' || ev.type === 'case-linked' || ev.type === 'case-unlinked' || ev.type === 'purged') {
    // src/retention/actions.ts writes these; case_number is the earliest-linked case still linked.
    const p = ev.payload as { recordingId: number; to?: string | null; recordingCaseNumber?: string | null }
    const r = into.get(p.recordingId)
    if (!r) return
    if (ev.type === 'category-changed') r.category = p.to ?? null
    else if (ev.type === 'purged') r.status = 'purged'
    else r.caseNumber = p.recordingCaseNumber ?? null
  } else if (ev.type === 'importance-changed') {
    const p = ev.payload as { recordingId: number; to: boolean }
    const r = into.get(p.recordingId)
    if (r) r.important = p.to
  }
}
