/**
 * `verify`'s check of the checkpoints inside the catalog: every stored
 * checkpoint row and every `checkpoint` event of the ledger (each holds its
 * signed note) against the station key and today's tree. The copies outside
 * the catalog (the log file, the bucket, the witnesses) are reconciled by
 * src/anchor/reconcile.ts.
 */
import { listCheckpoints } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import type { EventPayload } from './events.js'
import { readKeyChain, signersAt } from './key-chain.js'
import { readStationPublicKey } from './keys.js'
import { countEvents, storedEventsOfType } from './ledger.js'
import { emptyRoot } from './merkle.js'
import { verifyConsistency } from './merkle-proofs.js'
import { findValidSignature, keyId, NoteError, parseCheckpointBody, parseSignedNote, type CheckpointBody } from './note.js'
import { LedgerTree } from './tree.js'

export interface CheckpointProblem {
  /** e.g. "checkpoint:3" */
  subject: string
  detail: string
}

/**
 * The public keys a checkpoint of `treeSize` events must verify with: from
 * the ledger's chain of keys (./key-chain.ts, signersAt); null when the key
 * of that stretch is not known (lost before the vault was marked).
 */
export type CheckpointSigners = (treeSize: number) => Buffer[] | null

/** The keys that may sign a checkpoint of `treeSize` events; null: not known, the signature is not checked. */
function keysFor(stationKey: Buffer | CheckpointSigners, treeSize: number): Buffer[] | null {
  return typeof stationKey === 'function' ? stationKey(treeSize) : [stationKey]
}

/** The signed note verifies with one of the keys (null keys: not known, nothing to check). */
function signedByOneOf(note: ReturnType<typeof parseSignedNote>, keys: Buffer[] | null): boolean {
  return keys === null || keys.some((k) => findValidSignature(note, k) !== undefined)
}

/**
 * Checks every stored checkpoint: its note parses, matches its row and is
 * signed by the station key (the key the chain of keys names for its size,
 * when `stationKey` is a CheckpointSigners); checkpoint ids have no gaps and sizes never go
 * down; and today's tree (built afresh from the stored event hashes) has the
 * signed root at the signed size, with a consistency proof from there to the
 * current root that verifies. `stationKey` (32 raw bytes) undefined = the key file is missing.
 */
