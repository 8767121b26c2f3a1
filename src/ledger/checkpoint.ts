/**
 * Signed checkpoints of the ledger tree, stored in the `checkpoints` table
 * (migration 005, append-only like `events`).
 *
 * A checkpoint is a C2SP tlog-checkpoint signed note (see note.ts):
 *
 *   bodyvault/station-01
 *   1234
 *   <base64 of the RFC 6962 root of the first 1234 events>
 *
 *   — bodyvault/station-01 <base64(key id || Ed25519 signature)>
 *
 * The daemon writes one every `ledger.checkpointEvery` events or
 * `ledger.checkpointMinutes` minutes (when the tree grew) and at shutdown;
 * `bodyvault ingest` writes one at the end of its session. `verify` checks
 * every stored checkpoint against today's tree (`checkCheckpoints`): a
 * history rewritten with all chain hashes recomputed no longer has the
 * signed root, and the rewriter cannot sign a new one without the key.
 */
import { insertCheckpoint, latestCheckpoint, listCheckpoints, type Checkpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { assertCurrentKey, readKeyChain, signersAt, signingKey } from './key-chain.js'
import { readStationPublicKey, type StationKey } from './keys.js'
import { emptyRoot } from './merkle.js'
import { verifyConsistency } from './merkle-proofs.js'
import {
  findValidSignature,
  formatCheckpointBody,
  formatSignedNote,
  keyId,
  NoteError,
  parseCheckpointBody,
  parseSignedNote,
  type CheckpointBody,
} from './note.js'
import { LedgerTree } from './tree.js'

export interface CheckpointPolicy {
  /** Write a checkpoint once this many events were appended since the last one. */
  checkpointEvery: number
  /** ... or once the last one is this many minutes old and the tree grew. */
  checkpointMinutes: number
}

/** The signed note of a checkpoint of `treeSize` events with root `rootHash`. */
export function signCheckpoint(key: StationKey, treeSize: number, rootHash: Buffer): string {
  const body = formatCheckpointBody({ origin: key.name, treeSize, rootHash })
  return formatSignedNote(body, [{ name: key.name, keyId: key.keyId, signature: key.sign(Buffer.from(body, 'utf8')) }])
}

/**
 * Signs and stores a checkpoint of the whole ledger, unless the latest one
 * (by the same key and origin) already covers every event: then returns it
 * with `created: false`. Refuses (LEDGER_INCONSISTENT) to sign a ledger whose
 * first events no longer match the latest checkpoint.
 */
export function writeCheckpoint(db: Db, key: StationKey, opts: { now?: Date; logger?: Logger } = {}): { checkpoint: Checkpoint; created: boolean } {
  const result = db
    .transaction((): { checkpoint: Checkpoint; created: boolean } => {
      assertCurrentKey(db, key)
      const tree = LedgerTree.for(db)
      const size = tree.size
      const latest = latestCheckpoint(db)
      if (latest) {
        if (latest.treeSize > size) {
          throw new BodyvaultError(
            'LEDGER_INCONSISTENT',
            `checkpoint ${latest.id} covers ${latest.treeSize} events but the ledger now has ${size}: events were removed. No new checkpoint was signed; run bodyvault verify`,
          )
        }
        if (latest.treeSize > 0 && tree.rootAt(latest.treeSize).toString('hex') !== latest.rootHash) {
          throw new BodyvaultError(
            'LEDGER_INCONSISTENT',
            `the ledger's first ${latest.treeSize} events no longer match checkpoint ${latest.id}: history was rewritten. No new checkpoint was signed; run bodyvault verify`,
          )
        }
        if (latest.treeSize === size && latest.origin === key.name && latest.keyId === key.keyId.toString('hex')) return { checkpoint: latest, created: false }
      }
      const root = tree.root()
      const note = signCheckpoint(key, size, root)
      const createdAt = (opts.now ?? new Date()).toISOString()
      const checkpoint = insertCheckpoint(db, {
        treeSize: size,
        rootHash: root.toString('hex'),
        origin: key.name,
        keyId: key.keyId.toString('hex'),
        note,
        createdAt,
      })
      return { checkpoint, created: true }
    })
    .immediate()
  if (result.created)
    opts.logger?.info(
      {
        event: 'ledger.checkpoint',
        id: result.checkpoint.id,
        treeSize: result.checkpoint.treeSize,
        rootHash: result.checkpoint.rootHash,
        keyId: result.checkpoint.keyId,
      },
      'signed ledger checkpoint',
    )
  return result
}

/** Whether the policy calls for a new checkpoint now (pure). */
export function checkpointDue(latest: { treeSize: number; createdAt: string } | undefined, treeSize: number, policy: CheckpointPolicy, now: Date): boolean {
  if (latest === undefined) return treeSize > 0
  if (treeSize <= latest.treeSize) return false
  if (treeSize - latest.treeSize >= policy.checkpointEvery) return true
  return now.getTime() - Date.parse(latest.createdAt) >= policy.checkpointMinutes * 60_000
}

/** Writes a checkpoint if `checkpointDue` says so; returns it, or undefined when none was due. */
export function maybeCheckpoint(db: Db, key: StationKey, policy: CheckpointPolicy, opts: { now?: Date; logger?: Logger } = {}): Checkpoint | undefined {
  const now = opts.now ?? new Date()
  const size = LedgerTree.for(db).size
  if (!checkpointDue(latestCheckpoint(db), size, policy, now)) return undefined
  return writeCheckpoint(db, key, { ...opts, now }).checkpoint
}

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

/**
 * Checks every stored checkpoint: its note parses, matches its row and is
 * signed by the station key (the key the chain of keys names for its size,
 * when `stationKey` is a CheckpointSigners); checkpoint ids have no gaps and
 * sizes never go down; and today's tree (built afresh from the stored event
 * hashes) has the signed root at the signed size, with a consistency proof
 * from there to the current root that verifies. `stationKey` (32 raw bytes)
 * undefined = the key file is missing.
 */
export function checkCheckpoints(db: Db, stationKey: Buffer | CheckpointSigners | undefined): CheckpointProblem[] {
  const rows = listCheckpoints(db)
  const problems: CheckpointProblem[] = []
  if (rows.length === 0) return problems
  if (stationKey === undefined) {
    problems.push({
      subject: 'checkpoints',
      detail: `${rows.length} checkpoint(s) are stored but the station key (keys/station.ed25519 in the data dir) is missing: restore it from backup; until then the checkpoints cannot be checked and none can be signed`,
    })
    return problems
  }
  const tree = LedgerTree.build(db)
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
      const keys = typeof stationKey === 'function' ? stationKey(body.treeSize) : [stationKey]
      if (keys !== null && !keys.some((k) => findValidSignature(note, k))) {
        const ids = note.signatures.map((s) => `${s.name} ${s.keyId.toString('hex')}`).join(', ')
        const want = keys.map((k) => safeKeyId(body.origin, k)).join(' or ') || 'none: no key of the chain signs this size'
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
 * `checkCheckpoints` with the keys the ledger's chain of keys names (the
 * public keys are in the ledger: the key file is not needed); for a vault
 * not yet marked, with the station key read from the data dir, where a key
 * file that cannot be read is reported as a problem, not thrown.
 */
export function checkStationCheckpoints(db: Db, dataDir: string): CheckpointProblem[] {
  const chain = readKeyChain(db)
  if (chain.identity) return checkCheckpoints(db, (size) => signersAt(chain, size))
  let key: Buffer | undefined
  try {
    key = readStationPublicKey(dataDir)
  } catch (err) {
    return [{ subject: 'station-key', detail: err instanceof Error ? err.message : String(err) }]
  }
  return checkCheckpoints(db, key)
}

/**
 * For the daemon and the CLI: signs a checkpoint with the station key when
 * the ledger grew, or when `policy` is given only if it is due. Never makes
 * a key: a key file missing or other than the one the ledger names stops
 * signing (KEY_MISMATCH, ./key-chain.ts). Never throws: a failure is logged
 * and returned, so it cannot undo the work it follows (an ingest, a shutdown).
 */
export function checkpointStation(
  db: Db,
  o: { dataDir: string; stationId: string; logger: Logger; policy?: CheckpointPolicy },
): { checkpoint?: Checkpoint; error?: string } {
  try {
    const key = signingKey(db, o.dataDir, o.stationId)
    const checkpoint = o.policy ? maybeCheckpoint(db, key, o.policy, { logger: o.logger }) : writeCheckpoint(db, key, { logger: o.logger }).checkpoint
    return checkpoint ? { checkpoint } : {}
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err)
    o.logger.error({ event: 'ledger.checkpoint_failed', err: error }, 'no ledger checkpoint was signed')
    return { error }
  }
}
