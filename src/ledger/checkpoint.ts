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
 * `ledger.checkpointMinutes` minutes (when the ledger grew) and at shutdown;
 * `bodyvault ingest` writes one at the end of its session. Each one is also
 * a `checkpoint` event in the ledger (the note in its payload) and a line of
 * the checkpoint log beside the catalog (./checkpoint-log.ts); src/anchor/
 * takes it to the bucket and the witnesses. `checkpoint` events, and the
 * other QUIET_EVENT_TYPES, do not count as "the ledger grew", so a
 * checkpoint never causes the next one.
 *
 * None is signed over a ledger whose first events no longer match the
 * latest checkpoint, in the catalog or in the log (LEDGER_INCONSISTENT):
 * the rewriter cannot sign a new one without the key, and the station does
 * not sign one for them. ./checkpoint-check.ts checks them for `verify`.
 */
import { existsSync } from 'node:fs'
import { insertCheckpoint, latestCheckpoint, type Checkpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { checkpointEventsAfter, lastRebuild } from './checkpoint-check.js'
import { checkpointLogPath, ensureCheckpointLog, lastLogEntry, syncCheckpointLog } from './checkpoint-log.js'
import { actors, QUIET_EVENT_TYPES, subjects } from './events.js'
import { assertCurrentKey, signingKey } from './key-chain.js'
import type { StationKey } from './keys.js'
import { appendEvent, countEventsAfter } from './ledger.js'
import { formatCheckpointBody, formatSignedNote } from './note.js'
import { restoresIn, rolledBackBy } from './restore.js'
import { LedgerTree } from './tree.js'

export { checkCheckpoints, checkStationCheckpoints, type CheckpointProblem, type CheckpointSigners } from './checkpoint-check.js'

export interface CheckpointPolicy {
  /** Write a checkpoint once this many events were appended since the last one. */
  checkpointEvery: number
  /** ... or once the last one is this many minutes old and the ledger grew. */
  checkpointMinutes: number
}

/** The signed note of a checkpoint of `treeSize` events with root `rootHash`. */
export function signCheckpoint(key: StationKey, treeSize: number, rootHash: Buffer): string {
  const body = formatCheckpointBody({ origin: key.name, treeSize, rootHash })
  return formatSignedNote(body, [{ name: key.name, keyId: key.keyId, signature: key.sign(Buffer.from(body, 'utf8')) }])
}

/** The station id of a station key name ("bodyvault/<id>"). */
const stationIdOf = (key: StationKey): string => key.name.replace(/^bodyvault\//, '')

/**
 * Refuses to sign when the checkpoint log's newest line (signed by this
 * station) no longer matches the ledger, unless a `restored` event says the
 * catalog was rolled back from there.
 */
function checkAgainstLog(db: Db, tree: LedgerTree, key: StationKey, path: string): void {
  const last = lastLogEntry(path)
  if (!last || last.origin !== key.name) return
  const size = tree.size
  if (last.treeSize <= size && (last.treeSize === 0 || tree.rootAt(last.treeSize).toString('hex') === last.rootHash)) return
  if (rolledBackBy(restoresIn(db, key.publicKey), last.treeSize, last.at)) return
  throw new BodyvaultError(
    'LEDGER_INCONSISTENT',
    last.treeSize > size
      ? `the checkpoint log ${path} holds a checkpoint of ${last.treeSize} events but the ledger has ${size}: the catalog was rolled back or events were removed. No new checkpoint was signed; run bodyvault verify`
      : `the ledger's first ${last.treeSize} events no longer match the newest checkpoint in ${path}: history was rewritten. No new checkpoint was signed; run bodyvault verify`,
  )
}

/**
 * Signs and stores a checkpoint of the whole ledger, with its `checkpoint`
 * event, then appends it to the checkpoint log; unless the latest one (by
 * the same key and origin) already covers every event but quiet ones: then
 * returns it with `created: false`. Refuses (LEDGER_INCONSISTENT) to sign a
 * ledger whose first events no longer match the latest checkpoint or the log.
 */
export function writeCheckpoint(db: Db, key: StationKey, opts: { now?: Date; logger?: Logger } = {}): { checkpoint: Checkpoint; created: boolean } {
  const logPath = checkpointLogPath(db)
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
        if (latest.origin === key.name && latest.keyId === key.keyId.toString('hex') && countEventsAfter(db, latest.treeSize, QUIET_EVENT_TYPES) === 0)
          return { checkpoint: latest, created: false }
      }
      if (logPath) checkAgainstLog(db, tree, key, logPath)
      // The log must exist before the first checkpoint of this data dir commits: a crash between the commit and its
      // log line then leaves the log behind by one, not missing (which verify reads as deleted, an attack).
      if (logPath && !existsSync(logPath) && !checkpointEventsAfter(db, lastRebuild(db))) {
        try {
          ensureCheckpointLog(logPath)
        } catch (err) {
          opts.logger?.error({ event: 'anchor.log_failed', path: logPath, err: errorMessage(err) }, 'the checkpoint log could not be made')
        }
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
      appendEvent(db, {
        type: 'checkpoint',
        actor: actors.station(stationIdOf(key)),
        subject: subjects.checkpoint(checkpoint.id),
        payload: { checkpointId: checkpoint.id, treeSize: size, rootHash: checkpoint.rootHash, origin: key.name, keyId: checkpoint.keyId, note },
        at: new Date(createdAt),
      })
      return { checkpoint, created: true }
    })
    .immediate()
  if (result.created) {
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
    // After the commit: a log line for a checkpoint that did not commit would be a false alarm. A crash
    // in between leaves it for the next checkpoint, which appends it marked late (the log itself exists: see above).
    if (logPath) {
      try {
        syncCheckpointLog(db, logPath, { justSigned: result.checkpoint.id, ...(opts.logger ? { logger: opts.logger } : {}) })
      } catch (err) {
        opts.logger?.error({ event: 'anchor.log_failed', path: logPath, err: errorMessage(err) }, 'the checkpoint could not be appended to the checkpoint log')
      }
    }
  }
  return result
}