export function checkCheckpoints(db: Db, stationKey: Buffer | CheckpointSigners | undefined, built?: LedgerTree): CheckpointProblem[] {
  const rows = listCheckpoints(db)
  const problems: CheckpointProblem[] = []
  const rebuilt = lastRebuild(db)
  // Only checkpoint events from before a rebuild (reindex --from-s3 restores neither the rows nor the key): nothing needs the key yet.
  if (rows.length === 0 && (countEvents(db, ['checkpoint']) === 0 || (stationKey === undefined && !checkpointEventsAfter(db, rebuilt)))) return problems
  if (stationKey === undefined) {
    problems.push({
      subject: 'checkpoints',
      detail: `${rows.length} checkpoint(s) are stored but the station key (keys/station.ed25519 in the data dir) is missing: restore it from backup; until then the checkpoints cannot be checked and none can be signed`,
    })
    return problems
  }
  const tree = built ?? LedgerTree.build(db)
  const size = tree.size
  const currentRoot = tree.root()
  let prevId = 0
  let prevSize = 0
  for (const row of rows) {
    const subject = `checkpoint:${row.id}`
    if (row.id !== prevId + 1) problems.push({ subject, detail: `checkpoints ${prevId + 1}..${row.id - 1} are missing (deleted?)` })
    prevId = row.id
    let body: CheckpointBody
    try {
      const note = parseSignedNote(row.note)
      body = parseCheckpointBody(note.text)
      const keys = keysFor(stationKey, body.treeSize)
      if (!signedByOneOf(note, keys)) {
        const ids = note.signatures.map((s) => `${s.name} ${s.keyId.toString('hex')}`).join(', ')
        const want = (keys ?? []).map((k) => safeKeyId(body.origin, k)).join(' or ') || 'none: no key of the chain signs this size'
        problems.push({
          subject,
          detail: `signature does not verify with the station key (key id ${want} for ${body.origin}); the note is signed by [${ids}]: it was altered or signed by another key`,
        })
      }
    } catch (err) {
      problems.push({ subject, detail: `stored note is not a valid checkpoint: ${err instanceof NoteError ? err.message : String(err)}` })
      continue
    }
    if (body.treeSize !== row.treeSize || body.rootHash.toString('hex') !== row.rootHash || body.origin !== row.origin) {
      problems.push({
        subject,
        detail: `row (size ${row.treeSize}, root ${row.rootHash.slice(0, 12)}…) differs from its signed note (size ${body.treeSize}, root ${body.rootHash.toString('hex').slice(0, 12)}…)`,
      })
    }
    // From here on the signed values count, not the row.
    if (body.treeSize < prevSize) problems.push({ subject, detail: `tree size went down from ${prevSize} to ${body.treeSize}` })
    prevSize = Math.max(prevSize, body.treeSize)
    if (body.treeSize > size) {
      problems.push({ subject, detail: `signed for ${body.treeSize} events but the ledger has ${size}: events were removed` })
      continue
    }
    if (body.treeSize === 0) {
      if (!body.rootHash.equals(emptyRoot())) problems.push({ subject, detail: 'signed for 0 events with a root that is not the empty-tree root' })
      continue
    }
    const rootThen = tree.rootAt(body.treeSize)
    if (!rootThen.equals(body.rootHash)) {
      problems.push({
        subject,
        detail: `the ledger's first ${body.treeSize} events no longer have the signed root (signed ${body.rootHash.toString('hex').slice(0, 16)}…, now ${rootThen.toString('hex').slice(0, 16)}…): ledger history was rewritten`,
      })
      continue
    }
    if (!verifyConsistency(body.treeSize, size, tree.consistencyProof(body.treeSize, size), body.rootHash, currentRoot)) {
      problems.push({ subject, detail: `consistency proof from ${body.treeSize} to ${size} events does not verify` })
    }
  }
  problems.push(...checkCheckpointEvents(db, rows, stationKey, tree, rebuilt))
  return problems
}

/** The seq of the last `catalog-rebuilt` event (reindex --from-s3), 0 when there is none. */
export function lastRebuild(db: Db): number {
  let seq = 0
  for (const ev of storedEventsOfType(db, ['catalog-rebuilt'])) seq = ev.seq
  return seq
}

/** Whether a `checkpoint` event follows event `seq`. */
export function checkpointEventsAfter(db: Db, seq: number): boolean {
  for (const ev of storedEventsOfType(db, ['checkpoint'])) if (ev.seq > seq) return true
  return false
}

/** (origin, size, root) of every checkpoint the ledger's `checkpoint` events record: the checkpoints known inside even without their rows. */
export function checkpointsInLedger(db: Db): { origin: string; treeSize: number; rootHash: string }[] {
  const out: { origin: string; treeSize: number; rootHash: string }[] = []
  for (const ev of storedEventsOfType(db, ['checkpoint'])) {
    try {
      const p = JSON.parse(ev.payload) as EventPayload<'checkpoint'>
      out.push({ origin: p.origin, treeSize: p.treeSize, rootHash: p.rootHash })
    } catch {
      // the chain walk reports it
    }
  }
  return out
}

/**
 * The `checkpoint` events against the rows: each event's checkpoint must be
 * stored as it says, and every row from the first one with an event on (the
 * rows before it predate the events) must have its event. An event whose row
 * is gone still holds the signed note: it is checked against the tree too.
 * Events from before a `catalog-rebuilt` event (`rebuilt`, its seq) are
 * matched to rows by their note, and need none: reindex --from-s3 rebuilds
 * the ledger but not the checkpoints table, whose ids start again.
 */
