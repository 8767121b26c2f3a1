/** One recording's original object: what verify must find in the vault for it. */
export interface Needed {
  id: number
  sha256: string
  size: number
}

type Entry = { size: number; ids: number[] }

/**
 * The original objects the ledger says must exist, their size, and the
 * recordings that use them (in chain order): a read-only map, made at its
 * first use. The ledger part of verify reads what it holds inside its
 * snapshot (for a million recordings, SQLite's three texts: microseconds
 * to hand over); the objects part, which walks it, pays for the map (about
 * a second per million) when it starts.
 */
export class NeededObjects implements ReadonlyMap<string, Entry> {
  private map: Map<string, Entry> | undefined

  constructor(private build: (() => Map<string, Entry>) | undefined) {}

  /**
   * The rows SQLite matched (src/catalog/recordings-ledger.ts: their seqs, ids and sizes as JSON arrays, their
   * sha256s end to end, in chain order) merged in chain order with the recordings compared here (`more`).
   */
  static merged(m: { seqs: string; ids: string; sizes: string; shas: string }, more: (Needed & { seq: number })[]): NeededObjects {
    return new NeededObjects(() => {
      const seqs = JSON.parse(m.seqs) as number[]
      const ids = JSON.parse(m.ids) as number[]
      const sizes = JSON.parse(m.sizes) as number[]
      const rest = [...more].sort((a, b) => a.seq - b.seq)
      const map = new Map<string, Entry>()
      const add = (sha: string, size: number, id: number): void => {
        const n = map.get(sha)
        if (n) n.ids.push(id)
        else map.set(sha, { size, ids: [id] })
      }
      let j = 0
      for (let i = 0; i < seqs.length; i++) {
        for (; j < rest.length && rest[j]!.seq < seqs[i]!; j++) add(rest[j]!.sha256, rest[j]!.size, rest[j]!.id)
        add(m.shas.slice(64 * i, 64 * i + 64), sizes[i]!, ids[i]!)
      }
      for (; j < rest.length; j++) add(rest[j]!.sha256, rest[j]!.size, rest[j]!.id)
      return map
    })
  }

  private get all(): Map<string, Entry> {
    if (!this.map) {
      this.map = this.build ? this.build() : new Map()
      this.build = undefined
    }
    return this.map
  }

  get size(): number {
    return this.all.size
  }
  get(sha: string): Entry | undefined {
    return this.all.get(sha)
  }
  has(sha: string): boolean {
    return this.all.has(sha)
  }
  forEach(fn: (value: Entry, key: string, map: ReadonlyMap<string, Entry>) => void): void {
    for (const [k, v] of this.all) fn(v, k, this)
  }
  entries(): MapIterator<[string, Entry]> {
    return this.all.entries()
  }
  keys(): MapIterator<string> {
    return this.all.keys()
  }
  values(): MapIterator<Entry> {
    return this.all.values()
  }
  [Symbol.iterator](): MapIterator<[string, Entry]> {
    return this.all[Symbol.iterator]()
  }
}
