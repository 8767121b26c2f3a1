/**
 * A fast full audit of the ledger: re-walks the chain (every hash recomputed
 * from the event's canonical bytes, every link, seq gaps) and computes the
 * RFC 6962 root of the tree of all stored event hashes. Same verdicts as
 * `walkChain` (ledger.ts), several times faster:
 *
 * - A stored payload is already canonical text (appendEvent stores it so).
 *   `isCanonicalJson` checks that in one scan (isCanonicalJsonBytes on the
 *   bytes written for the hash, when the text is ASCII), and the event's canonical
 *   bytes are assembled around the text as is (canonical.ts
 *   canonicalEventText, the one spelling of the byte form, which the worker
 *   threads get as source); only a payload the scanner does not accept is
 *   parsed and re-canonicalized (the walkChain way).
 * - SQLite spells each event's text in the same read (TEXT below: one
 *   string per event instead of six, no assembly in JavaScript; measured
 *   a third of the audit's CPU). It is canonicalEventText's text when the
 *   payload is canonical and nothing around it is escaped (json_quote and
 *   JSON.stringify agree on every string without a backslash in its
 *   quoted form): then it is hashed as is. Any other event, and any event
 *   whose hash does not match, is read again column by column and checked
 *   the way above, so every finding and its wording stay as they were.
 * - The events are split into blocks of 2^k events, one worker thread each
 *   (one per core, up to 4): each opens the catalog read-only, checks its
 *   block and folds its part of the tree (an aligned block of 2^k leaves is
 *   a whole subtree); the main thread checks the links between blocks and
 *   combines the block roots (for B = 2^k, MTH over the block roots, the last
 *   one possibly partial, is the MTH of all the leaves).
 *
 * Used by `verify` (src/verify/vault.ts: its snapshot walks the links and
 * folds the catalog state in the main thread, this recomputes every hash in
 * the workers, tied by the last event's hash) and `bench/ledger.ts`.
 */
import { hash as oneShotHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Db } from '../catalog/db.js'
import canonicalize from 'canonicalize'
import { canonicalEventText, GENESIS_HASH } from './canonical.js'
import { isCanonicalJson, isCanonicalJsonBytes } from './fastcanon.js'
import { treeHasher } from './tree-hash.js'
import type { ChainProblem } from './ledger.js'
import { MerkleTree, rootFromLeafHashes } from './merkle.js'

export interface LedgerAudit {
  events: number
  problems: ChainProblem[]
  /** RFC 6962 root of the tree of the stored event hashes (what a checkpoint signs). */
  root: Buffer
  /** Events whose payload needed the slow (parse and re-canonicalize) path. */
  slowPath: number
  /** Worker threads used (0: this thread). */
  workers: number
  /** The last event audited and its stored hash (0 and the genesis hash for an empty ledger). */
  lastSeq: number
  lastHash: string
  /**
   * The whole tree, every level, from the workers' blocks (verify checks the checkpoints against it instead of
   * reading and hashing every event hash again: LedgerTree.fromAudit); absent from the one-thread audit.
   */
  tree?: MerkleTree
}

type Row = [number, string, string, string] // seq, the event's text as TEXT spells it, prev_hash, hash
/** The event's canonical text, spelled by SQLite (json_quote: JSON.stringify's spelling for a string it need not escape). */
const TEXT = `concat('{"actor":', json_quote(actor), ',"at":', json_quote(at), ',"payload":', payload, ',"seq":', seq, ',"subject":', json_quote(subject), ',"type":', json_quote(type), '}')`
const SELECT = `SELECT seq, ${TEXT}, prev_hash, hash FROM events`
/** One event's columns, for the events the text above does not settle. */
const SELECT_ONE = 'SELECT type, at, actor, subject, payload FROM events WHERE seq = ?'
type Columns = [string, string, string, string, string] // type, at, actor, subject, payload

