/**
 * Changing the station key, always on the record (the chain: ./key-chain.ts).
 *
 * rotate: the old key at hand. A checkpoint signed by the old key seals
 * everything before the change; the new key is made and staged beside the
 * old one; a `key-rotated` event announces it, its statement signed by the
 * old key and by the new one; the new key is renamed over the old file (the
 * old private key is gone); the new key signs a checkpoint that covers its
 * own announcement. A crash after the event and before the rename is
 * finished by the next signing (signingKey).
 *
 * replace: the old key lost (or the file holds a key the ledger does not
 * name, which is set aside, never used). A `key-replaced` event records the
 * break: nothing vouches for the new key but the person who ran it, and
 * verify and doctor say so for ever after.
 */
import type { Db } from '../catalog/db.js'
import { BodyvaultError } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { reasonProblem } from '../common/reason.js'
import { writeCheckpoint } from './checkpoint.js'
import { subjects } from './events.js'
import { checkKeyFile, keyChangeStatement, keyFacts, readKeyChain, signingKey } from './key-chain.js'
import { promoteNextKey, setAsideKeyFile, stageNextKey, type StationKey } from './keys.js'
import { appendEvent, ledgerHead, type LedgerEvent } from './ledger.js'

export interface KeyChangeOptions {
  dataDir: string
  stationId: string
  /** Who changes it (a person at the CLI). */
  actor: string
  reason: string | undefined
  logger?: Logger
  now?: Date
}

export interface KeyChange {
  event: LedgerEvent
  key: StationKey
  previousFingerprint: string | null
  /** Where a key file the ledger did not name was moved (replace only). */
  setAside?: string
  /** The new key's first checkpoint, or why none was signed. */
  checkpoint: { treeSize: number } | { error: string }
}

function requireReason(reason: string | undefined): string {
  const r = reason?.trim() ?? ''
  const why = r.length === 0 ? 'it is missing' : reasonProblem(r)
  if (why) throw new BodyvaultError('REASON_REQUIRED', `a key change needs a reason (--reason TEXT) that goes into the ledger: ${why}`)
  if (r.length > 2000) throw new BodyvaultError('REASON_TOO_LONG')
  return r
}

function firstCheckpoint(db: Db, key: StationKey, logger: Logger | undefined): KeyChange['checkpoint'] {
  try {
    return { treeSize: writeCheckpoint(db, key, logger ? { logger } : {}).checkpoint.treeSize }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) }
  }
}

/** A new station key with the old one at hand (KEY_MISMATCH when it is not). */
export function rotateStationKey(db: Db, o: KeyChangeOptions): KeyChange {
  const reason = requireReason(o.reason)
  const old = signingKey(db, o.dataDir, o.stationId)
  if (!readKeyChain(db).identity)
    throw new BodyvaultError(
      'KEY_MISMATCH',
      'the vault is not marked yet (no vault-created or vault-marked event): open it once with this version, then rotate',
    )
  // Seal what the old key vouches for; refuses a ledger that no longer matches its checkpoints.
  writeCheckpoint(db, old, o.logger ? { logger: o.logger } : {})
  const next = stageNextKey(o.dataDir, o.stationId)
  const event = db
    .transaction((): LedgerEvent => {
      if (readKeyChain(db).current?.fingerprint !== old.fingerprint)
        throw new BodyvaultError('KEY_MISMATCH', 'the station key changed while the rotation was prepared: run bodyvault key show, then try again')
      const head = ledgerHead(db)
      const statement = keyChangeStatement({ change: 'rotation', seq: head.seq + 1, after: head.hash, from: old.fingerprint, to: next.fingerprint, reason })
      return appendEvent(db, {
        type: 'key-rotated',
        actor: o.actor,
        subject: subjects.station(o.stationId),
        ...(o.now ? { at: o.now } : {}),
        payload: {
          ...keyFacts(next),
          previousFingerprint: old.fingerprint,
          reason,
          signature: old.sign(statement).toString('base64'),
          newKeySignature: next.sign(statement).toString('base64'),
        },
      })
    })
    .immediate()
  promoteNextKey(o.dataDir)
  const key = signingKey(db, o.dataDir, o.stationId)
  o.logger?.info(
    { event: 'key.rotated', seq: event.seq, from: old.fingerprint, to: key.fingerprint, actor: o.actor },
    'station key rotated: back up the new key file and publish its fingerprint',
  )
  return { event, key, previousFingerprint: old.fingerprint, checkpoint: firstCheckpoint(db, key, o.logger) }
}

/** A new station key when the old one is lost: the chain of keys is broken here, on the record. KEY_AT_HAND when the key is there (rotate instead). */
export function replaceStationKey(db: Db, o: KeyChangeOptions): KeyChange {
  const reason = requireReason(o.reason)
  const chain = readKeyChain(db)
  if (!chain.identity)
    throw new BodyvaultError('KEY_MISMATCH', 'the vault is not marked yet (no vault-created or vault-marked event): open it once with this version')
  const c = checkKeyFile(db, o.dataDir, o.stationId, { chain, finish: true })
  if (c.key)
    throw new BodyvaultError(
      'KEY_AT_HAND',
      `the station key file holds the key the ledger names (${c.key.fingerprint.slice(0, 16)}…): change it with bodyvault key rotate --reason TEXT, which keeps the chain of keys unbroken`,
    )
  const now = o.now ?? new Date()
  const setAside = setAsideKeyFile(o.dataDir, now)
  const next = stageNextKey(o.dataDir, o.stationId)
  let previousFingerprint: string | null = null
  const event = db
    .transaction((): LedgerEvent => {
      const current = readKeyChain(db).current
      previousFingerprint = current?.fingerprint ?? null
      const head = ledgerHead(db)
      const statement = keyChangeStatement({
        change: 'replacement',
        seq: head.seq + 1,
        after: head.hash,
        from: previousFingerprint,
        to: next.fingerprint,
        reason,
      })
      return appendEvent(db, {
        type: 'key-replaced',
        actor: o.actor,
        subject: subjects.station(o.stationId),
        at: now,
        payload: { ...keyFacts(next), previousFingerprint, reason, newKeySignature: next.sign(statement).toString('base64') },
      })
    })
    .immediate()
  promoteNextKey(o.dataDir)
  const key = signingKey(db, o.dataDir, o.stationId)
  o.logger?.info(
    { event: 'key.replaced', seq: event.seq, from: previousFingerprint, to: key.fingerprint, actor: o.actor, setAside },
    'station key replaced without the old one: the chain of keys is broken here, on the record',
  )
  return { event, key, previousFingerprint, ...(setAside ? { setAside } : {}), checkpoint: firstCheckpoint(db, key, o.logger) }
}
