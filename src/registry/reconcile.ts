/**
 * Reconciliation after a docking: what each camera should have handed over
 * and did not. Per device: gaps in its file counter (a recording deleted
 * on the camera before docking) and repeats (the counter went back: a
 * reset, or files of another camera), recordings dated before the
 * device's previous docking, and recordings dated after the docking
 * itself (a clock running ahead of the station's). Each is a
 * `reconciliation` finding with its ledger event, for a supervisor.
 */
import { deviceCounters, previousDocking, sessionAttributions } from '../catalog/assignments.js'
import type { Db } from '../catalog/db.js'
import { raiseFinding } from './findings.js'

export interface ReconcileInput {
  sessionId: number
  /** When the session's last listing of the volume began (the station's clock). */
  listedAt: string
  /** Counters of files the session saw on the camera but could not ingest: still on it, so not a gap. */
  failedCounters?: readonly number[]
}

/** Missing numbers as ranges ("4", "7-9"), at most `max` listed. */
export function ranges(nums: number[], max = 50): string[] {
  const out: string[] = []
  for (let i = 0; i < nums.length && out.length < max; ) {
    let j = i
    while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1) j++
    out.push(i === j ? String(nums[i]) : `${nums[i]}-${nums[j]}`)
    i = j + 1
  }
  return out
}

/** The reconciliation findings of one ended session, raised in one transaction; returns their ids. */
export function reconcileSession(db: Db, actor: string, s: ReconcileInput, o: { clockToleranceSec: number; now: Date }): number[] {
  return db
    .transaction(() => {
      const rows = sessionAttributions(db, s.sessionId).filter((r) => r.kind !== 'sidecar' && r.deviceNumber !== null)
      const ids: number[] = []
      const at = o.now.toISOString()
      const raise = (deviceNumber: string, code: string, message: string, detail: Record<string, unknown>): void => {
        ids.push(
          raiseFinding(db, actor, { kind: 'reconciliation', code, deviceNumber, recordingId: null, sessionId: s.sessionId, message, detail, foundAt: at }),
        )
      }
      for (const dev of new Set(rows.map((r) => r.deviceNumber!))) {
        const mine = rows.filter((r) => r.deviceNumber === dev)
        // Counters: only a profile that declares one gives them.
        const all = deviceCounters(db, dev)
        const earlier = all.filter((c) => c.sessionId !== s.sessionId)
        const now = mine.filter((r) => r.counter !== null).map((r) => r.counter!)
        if (now.length) {
          const prevMax = earlier.length ? Math.max(...earlier.map((c) => c.counter)) : undefined
          const hi = Math.max(...now)
          const lo = prevMax !== undefined ? prevMax + 1 : Math.min(...now)
          const have = new Set([...all.map((c) => c.counter), ...(s.failedCounters ?? [])])
          const missing: number[] = []
          for (let n = lo; n <= hi && missing.length < 10_000; n++) if (!have.has(n)) missing.push(n)
          if (missing.length)
            raise(
              dev,
              'counter-gap',
              `device ${dev}: file counter ${ranges(missing).join(', ')}${missing.length > 50 ? ' …' : ''} never reached the station (${missing.length} recording(s) missing${prevMax !== undefined ? ` since the previous docking, which ended at ${prevMax}` : ''}): deleted on the camera before docking?`,
              { missing: missing.slice(0, 1000), missingCount: missing.length, previousMax: prevMax ?? null, sessionMax: hi },
            )
          const earlierSet = new Set(earlier.map((c) => c.counter))
          const seen = new Set<number>()
          const repeated = new Set<number>()
          for (const n of now) {
            if (earlierSet.has(n) || seen.has(n)) repeated.add(n)
            seen.add(n)
          }
          if (repeated.size) {
            const list = [...repeated].sort((a, b) => a - b)
            raise(
              dev,
              'counter-repeat',
              `device ${dev}: file counter ${ranges(list).join(', ')} came again with other content: the camera's counter was reset, or these files are another camera's`,
              { repeated: list.slice(0, 1000) },
            )
          }
        }
        const prev = previousDocking(db, dev, s.sessionId)
        const before = prev === undefined ? [] : mine.filter((r) => r.recordedAt < prev)
        if (before.length)
          raise(
            dev,
            'dated-before-last-docking',
            `device ${dev}: ${before.length} new recording(s) dated before its previous docking (${prev}): held back at that docking, or the camera clock is behind`,
            { previousDocking: prev, recordingIds: before.map((r) => r.recordingId).slice(0, 1000) },
          )
        const limit = new Date(Date.parse(s.listedAt) + o.clockToleranceSec * 1000).toISOString()
        const ahead = mine.filter((r) => r.recordedAt > limit)
        if (ahead.length) {
          const newest = ahead.map((r) => r.recordedAt).sort()[ahead.length - 1]!
          raise(
            dev,
            'clock-ahead',
            `device ${dev}: ${ahead.length} recording(s) dated after the docking (newest ${newest}, docked ${s.listedAt}): the camera clock runs ahead of the station's; set it`,
            { aheadSec: Math.round((Date.parse(newest) - Date.parse(s.listedAt)) / 1000), recordingIds: ahead.map((r) => r.recordingId).slice(0, 1000) },
          )
        }
      }
      return ids
    })
    .immediate()
}