/**
 * Whether the policy calls for a new checkpoint now (pure). `grown`: events
 * since the latest checkpoint, not counting quiet ones (QUIET_EVENT_TYPES).
 */
export function checkpointDue(latest: { createdAt: string } | undefined, grown: number, policy: CheckpointPolicy, now: Date): boolean {
  if (grown <= 0) return false
  if (latest === undefined || grown >= policy.checkpointEvery) return true
  return now.getTime() - Date.parse(latest.createdAt) >= policy.checkpointMinutes * 60_000
}

/** Writes a checkpoint if `checkpointDue` says so; returns it, or undefined when none was due. */
export function maybeCheckpoint(db: Db, key: StationKey, policy: CheckpointPolicy, opts: { now?: Date; logger?: Logger } = {}): Checkpoint | undefined {
  const now = opts.now ?? new Date()
  const latest = latestCheckpoint(db)
  const grown = countEventsAfter(db, latest?.treeSize ?? 0, QUIET_EVENT_TYPES)
  if (!checkpointDue(latest, grown, policy, now)) return undefined
  return writeCheckpoint(db, key, { ...opts, now }).checkpoint
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
): { checkpoint?: Checkpoint; created?: boolean; error?: string } {
  try {
    const key = signingKey(db, o.dataDir, o.stationId)
    if (o.policy) {
      const checkpoint = maybeCheckpoint(db, key, o.policy, { logger: o.logger })
      return checkpoint ? { checkpoint, created: true } : {}
    }
    return writeCheckpoint(db, key, { logger: o.logger })
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err)
    o.logger.error({ event: 'ledger.checkpoint_failed', err: error }, 'no ledger checkpoint was signed')
    return { error }
  }
}