function checkCheckpointEvents(
  db: Db,
  rows: ReturnType<typeof listCheckpoints>,
  stationKey: Buffer | CheckpointSigners,
  tree: LedgerTree,
  rebuilt: number,
): CheckpointProblem[] {
  const problems: CheckpointProblem[] = []
  const byId = new Map(rows.map((r) => [r.id, r]))
  const evented = new Set<number>()
  for (const ev of storedEventsOfType(db, ['checkpoint'])) {
    let p: EventPayload<'checkpoint'>
    try {
      p = JSON.parse(ev.payload) as EventPayload<'checkpoint'>
    } catch {
      continue // the chain walk reports it
    }
    const subject = `checkpoint:${p.checkpointId}`
    const beforeRebuild = ev.seq < rebuilt
    if (!beforeRebuild) evented.add(p.checkpointId)
    const row = beforeRebuild ? rows.find((r) => r.note === p.note) : byId.get(p.checkpointId)
    if (row && beforeRebuild) evented.add(row.id)
    if (!row) {
      if (!beforeRebuild)
        problems.push({
          subject,
          detail: `ledger event ${ev.seq} records checkpoint ${p.checkpointId} (${p.treeSize} events) but the catalog has no such row: it was deleted`,
        })
      let body: CheckpointBody
      try {
        const note = parseSignedNote(p.note)
        body = parseCheckpointBody(note.text)
        if (!signedByOneOf(note, keysFor(stationKey, body.treeSize))) continue // a forged event: the chain walk or the rows say the rest
      } catch {
        continue
      }
      if (body.treeSize > tree.size || (body.treeSize > 0 && !tree.rootAt(body.treeSize).equals(body.rootHash)))
        problems.push({
          subject,
          detail: `the checkpoint signed in ledger event ${ev.seq} (${body.treeSize} events) no longer matches the ledger: history was rewritten`,
        })
    } else if (row.note !== p.note)
      problems.push({ subject, detail: `ledger event ${ev.seq} records another signed note for checkpoint ${p.checkpointId} than the catalog row holds` })
  }
  const first = Math.min(...evented)
  for (const r of rows)
    if (r.id > first && !evented.has(r.id))
      problems.push({ subject: `checkpoint:${r.id}`, detail: 'the checkpoint row has no checkpoint event in the ledger: it was added to the catalog by hand' })
  return problems
}

function safeKeyId(name: string, key: Buffer): string {
  try {
    return keyId(name, key).toString('hex')
  } catch {
    return '?'
  }
}

/**
 * The keys this station's checkpoints verify with: the ledger's chain of keys
 * when the vault is marked (the public keys are in the ledger: the key file
 * is not needed), else the station key read from the data dir (undefined:
 * missing). Throws when the key file cannot be read.
 */
export function stationSigners(db: Db, dataDir: string): Buffer | CheckpointSigners | undefined {
  return chainSigners(db) ?? readStationPublicKey(dataDir)
}

/** The chain of keys' signers when the vault is marked; undefined for a vault not yet marked. */
export function chainSigners(db: Db): CheckpointSigners | undefined {
  const chain = readKeyChain(db)
  return chain.identity ? (size) => signersAt(chain, size) : undefined
}

/** Every known public key of the chain (a restore statement may be signed by any of them); undefined for a vault not yet marked. */
export function chainKeys(db: Db): Buffer[] | undefined {
  const chain = readKeyChain(db)
  return chain.identity ? chain.keys.flatMap((k) => (k.publicKey ? [k.publicKey] : [])) : undefined
}

/**
 * `checkCheckpoints` with stationSigners; a key file that cannot be read is
 * reported as a problem, not thrown.
 */
export function checkStationCheckpoints(db: Db, dataDir: string): CheckpointProblem[] {
  let key: Buffer | CheckpointSigners | undefined
  try {
    key = stationSigners(db, dataDir)
  } catch (err) {
    return [{ subject: 'station-key', detail: err instanceof Error ? err.message : String(err) }]
  }
  return checkCheckpoints(db, key)
}