interface BlockResult {
  count: number
  firstSeq: number
  firstPrev: string
  lastSeq: number
  lastHash: string
  /** MTH of this block's leaves (hex), '' when empty. */
  root: string
  problems: ChainProblem[]
  slowPath: number
}

interface AuditDeps {
  /** The tree's leaf and node hashes (tree-hash.ts). */
  tree: ReturnType<typeof treeHasher>
  sha256hex: (data: Uint8Array) => string
  isCanonicalJson: (text: string, from?: number, to?: number) => boolean
  /** isCanonicalJson on the UTF-8 bytes of a string (fastcanon.ts). */
  isCanonicalJsonBytes: (bytes: Uint8Array, from?: number, to?: number) => boolean
  /** RFC 8785 canonical text of a parsed payload (the slow path). */
  canonicalize: (value: unknown) => string | undefined
  /** canonical.ts canonicalEventText: the event's byte form around its payload. */
  eventText: typeof canonicalEventText
  /** The event's columns (SELECT_ONE), for the JavaScript way. */
  columns: (seq: number) => Columns | undefined
}

/**
 * Checks rows (in seq order) and folds their leaf hashes into the MTH of
 * the block. `prevSeq`/`prevHash`: the row before (0 / 64 zeros at the start
 * of the ledger; null at the start of a worker's block, where the caller
 * checks the link). Self-contained: worker threads get its source text.
 */
