import { stat } from 'node:fs/promises'
import type { Db } from '../catalog/db.js'
import { objectsInUse, objectsOfRecording } from '../catalog/objects.js'
import { getRecording } from '../catalog/recordings.js'
import { verifiedCopy } from '../catalog/remote-copies.js'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import type { Vault } from '../vault/store.js'
import { openObject } from './cache.js'
import type { S3Store } from './s3.js'

/** One object to bring back, and what it is. */
export interface RestoreTarget {
  sha256: string
  size: number
  /** 'original', a derivative's kind, or 'object' (named by its SHA-256). */
  role: string
  /** e.g. "recording 12 original", "recording 12 proxy", "object of recording 12". */
  what: string
}

export interface RestoreOutcome extends RestoreTarget {
  /** local: it was there already; fetched: brought back from S3 and hashed; failed: see error. */
  status: 'local' | 'fetched' | 'failed'
  error?: string
}

const SHA = /^[0-9a-f]{64}$/

/**
 * What `restore-object` names: a SHA-256 (an object a stored recording
 * needs) or a recording id (its original and its derivatives). Unknown
 * ids and purged recordings are refused before anything is fetched.
 */
export function restoreTargets(db: Db, names: readonly string[], opts: { derivatives?: boolean } = {}): RestoreTarget[] {
  const out = new Map<string, RestoreTarget>()
  const inUse = objectsInUse(db)
  for (const name of names) {
    if (SHA.test(name)) {
      const o = inUse.get(name)
      if (!o) throw new BodyvaultError('OBJECT_MISSING', `no stored recording needs object ${name}: check the SHA-256 (bodyvault recordings --json lists them)`)
      if (!out.has(name)) out.set(name, { sha256: name, size: o.size, role: 'object', what: `object of recording ${o.recordingIds.join(', ')}` })
      continue
    }
    if (!/^[1-9][0-9]*$/.test(name) || !Number.isSafeInteger(Number(name)))
      throw new BodyvaultError('USAGE', `"${name}" is neither a SHA-256 (64 hex digits) nor a recording id (a positive whole number)`)
    const id = Number(name)
    const rec = getRecording(db, id)
    if (!rec) throw new BodyvaultError('RECORDING_NOT_FOUND', `no recording ${id} (bodyvault recordings lists them)`)
    if (rec.status !== 'stored') throw new BodyvaultError('RECORDING_PURGED', `recording ${id} was purged under its retention rule: its objects are gone`)
    for (const o of objectsOfRecording(db, id)) {
      if (o.role !== 'original' && opts.derivatives === false) continue
      if (!out.has(o.sha256)) out.set(o.sha256, { sha256: o.sha256, size: o.size, role: o.role, what: `recording ${id} ${o.role}` })
    }
  }
  return [...out.values()]
}

/** The targets whose local copy is gone (evicted, or a catalog rebuilt from the bucket) while a verified remote copy holds them. */
export async function remoteOnly(d: { db: Db; vault: Vault }, targets: readonly RestoreTarget[]): Promise<RestoreTarget[]> {
  const out: RestoreTarget[] = []
  for (const t of targets) {
    if (await isLocal(d.vault, t.sha256)) continue
    if (verifiedCopy(d.db, t.sha256)) out.push(t)
  }
  return out
}

async function isLocal(vault: Vault, sha256: string): Promise<boolean> {
  try {
    await stat(vault.objectPath(sha256))
    return true
  } catch {
    return false
  }
}

/**
 * Brings objects back into the local vault by hand: each through the
 * offload's fetch-back path (./cache.ts openObject: hashed on the way,
 * committed only when the SHA-256 matches, a `fetched-back` event naming
 * `actor`). One failure does not stop the others.
 */
export async function restoreObjects(
  d: { db: Db; vault: Vault; s3: S3Store | null; logger: Logger },
  targets: readonly RestoreTarget[],
  actor: string,
  reason = 'restore-object',
): Promise<RestoreOutcome[]> {
  const out: RestoreOutcome[] = []
  for (const t of targets) {
    if (await isLocal(d.vault, t.sha256)) {
      out.push({ ...t, status: 'local' })
      continue
    }
    try {
      const got = await openObject({ ...d, actor, reason }, t.sha256)
      out.push({ ...t, status: got.fetched ? 'fetched' : 'local' })
    } catch (err) {
      out.push({ ...t, status: 'failed', error: errorMessage(err) })
    }
  }
  return out
}
