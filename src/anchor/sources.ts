/**
 * Reads every copy of this station's checkpoints it can reach outside the
 * catalog (the log file, the bucket, each witness's latest co-signed one),
 * checks their signatures, and says how far the latest checkpoint got: the
 * anchoring level `verify` and `doctor` print.
 *
 *   catalog only    the checkpoints table (and the checkpoint events) alone
 *   log file        also in checkpoints.log: survives edits of the catalog
 *   bucket          also under Object Lock: survives anyone on the station while the lock lasts
 *   witnessed by N  co-signed by N other stations: survives root here, if one witness is honest
 */
import { allCosignatures } from '../catalog/anchors.js'
import { latestCheckpoint, listCheckpoints, type Checkpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { errorMessage } from '../common/errors.js'
import { checkpointLogPath, readCheckpointLog } from '../ledger/checkpoint-log.js'
import type { CheckpointProblem, CheckpointSigners } from '../ledger/checkpoint.js'
import { checkpointEventsAfter, lastRebuild } from '../ledger/checkpoint-check.js'
import { findCosignature } from '../ledger/cosignature.js'
import { findValidSignature, parseCheckpointBody, parseSignedNote } from '../ledger/note.js'
import type { S3Store } from '../offload/s3.js'
import { listBucketCheckpoints } from './bucket.js'
import type { OutsideCopy } from './reconcile.js'
import type { WitnessPeer } from './settings.js'
import { fetchWitnessed } from './witness-client.js'

export interface AnchoringReport {
  /** The level the latest checkpoint reached: "catalog only", "log file", "bucket" or "witnessed by N". */
  level: string
  latest: { id: number; treeSize: number } | null
  log: { path: string | null; exists: boolean; entries: number; hasLatest: boolean }
  /** null: no bucket configured. */
  bucket: { bucket: string; reachable: boolean; checkpoints: number; hasLatest: boolean; error?: string } | null
  witnesses: { name: string; url: string | null; reachable: boolean | null; cosignedSize: number | null; cosignedLatest: boolean; error?: string }[]
}

export interface OutsideSources {
  db: Db
  /** The station key's 32 raw bytes, or the chain of keys' signers (a marked vault); undefined: the key file is missing. */
  publicKey: Buffer | CheckpointSigners | undefined
  /** The checkpoints' origin, "bodyvault/<station id>". */
  origin: string
  bucket: { s3: S3Store; prefix: string } | null
  peers: WitnessPeer[]
  timeoutMs: number
}

export interface Gathered {
  copies: OutsideCopy[]
  report: AnchoringReport
  problems: CheckpointProblem[]
  notes: string[]
}

const isoOfSeconds = (s: number): string => new Date(s * 1000).toISOString()

function signedBy(
  note: string,
  key: Buffer | CheckpointSigners | undefined,
  origin: string,
): { treeSize: number; rootHash: string; origin: string; signed: boolean } | undefined {
  try {
    const n = parseSignedNote(note)
    const b = parseCheckpointBody(n.text)
    // null: the chain of keys does not know the key of that stretch (lost before the vault was marked): not checkable, as in checkCheckpoints; the break is on the record.
    const keys = key === undefined ? [] : typeof key === 'function' ? key(b.treeSize) : [key]
    return {
      treeSize: b.treeSize,
      rootHash: b.rootHash.toString('hex'),
      origin: b.origin,
      signed: keys === null || keys.some((k) => findValidSignature(n, k, origin) !== undefined),
    }
  } catch {
    return undefined
  }
}

/** Reads the copies outside the catalog; `online: false` skips the bucket and the witnesses (the log file only). */
export async function gatherOutside(s: OutsideSources, o: { online?: boolean } = {}): Promise<Gathered> {
  const { db, publicKey, origin } = s
  const online = o.online !== false
  const copies: OutsideCopy[] = []
  const problems: CheckpointProblem[] = []
  const notes: string[] = []
  const rows = listCheckpoints(db)
  const latest = latestCheckpoint(db)
  const same = (c: Pick<Checkpoint, 'treeSize' | 'rootHash'> | undefined, x: { treeSize: number; rootHash: string }): boolean =>
    c !== undefined && c.treeSize === x.treeSize && c.rootHash === x.rootHash

  // The log file.
  const path = checkpointLogPath(db) ?? null
  const report: AnchoringReport = {
    level: 'catalog only',
    latest: latest ? { id: latest.id, treeSize: latest.treeSize } : null,
    log: { path, exists: false, entries: 0, hasLatest: false },
    bucket: null,
    witnesses: [],
  }
  if (path) {
    const log = readCheckpointLog(path)
    report.log = { path, exists: log.exists, entries: log.entries.length, hasLatest: log.entries.some((e) => same(latest, e)) }
    // Checkpoints from before a rebuild (reindex --from-s3 into a new data dir) were written to the old data dir's log.
    if (!log.exists && checkpointEventsAfter(db, lastRebuild(db)))
      problems.push({ subject: 'checkpoint-log', detail: `the checkpoint log ${path} is missing although checkpoints were written to it: it was deleted` })
    for (const b of log.bad) {
      if (b.line === log.entries.length + log.bad.length && /incomplete/.test(b.detail)) notes.push(`checkpoint log line ${b.line}: ${b.detail}`)
      else
        problems.push({ subject: `checkpoint-log:${b.line}`, detail: `line ${b.line} of ${path} is not a checkpoint entry (${b.detail}): the log was edited` })
    }
    const late = log.entries.filter((e) => e.late).length
    if (late) notes.push(`${late} checkpoint(s) were appended to the checkpoint log late (the log was missing or behind the catalog)`)
    for (const e of log.entries) {
      const sig = signedBy(e.note, publicKey, e.origin)
      copies.push({
        source: 'log',
        where: `checkpoint-log:${e.line}`,
        origin: e.origin,
        treeSize: e.treeSize,
        rootHash: e.rootHash,
        at: e.at,
        signed: sig?.signed ?? false,
        note: e.note,
      })
    }
  }

  // The bucket.
  if (s.bucket) {
    const b = s.bucket
    report.bucket = { bucket: b.s3.bucket, reachable: false, checkpoints: 0, hasLatest: false }
    if (online) {
      try {
        const listed = await listBucketCheckpoints(b)
        report.bucket = { bucket: b.s3.bucket, reachable: true, checkpoints: listed.length, hasLatest: listed.some((x) => same(latest, x)) }
        for (const x of listed) {
          const row = rows.find((r) => same(r, x))
          if (row) {
            // The catalog holds this very note (its signature is checked there): nothing to fetch.
            copies.push({
              source: 'bucket',
              where: `bucket:${x.key}`,
              origin: row.origin,
              treeSize: x.treeSize,
              rootHash: x.rootHash,
              at: x.lastModified,
              signed: true,
              note: row.note,
            })
            continue
          }
          const text = await b.s3.getText(x.key)
          const sig = signedBy(text, publicKey, origin)
          const honest = sig !== undefined && sig.treeSize === x.treeSize && sig.rootHash === x.rootHash
          copies.push({
            source: 'bucket',
            where: `bucket:${x.key}`,
            origin: sig?.origin ?? origin,
            treeSize: x.treeSize,
            rootHash: x.rootHash,
            at: x.lastModified,
            signed: honest && sig.signed,
            note: text,
          })
        }
      } catch (err) {
        report.bucket.error = errorMessage(err)
        notes.push(`the bucket ${b.s3.bucket} could not be read (${errorMessage(err)}): its checkpoints were not compared`)
      }
    }
  }

  // The witnesses: what each co-signed last for this station, and the co-signatures stored here.
  const stored = allCosignatures(db)
  for (const peer of s.peers) {
    const w: AnchoringReport['witnesses'][number] = { name: peer.name, url: peer.url, reachable: null, cosignedSize: null, cosignedLatest: false }
    report.witnesses.push(w)
    if (latest) {
      const mine = stored.filter((c) => c.checkpointId === latest.id && c.witness === peer.name)
      w.cosignedLatest = mine.some((c) => validStored(latest, c.line, peer))
    }
    if (!online || !peer.url) continue
    try {
      const note = await fetchWitnessed(peer, origin, s.timeoutMs)
      w.reachable = true
      if (note === undefined) continue
      const sig = signedBy(note, publicKey, origin)
      const cosig = findCosignature(parseSignedNote(note), peer.publicKey, peer.name)
      if (!sig || !cosig) {
        notes.push(`witness ${peer.name} answered with a checkpoint it did not co-sign with its configured key: ignored`)
        continue
      }
      w.cosignedSize = sig.treeSize
      if (latest && same(latest, sig)) w.cosignedLatest = true
      copies.push({
        source: `witness:${peer.name}`,
        where: `witness:${peer.name}`,
        origin: sig.origin,
        treeSize: sig.treeSize,
        rootHash: sig.rootHash,
        at: isoOfSeconds(cosig.timestamp),
        signed: sig.signed,
        note,
      })
    } catch (err) {
      w.reachable = false
      w.error = errorMessage(err)
      notes.push(`witness ${peer.name} (${peer.url}) could not be reached (${errorMessage(err)}): not compared`)
    }
  }
  problems.push(...checkStoredCosignatures(rows, stored, s.peers))

  const n = report.witnesses.filter((x) => x.cosignedLatest).length
  report.level = n > 0 ? `witnessed by ${n}` : report.bucket?.hasLatest ? 'bucket' : report.log.hasLatest ? 'log file' : 'catalog only'
  return { copies, report, problems, notes }
}

function validStored(cp: Checkpoint, line: string, peer: WitnessPeer): boolean {
  try {
    return findCosignature(parseSignedNote(`${cp.note}${line}\n`), peer.publicKey, peer.name) !== undefined
  } catch {
    return false
  }
}

/** Every stored co-signature by a configured witness must verify over its checkpoint. */
function checkStoredCosignatures(rows: readonly Checkpoint[], stored: ReturnType<typeof allCosignatures>, peers: readonly WitnessPeer[]): CheckpointProblem[] {
  const out: CheckpointProblem[] = []
  const byId = new Map(rows.map((r) => [r.id, r]))
  for (const c of stored) {
    const peer = peers.find((p) => p.name === c.witness)
    const cp = byId.get(c.checkpointId)
    if (!peer || !cp) continue
    if (!validStored(cp, c.line, peer))
      out.push({
        subject: `checkpoint:${c.checkpointId}`,
        detail: `the co-signature by witness ${c.witness} stored for it does not verify with that witness's key: it was altered`,
      })
  }
  return out
}

/** One line for people: "witnessed by 2 (checkpoint 12, 340 events: log file, bucket, 2 of 3 witnesses)". */
export function describeAnchoring(r: AnchoringReport): string {
  if (!r.latest) return 'no checkpoint yet'
  const where = [
    r.log.hasLatest ? 'log file' : r.log.exists ? 'log file (not the latest)' : 'no log file',
    ...(r.bucket ? [r.bucket.hasLatest ? 'bucket' : r.bucket.reachable ? 'bucket (not yet)' : 'bucket (unreachable)'] : []),
    ...(r.witnesses.length ? [`${r.witnesses.filter((w) => w.cosignedLatest).length} of ${r.witnesses.filter((w) => w.url).length} witnesses`] : []),
  ]
  return `${r.level} (checkpoint ${r.latest.id}, ${r.latest.treeSize} events: ${where.join(', ')})`
}