function auditBlock(
  rows: Iterable<Row>,
  prevSeq: number | null,
  prevHash: string | null,
  deps: AuditDeps,
  /** Filled when given: levels[j] gets the root of each aligned subtree of 2^j leaves, in order (level 0: the leaf hashes). */
  levels: Uint8Array[] | null = null,
): BlockResult {
  const problems: ChainProblem[] = []
  let scratch = Buffer.allocUnsafe(1 << 16)
  // The stored hash's bytes.
  const stored32 = Buffer.alloc(32)
  // Compact range of the leaves so far: perfect subtrees, largest first (their heights; their hashes, 32 bytes each).
  const heights: number[] = []
  const stack = new Uint8Array(32 * 64)
  let k = 0
  let slowPath = 0
  let firstSeq = 0
  let firstPrev = ''
  let expected = prevSeq === null ? -1 : prevSeq + 1
  let prev = prevHash
  const filled = levels ? levels.map(() => 0) : []
  // A block longer than it was sized for: the caller sees the count and does not use the levels.
  const keep = (j: number, from: number): void => {
    const level = levels?.[j]
    if (!level || (filled[j]! + 1) * 32 > level.length) return
    const to = 32 * filled[j]!++
    for (let b = 0; b < 32; b++) level[to + b] = stack[from + b]!
  }
  // One reused buffer: prev hash bytes, then the canonical text (grown when a text does not fit); the text's length in bytes, -1 for a bad base.
  const put = (base: string, text: string): number => {
    if (32 + 3 * text.length > scratch.length) scratch = Buffer.allocUnsafe(2 * (32 + 3 * text.length))
    if (base.length !== 64 || scratch.write(base, 0, 32, 'hex') !== 32) return -1
    return scratch.write(text, 32, 'utf8')
  }
  const hashOf = (base: string, text: string): string => {
    const len = put(base, text)
    return len < 0 ? '' : deps.sha256hex(scratch.subarray(0, 32 + len))
  }
  /** SQLite's text (below) when its payload, text[from, to), is canonical; '' otherwise. */
  const hashIfCanonical = (base: string, text: string, from: number, to: number): string => {
    const len = put(base, text)
    if (len < 0) return ''
    // An ASCII text (as many bytes as UTF-16 units): its bytes, already written for the hash, are scanned at the
    // same offsets (faster than the string); any other text as a string.
    const canonical = len === text.length ? deps.isCanonicalJsonBytes(scratch, 32 + from, 32 + to) : deps.isCanonicalJson(text, from, to)
    return canonical ? deps.sha256hex(scratch.subarray(0, 32 + len)) : ''
  }
  for (const r of rows) {
    const seq = r[0]
    const storedPrev = r[2]
    const stored = r[3]
    if (k === 0) {
      firstSeq = seq
      firstPrev = storedPrev
    }
    if (expected !== -1 && seq !== expected) {
      problems.push({ seq, detail: seq > expected ? `events ${expected}..${seq - 1} are missing (deleted?)` : `sequence out of order: expected ${expected}` })
    }
    expected = seq + 1
    // Recomputed over the previous stored hash, as walkChain does.
    const base = prev ?? storedPrev
    if (prev !== null && storedPrev !== prev)
      problems.push({ seq, detail: `prev_hash ${storedPrev.slice(0, 12)}… does not link to the previous event's hash ${prev.slice(0, 12)}…` })
    // SQLite's spelling, when it is canonicalEventText's: `,"payload":` first and `,"seq":` last stand outside the
    // quoted strings (a quote inside one is escaped), and no backslash around the payload means no escape to disagree on.
    const text = r[1]
    const p0 = text.indexOf(',"payload":')
    const p1 = text.lastIndexOf(',"seq":')
    let recomputed =
      p0 > 0 && p1 > p0 && text.charCodeAt(p0 + 11) === 0x7b && text.lastIndexOf('\\', p0) === -1 && text.indexOf('\\', p1) === -1
        ? hashIfCanonical(base, text, p0 + 11, p1)
        : ''
    // Anything else, and a hash that does not match, the JavaScript way from the columns.
    const cols = recomputed === stored ? undefined : deps.columns(seq)
    if (cols) {
      let payload: string | undefined = cols[4]
      if (payload.charCodeAt(0) !== 0x7b || !deps.isCanonicalJson(payload)) {
        // Not stored in canonical form: parsed and canonicalized (the walkChain way).
        slowPath++
        try {
          payload = deps.canonicalize(JSON.parse(payload))
        } catch {
          payload = undefined
        }
        if (payload === undefined) {
          problems.push({ seq, detail: 'payload is not valid JSON' })
          recomputed = stored
        }
      }
      if (payload !== undefined) recomputed = hashOf(base, deps.eventText(seq, cols[0], cols[1], cols[2], cols[3], payload))
    }
    if (recomputed !== stored)
      problems.push({
        seq,
        detail: `hash does not match its content (stored ${stored.slice(0, 12)}…, recomputed ${recomputed.slice(0, 12)}…): the event was edited`,
      })
    if (stored.length !== 64 || stored32.write(stored, 0, 32, 'hex') !== 32) problems.push({ seq, detail: 'stored hash is not 64 hex digits' })
    // Append the leaf: merge equal-height subtrees (each merge completes an aligned perfect subtree).
    let top = heights.length
    deps.tree.leaf(stored32, 0, stack, 32 * top)
    let height = 0
    if (levels) keep(0, 32 * top)
    while (top > 0 && heights[top - 1] === height) {
      top--
      heights.pop()
      deps.tree.node(stack, 32 * top, stack, 32 * top + 32, stack, 32 * top)
      height++
      if (levels) keep(height, 32 * top)
    }
    heights.push(height)
    prev = stored
    k++
  }
  // The MTH of the block: fold the compact range right to left (into its first entry).
  for (let j = heights.length - 2; j >= 0; j--) deps.tree.node(stack, 32 * j, stack, 32 * j + 32, stack, 32 * j)
  const root = heights.length ? Buffer.from(stack.buffer, stack.byteOffset, 32).toString('hex') : ''
  return { count: k, firstSeq, firstPrev, lastSeq: expected - 1, lastHash: prev ?? '', root, problems, slowPath }
}

