/**
 * The copies of this station's checkpoints outside the catalog (the log
 * file, the bucket, the witnesses) against today's ledger. Pure: the caller
 * reads the copies (./sources.ts) and builds the tree.
 *
 * An outside checkpoint of m events with root r, signed by the station key:
 *   - matches: the ledger's first m events still have root r. Then the
 *     catalog must hold it too, as a row or a `checkpoint` event ("known
 *     outside but missing inside" is a problem: checkpoint rows deleted);
 *   - rolled back: it does not match, but a `restored` event's signed
 *     statement covers it (to <= m <= from, and it was seen before the
 *     statement was made): the history a restore went back from;
 *   - anything else is a problem: the ledger was rewritten (m <= the ledger's
 *     size, another root) or rolled back without a `restored` event (m larger
 *     than the ledger).
 * An outside copy not signed by the station key is a problem of its own.
 */
import type { CheckpointProblem } from '../ledger/checkpoint.js'
import { type RestoreRecord, rolledBackBy } from '../ledger/restore.js'

export interface TreeView {
  size: number
  rootAt(size: number): Buffer
}

export interface OutsideCopy {
  /** "log", "bucket" or "witness:<name>". */
  source: string
  /** Where exactly, for the report: "checkpoints.log line 12", a bucket key, a witness. */
  where: string
  origin: string
  treeSize: number
  rootHash: string
  /** When it was made or seen outside (log line time, bucket last-modified, co-signature time). */
  at: string | null
  /** Signed by the station key. */
  signed: boolean
  /** The signed note, when read. */
  note?: string | null
}

export type Verdict = 'matches' | 'rolled-back' | 'rewritten' | 'ahead' | 'unsigned' | 'other-origin'

/** What one outside copy says about the ledger. */
export function judge(tree: TreeView, restores: readonly RestoreRecord[], c: OutsideCopy, origin: string): Verdict {
  if (c.origin !== origin) return 'other-origin'
  if (!c.signed) return 'unsigned'
  if (c.treeSize <= tree.size && (c.treeSize === 0 || tree.rootAt(c.treeSize).toString('hex') === c.rootHash)) return 'matches'
  if (rolledBackBy(restores, c.treeSize, c.at)) return 'rolled-back'
  return c.treeSize > tree.size ? 'ahead' : 'rewritten'
}

const MAX_PER_SOURCE = 3

/** The problems the outside copies show; `rows`: the checkpoints known inside (the catalog's rows and the ledger's `checkpoint` events). */
export function reconcileOutside(
  tree: TreeView,
  rows: readonly { treeSize: number; rootHash: string; origin: string }[],
  restores: readonly RestoreRecord[],
  copies: readonly OutsideCopy[],
  origin: string,
): CheckpointProblem[] {
  const found = new Map<string, { size: number; p: CheckpointProblem }[]>()
  const add = (c: OutsideCopy, detail: string): void => {
    const list = found.get(c.source) ?? []
    list.push({ size: c.treeSize, p: { subject: c.where, detail } })
    found.set(c.source, list)
  }
  const inCatalog = new Set(rows.map((r) => `${r.origin} ${r.treeSize} ${r.rootHash}`))
  for (const c of copies) {
    const v = judge(tree, restores, c, origin)
    const what = `the checkpoint of ${c.treeSize} events (root ${c.rootHash.slice(0, 16)}…) in ${c.where}`
    if (v === 'unsigned') add(c, `${what} is not signed by the station key: it was forged, or the key was replaced`)
    else if (v === 'rewritten')
      add(
        c,
        `the ledger's first ${c.treeSize} events no longer have the root signed in ${c.where} (now ${tree.rootAt(c.treeSize).toString('hex').slice(0, 16)}…): ledger history was rewritten`,
      )
    else if (v === 'ahead')
      add(c, `${what} is ahead of the ledger, which has ${tree.size} events: the catalog was rolled back, or events removed, without a restored event`)
    else if (v === 'matches' && !inCatalog.has(`${c.origin} ${c.treeSize} ${c.rootHash}`) && !rolledBackBy(restores, c.treeSize, c.at))
      add(c, `${what} is not in the catalog: checkpoint rows were deleted`)
  }
  for (const r of restores) {
    if (!r.statement) {
      const { payload } = r
      found.set(`event:${r.seq}`, [
        {
          size: 0,
          p: {
            subject: `event:${r.seq}`,
            detail: `restored event ${r.seq} (from ${payload.from?.treeSize} to ${payload.to?.treeSize} events) is not signed by the station key: a rollback nobody said out loud`,
          },
        },
      ])
      continue
    }
    const to = r.statement.to
    if (to.treeSize > tree.size || (to.treeSize > 0 && tree.rootAt(to.treeSize).toString('hex') !== to.rootHash))
      found.set(`event:${r.seq}`, [
        {
          size: 0,
          p: { subject: `event:${r.seq}`, detail: `restored event ${r.seq} names a restore point (${to.treeSize} events) that the ledger no longer has` },
        },
      ])
  }
  const out: CheckpointProblem[] = []
  for (const list of found.values()) {
    list.sort((a, b) => a.size - b.size)
    out.push(...list.slice(0, MAX_PER_SOURCE).map((x) => x.p))
    if (list.length > MAX_PER_SOURCE)
      out.push({ subject: list[MAX_PER_SOURCE]!.p.subject, detail: `and ${list.length - MAX_PER_SOURCE} more like these in the same place` })
  }
  return out
}