const depsOn = (db: Db): AuditDeps => {
  const one = db.prepare(SELECT_ONE).raw()
  return {
    tree: treeHasher(),
    sha256hex: (data) => oneShotHash('sha256', data, 'hex'),
    isCanonicalJson,
    isCanonicalJsonBytes,
    canonicalize,
    eventText: canonicalEventText,
    columns: (seq) => one.get(seq) as Columns | undefined,
  }
}
const requireHere = createRequire(import.meta.url)

/** Worker: opens the catalog read-only and audits the block it is given. */
const workerSource = (sqlitePath: string, canonicalizePath: string): string => `
const { parentPort, workerData } = require('node:worker_threads')
const { hash } = require('node:crypto')
const Database = require(${JSON.stringify(sqlitePath)})
const isCanonicalJson = ${isCanonicalJson.toString()}
const isCanonicalJsonBytes = ${isCanonicalJsonBytes.toString()}
const eventText = ${canonicalEventText.toString()}
const treeHasher = ${treeHasher.toString()}
const auditBlock = ${auditBlock.toString()}
;(async () => {
  let db
  try {
    const canonicalize = (await import(${JSON.stringify(canonicalizePath)})).default
    db = new Database(workerData.path, { readonly: true, fileMustExist: true })
    const rows = db.prepare(${JSON.stringify(SELECT)} + ' WHERE seq >= ? ORDER BY seq LIMIT ?').raw().iterate(workerData.fromSeq, workerData.count)
    const levels = []
    for (let j = 0; workerData.count >= 2 ** j; j++) levels.push(new Uint8Array(32 * Math.floor(workerData.count / 2 ** j)))
    const one = db.prepare(${JSON.stringify(SELECT_ONE)}).raw()
    const r = auditBlock(rows, workerData.first ? 0 : null, workerData.first ? '0'.repeat(64) : null, { tree: treeHasher(), sha256hex: (d) => hash('sha256', d, 'hex'), isCanonicalJson, isCanonicalJsonBytes, canonicalize, eventText, columns: (seq) => one.get(seq) }, levels)
    parentPort.postMessage({ ok: true, r, levels }, levels.map((l) => l.buffer))
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String((err && err.stack) || err) })
  } finally {
    if (db) db.close()
  }
})()
`

function combine(blocks: BlockResult[], workers: number): LedgerAudit {
  const problems: ChainProblem[] = []
  let slowPath = 0
  let events = 0
  let prevSeq = 0
  let prevHash = GENESIS_HASH
  const roots: Buffer[] = []
  blocks.forEach((b, j) => {
    slowPath += b.slowPath
    events += b.count
    problems.push(...b.problems)
    if (b.count === 0) return
    roots.push(Buffer.from(b.root, 'hex'))
    if (j > 0) {
      // The checks a block cannot make at its own start.
      if (b.firstSeq !== prevSeq + 1)
        problems.push({
          seq: b.firstSeq,
          detail:
            b.firstSeq > prevSeq + 1 ? `events ${prevSeq + 1}..${b.firstSeq - 1} are missing (deleted?)` : `sequence out of order: expected ${prevSeq + 1}`,
        })
      if (b.firstPrev !== prevHash)
        problems.push({
          seq: b.firstSeq,
          detail: `prev_hash ${b.firstPrev.slice(0, 12)}… does not link to the previous event's hash ${prevHash.slice(0, 12)}…`,
        })
    }
    prevSeq = b.lastSeq
    prevHash = b.lastHash
  })
  problems.sort((a, b) => a.seq - b.seq)
  return { events, problems, root: rootFromLeafHashes(roots), slowPath, workers, lastSeq: prevSeq, lastHash: prevHash }
}

/** Audits the ledger (up to `throughSeq`, default all of it) in this thread, in one read transaction. */
export function auditLedgerSync(db: Db, throughSeq = Number.MAX_SAFE_INTEGER): LedgerAudit {
  const rows = (): Iterable<Row> => db.prepare(`${SELECT} WHERE seq <= ? ORDER BY seq`).raw().iterate(throughSeq) as Iterable<Row>
  const r = db.transaction(() => auditBlock(rows(), 0, GENESIS_HASH, depsOn(db)))()
  return combine([r], 0)
}

/**
 * Audits the ledger of the catalog file `db` with worker threads; in this
 * thread below `minRows` events (default 50,000), for an in-memory catalog,
 * or if the audited part changed while the workers read it. `throughSeq`:
 * audit the events up to it (what a caller's snapshot saw; events appended
 * meanwhile are not this audit's).
 */
export async function auditLedger(db: Db, opts: { workers?: number; minRows?: number; throughSeq?: number } = {}): Promise<LedgerAudit> {
  const through = opts.throughSeq ?? Number.MAX_SAFE_INTEGER
  // `+seq`: counted on a covering index (tens of MB), not on the table's pages (the whole ledger, a GB per million events).
  const count = db.prepare('SELECT count(*) FROM events WHERE +seq <= ?').pluck()
  const n = count.get(through) as number
  const want = Math.max(1, Math.min(opts.workers ?? Math.min(4, availableParallelism()), 16))
  if (n < (opts.minRows ?? 50_000) || want === 1 || db.memory) return auditLedgerSync(db, through)
  // Blocks of B = 2^k events, B >= n / want: aligned subtrees of the tree.
  let size = 1
  while (size * want < n) size *= 2
  // Where each block starts: without gaps (n events from the first seq to the last) the n-th event's seq is the first
  // plus n; else the table is walked to it. The workers and the count after them see a change meanwhile.
  // Two subqueries, each one step down the rowid tree: min() and max() in one SELECT scan the whole table (a GB per
  // million events: 0.9 CPU-s and 1.6 s before the workers could start, measured 2026-11-30).
  const [lo, hi] = db
    .prepare('SELECT (SELECT min(seq) FROM events WHERE seq <= ?), (SELECT max(seq) FROM events WHERE seq <= ?)')
    .raw()
    .get(through, through) as [number, number]
  const seqAt = db.prepare('SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT 1 OFFSET ?').pluck()
  const blocks: { fromSeq: number; count: number; first: boolean }[] = []
  for (let offset = 0; offset < n; offset += size)
    blocks.push({ fromSeq: hi - lo + 1 === n ? lo + offset : (seqAt.get(through, offset) as number), count: Math.min(size, n - offset), first: offset === 0 })
  const source = workerSource(requireHere.resolve('better-sqlite3'), fileURLToPath(import.meta.resolve('canonicalize')))
  const results = await Promise.all(
    blocks.map(
      (block) =>
        new Promise<BlockResult & { levels: Uint8Array[] }>((resolve, reject) => {
          const w = new Worker(source, { eval: true, workerData: { path: db.name, ...block } })
          w.once('message', (m: { ok: true; r: BlockResult; levels: Uint8Array[] } | { ok: false; error: string }) => {
            void w.terminate()
            if (m.ok) resolve({ ...m.r, levels: m.levels })
            else reject(new Error(`ledger audit worker: ${m.error}`))
          })
          w.once('error', reject)
        }),
    ),
  )
  // Rows added or removed while the workers read: the blocks do not tile the ledger any more.
  const total = count.get(through) as number
  if (total !== n || results.some((r, j) => r.count !== blocks[j]!.count || (j > 0 && r.firstSeq !== blocks[j]!.fromSeq))) return auditLedgerSync(db, through)
  const audit = combine(results, blocks.length)
  // The blocks are aligned subtrees of 2^k leaves: level j of the whole tree is their levels j laid end to end (j <= k).
  const parts: Uint8Array[][] = []
  for (const r of results)
    for (const [j, l] of r.levels.entries()) {
      parts[j] ??= []
      parts[j].push(l)
    }
  audit.tree = MerkleTree.fromLevels(parts, n)
  return audit
}
