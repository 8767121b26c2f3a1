/**
 * Builds an evidence package: one zip a third party can check with no
 * bodyvault and no database (layout.ts lists its files; VERIFY.md in it says
 * how). Originals are streamed from the vault into the zip (stored, not
 * compressed; ZIP64 where needed, so multi-GB files are fine) and re-hashed on
 * the way: a vault object that no longer has its SHA-256 aborts the export.
 *
 * Order, so that no package leaves the station unrecorded:
 *   1. sign a checkpoint covering every event so far (or reuse the latest);
 *   2. collect recordings, their custody-trail events (<= checkpoint) and an
 *      inclusion proof of each (./trail.ts), build manifest.json and sign it;
 *   3. write the zip to a temporary file next to `out`, fsync (./zip.ts);
 *   4. append one `exported` event per recording (who, why, to whom, the
 *      manifest's and the zip's SHA-256) in one transaction;
 *   5. link the file to `out` (never overwriting), fsync the folder.
 * A failure before 4 leaves nothing; a crash between 4 and 5 leaves a
 * recorded export whose file is the temporary one (over-reporting, never
 * under-reporting).
 */
import { custodyReport } from '../report/custody.js'
import { custodyHtml } from '../report/html.js'
import { canRenderPdf, custodyPdf } from '../report/pdf.js'
import { link, mkdir, rm, stat } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'
import { cosignaturesOf } from '../catalog/anchors.js'
import type { Checkpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { canonicalBytes, canonicalEventBytes } from '../ledger/canonical.js'
import { writeCheckpoint } from '../ledger/checkpoint.js'
import { actors, subjects, type ExportedVia } from '../ledger/events.js'
import { signingKey } from '../ledger/key-chain.js'
import type { StationKey } from '../ledger/keys.js'
import { appendEvent, type LedgerEvent } from '../ledger/ledger.js'
import { asCosignature, cosignedMessage } from '../ledger/cosignature.js'
import { formatSignedNote, parseSignedNote } from '../ledger/note.js'
import { fsyncDir, type Vault } from '../vault/store.js'
import {
  canonicalFile,
  cosignatureFiles,
  eventFile,
  extForMime,
  F,
  PACKAGE_FORMAT,
  packageNoteText,
  proofFile,
  safeExt,
  sha256Hex,
  sha256sums,
  sheetFile,
  verifyMd,
  type ManifestCosignature,
  type ManifestDerivative,
  type ManifestEvent,
  type ManifestFile,
  type ManifestRecording,
  type PackageManifest,
} from './layout.js'
import { evidenceSheetHtml } from './sheet.js'
import { CHECK_PACKAGE_PY } from './tool.js'
import { gatherTrail, probedFacts } from './trail.js'
import { writePackageZip, type PackageStream } from './zip.js'

export interface EvidencePackageRequest {
  db: Db
  vault: Vault
  recordingIds: number[]
  /** Who asked for the export, e.g. "token:7" or "user:li.wei". */
  requestedBy: string
  /** Who approved it (a supervisor). */
  approvedBy: string
  reason: string
  /** Who receives it, e.g. "Procuratorate of X district, case 2026-123". */
  recipient: string
  includeDerivatives?: boolean
  /** Where to write the zip; must not exist yet. */
  out: string
  station: { id: string; name: string; timezone: string }
  /** The ledger actor of the `exported` events (default "station:<id>"). */
  actor?: string
  /** Extra fields for each `exported` event payload (e.g. the API's exportId, tokenId). */
  exportPayload?: ExportedVia
  /** Defaults to the station key in the vault's data dir (made if missing). */
  key?: StationKey
  /**
   * Takes the package's checkpoint to the witnesses before the package is built (the station's
   * anchorNow), so that their co-signatures travel with it. A failure only leaves them out.
   */
  anchor?: () => Promise<void>
  logger?: Logger
  /** For tests: write ZIP64 records even for small files. */
  forceZip64?: boolean
  now?: Date
}

export interface EvidencePackageResult {
  path: string
  packageId: string
  /** SHA-256 of the zip file. */
  sha256: string
  bytes: number
  /** The zip's block list as it was written (src/vault/blocks.ts): a download is checked against it. */
  blockBytes: number
  blocks: Buffer
  manifestSha256: string
  checkpoint: { id: number; treeSize: number; rootHash: string }
  recordings: number
  events: number
  files: number
  /** Seqs of the `exported` events written. */
  exportEvents: number[]
}

function nonEmpty(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw new BodyvaultError('PACKAGE_REQUEST', `${name} is required (a non-empty text)`, 2)
  if (v.length > 2000) throw new BodyvaultError('PACKAGE_REQUEST', `${name} is longer than 2000 characters`, 2)
  return v.trim()
}

function eventJson(ev: LedgerEvent): Buffer {
  return canonicalBytes({
    seq: ev.seq,
    type: ev.type,
    at: ev.at,
    actor: ev.actor,
    subject: ev.subject,
    payload: ev.payload,
    prev_hash: ev.prevHash,
    hash: ev.hash,
  })
}

export async function buildEvidencePackage(req: EvidencePackageRequest): Promise<EvidencePackageResult> {
  const { db, vault } = req
  const log = req.logger
  const requestedBy = nonEmpty('requestedBy', req.requestedBy)
  const approvedBy = nonEmpty('approvedBy', req.approvedBy)
  const reason = nonEmpty('reason', req.reason)
  const recipient = nonEmpty('recipient', req.recipient)
  const ids = [...new Set(req.recordingIds)].sort((a, b) => a - b)
  if (ids.length === 0 || !ids.every((i) => Number.isSafeInteger(i) && i > 0))
    throw new BodyvaultError('PACKAGE_REQUEST', 'name at least one recording (positive whole-number ids)', 2)
  const out = resolve(req.out)
  try {
    await stat(out)
    throw new BodyvaultError('PACKAGE_EXISTS', `${out} already exists: choose another output file (packages are never overwritten)`, 2)
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err
  }
  await mkdir(dirname(out), { recursive: true })
  const key = req.key ?? signingKey(db, vault.dataDir, req.station.id)
  const now = req.now ?? new Date()
  const createdAt = now.toISOString()
  const packageId = randomUUID()

  // 1. A checkpoint covering everything so far, co-signed by the witnesses that answer.
  const { checkpoint } = writeCheckpoint(db, key, { now, ...(log ? { logger: log } : {}) })
  const size = checkpoint.treeSize
  if (req.anchor) {
    try {
      await req.anchor()
    } catch (err) {
      log?.warn(
        { event: 'package.anchor_failed', err: errorMessage(err) },
        'the checkpoint could not be taken to the witnesses: the package has no co-signatures',
      )
    }
  }

  // 2. Recordings, events, proofs: one consistent read.
  const gathered = gatherTrail(db, ids, checkpoint, req.includeDerivatives === true)

  // Every object must be here (an offloaded and evicted one must be restored first).
  const streams: PackageStream[] = []
  const addStream = async (path: string, sha256: string, size: number, what: string): Promise<void> => {
    if (streams.some((s) => s.path === path)) return
    const object = vault.objectPath(sha256)
    try {
      const st = await stat(object)
      if (size >= 0 && st.size !== size)
        throw new BodyvaultError('PACKAGE_OBJECT_CORRUPT', `${what}: the vault object ${sha256} has ${st.size} bytes, recorded ${size}: run bodyvault verify`)
      streams.push({ path, object, sha256, size: st.size })
    } catch (err) {
      if (errnoCode(err) === 'ENOENT')
        throw new BodyvaultError(
          'PACKAGE_OBJECT_MISSING',
          `${what}: the vault has no local copy of object ${sha256} (offloaded and evicted, or missing): restore it, then export again`,
        )
      throw err
    }
  }

  const manifestRecordings: ManifestRecording[] = []
  for (const { rec, events, derivatives } of gathered.recs) {
    const file = `originals/${rec.sha256}.${safeExt(rec.sourcePath)}`
    await addStream(file, rec.sha256, rec.size, `recording ${rec.id}`)
    const ds: ManifestDerivative[] = []
    for (const d of derivatives) {
      const dfile = `derivatives/${d.sha256}.${extForMime(d.mimeType)}`
      try {
        await addStream(dfile, d.sha256, d.size, `recording ${rec.id} ${d.kind}`)
      } catch (err) {
        // A viewing copy is a convenience: its absence (evicted, never made) does not stop the export.
        if (!(err instanceof BodyvaultError && err.code === 'PACKAGE_OBJECT_MISSING')) throw err
        log?.warn(
          { event: 'package.derivative_skipped', recordingId: rec.id, kind: d.kind, sha256: d.sha256 },
          'derivative not in the local vault: left out of the package',
        )
        continue
      }
      ds.push({ kind: d.kind, sha256: d.sha256, size: streams.find((s) => s.path === dfile)!.size, mimeType: d.mimeType, eventSeq: d.eventSeq, file: dfile })
    }
    manifestRecordings.push({
      id: rec.id,
      sha256: rec.sha256,
      size: rec.size,
      kind: rec.kind,
      sourcePath: rec.sourcePath,
      stationId: rec.stationId,
      deviceId: rec.deviceId,
      officerId: rec.officerId,
      recordedAt: rec.recordedAt,
      recordedOffset: rec.recordedOffset,
      recordedSource: rec.recordedSource,
      important: rec.important,
      category: rec.category,
      caseNumber: rec.caseNumber,
      ingestedAt: rec.ingestedAt,
      eventSeq: rec.eventSeq,
      file,
      sheet: sheetFile(rec.id),
      events: events.map((e) => e.seq),
      ...probedFacts(rec.id, events),
      derivatives: ds,
    })
  }

  // Small files, in memory.
  const texts = new Map<string, Buffer>()
  const manifestEvents: ManifestEvent[] = []
  for (const [seq, ev] of [...gathered.allEvents].sort((a, b) => a[0] - b[0])) {
    texts.set(eventFile(seq), eventJson(ev))
    texts.set(canonicalFile(seq), canonicalEventBytes(ev))
    texts.set(proofFile(seq), canonicalBytes(gathered.proofs.get(seq)))
    manifestEvents.push({
      seq,
      type: ev.type,
      subject: ev.subject,
      prevHash: ev.prevHash,
      hash: ev.hash,
      file: eventFile(seq),
      canonical: canonicalFile(seq),
      proof: proofFile(seq),
    })
  }
  const cpNote = parseSignedNote(checkpoint.note)
  const cpSig = cpNote.signatures.find((s) => s.keyId.equals(key.keyId) && s.name === key.name)
  if (!cpSig)
    throw new BodyvaultError(
      'CHECKPOINT_KEY',
      `checkpoint ${checkpoint.id} is signed by another key than the station key ${key.keyId.toString('hex')}: run bodyvault verify`,
    )
  // The witnesses' co-signatures: signature lines after the station's, and each as a message and a signature for openssl.
  const cosignatures: ManifestCosignature[] = []
  let cosignedNote = checkpoint.note
  for (const c of cosignaturesOf(db, checkpoint.id)) {
    const sig = asCosignature(parseSignedNote(`${checkpoint.note}${c.line}\n`).signatures.at(-1)!)
    if (!sig) continue
    const f = cosignatureFiles(cosignatures.length + 1)
    texts.set(f.message, cosignedMessage(cpNote.text, sig.timestamp))
    texts.set(f.signature, Buffer.from(sig.signature))
    cosignatures.push({ name: c.witness, keyId: c.keyId, timestamp: sig.timestamp, message: f.message, signature: f.signature })
    cosignedNote += `${c.line}\n`
  }
  texts.set(F.checkpointNote, Buffer.from(cosignedNote, 'utf8'))
  texts.set(F.checkpointBody, Buffer.from(cpNote.text, 'utf8'))
  texts.set(F.checkpointSig, Buffer.from(cpSig.signature))
  texts.set(F.pubPem, Buffer.from(key.pem, 'utf8'))
  texts.set(F.vkey, Buffer.from(`${key.vkey}\n`, 'utf8'))
  texts.set(F.tool, Buffer.from(CHECK_PACKAGE_PY, 'utf8'))

  const manifest: PackageManifest = {
    format: PACKAGE_FORMAT,
    packageId,
    createdAt,
    station: { ...req.station },
    export: { requestedBy, approvedBy, reason, recipient },
    stationKey: {
      name: key.name,
      keyId: key.keyId.toString('hex'),
      vkey: key.vkey,
      publicKeyHex: key.publicKey.toString('hex'),
      fingerprint: key.fingerprint,
      file: F.pubPem,
    },
    checkpoint: {
      id: checkpoint.id,
      origin: checkpoint.origin,
      treeSize: size,
      rootHash: checkpoint.rootHash,
      note: F.checkpointNote,
      body: F.checkpointBody,
      signature: F.checkpointSig,
      ...(cosignatures.length ? { cosignatures } : {}),
    },
    recordings: manifestRecordings,
    events: manifestEvents,
    files: [],
  }
  for (const r of manifestRecordings) {
    const trail = r.events.map((s) => gathered.allEvents.get(s)!)
    texts.set(r.sheet, Buffer.from(evidenceSheetHtml(manifest, r, trail), 'utf8'))
  }
  texts.set(F.verify, Buffer.from(verifyMd(manifest), 'utf8'))
  // The custody report (视听资料清单) courts read, as HTML (no font needed) and as the PDF clerks print (a subset
  // of Noto Sans CJK embedded: about a second of CPU, measured and logged; skipped with a warning without the font).
  const report = custodyReport(req.db, { kind: 'export', ref: packageId, lang: 'zh', station: req.station, now: new Date(createdAt), recordingIds: ids })
  texts.set(F.custodyHtml, Buffer.from(custodyHtml(report), 'utf8'))
  if (canRenderPdf()) {
    const cpu0 = process.cpuUsage()
    const pdf = await custodyPdf(report)
    const cpu = process.cpuUsage(cpu0)
    texts.set(F.custodyPdf, pdf)
    log?.info({ event: 'package.report_pdf', bytes: pdf.length, cpuMs: Math.round((cpu.user + cpu.system) / 1000) }, 'custody report PDF made for the package')
  } else log?.warn({ event: 'package.report_pdf_skipped' }, 'no CJK font (fonts-noto-cjk): the package carries the custody report as HTML only')
  const files: ManifestFile[] = []
  for (const [path, b] of texts) files.push({ path, sha256: sha256Hex(b), size: b.length })
  for (const s of streams) files.push({ path: s.path, sha256: s.sha256, size: s.size })
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  manifest.files = files
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8')
  const manifestSha256 = sha256Hex(manifestBytes)
  const pBody = packageNoteText(packageId, manifestSha256)
  const pSig = key.sign(Buffer.from(pBody, 'utf8'))
  const pNote = formatSignedNote(pBody, [{ name: key.name, keyId: key.keyId, signature: pSig }])
  texts.set(F.manifest, manifestBytes)
  texts.set(F.packageBody, Buffer.from(pBody, 'utf8'))
  texts.set(F.packageSig, pSig)
  texts.set(F.packageNote, Buffer.from(pNote, 'utf8'))
  const sumsList: ManifestFile[] = [
    ...files,
    ...[F.manifest, F.packageBody, F.packageSig, F.packageNote].map((p) => ({ path: p, sha256: sha256Hex(texts.get(p)!), size: texts.get(p)!.length })),
  ]
  texts.set(F.sums, Buffer.from(sha256sums(sumsList), 'utf8'))

  // 3. The zip, to a temporary file beside `out`.
  const partial = join(dirname(out), `.${basename(out)}.${process.pid}.${packageId.slice(0, 8)}.partial`)
  const zipDigest = await writePackageZip({ partial, out, texts, streams, packageId, now, forceZip64: req.forceZip64 === true })

  const { sha256: zipSha256, size: zipBytes } = zipDigest

  // 4. The ledger records the export, 5. then the file takes its name.
  const actor = req.actor ?? actors.station(req.station.id)
  let exportEvents: number[]
  try {
    exportEvents = db
      .transaction(() =>
        ids.map(
          (id) =>
            appendEvent(db, {
              type: 'exported',
              actor,
              subject: subjects.recording(id),
              at: new Date(),
              payload: {
                ...req.exportPayload,
                recordingId: id,
                packageId,
                recordingIds: ids,
                requestedBy,
                approvedBy,
                reason,
                recipient,
                manifestSha256,
                packageSha256: zipSha256,
                packageBytes: zipBytes,
                fileName: basename(out),
                checkpointSize: size,
                checkpointRoot: checkpoint.rootHash,
                includeDerivatives: req.includeDerivatives === true,
              },
            }).seq,
        ),
      )
      .immediate()
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  }
  try {
    await link(partial, out)
    await rm(partial, { force: true })
    await fsyncDir(dirname(out))
  } catch (err) {
    throw new BodyvaultError(
      'PACKAGE_WRITE',
      `the export is recorded (events ${exportEvents.join(', ')}) but the file could not be named ${out} (${errorMessage(err)}); it is at ${partial}`,
      3,
      { cause: err },
    )
  }
  log?.info(
    {
      event: 'package.exported',
      packageId,
      path: out,
      sha256: zipSha256,
      bytes: zipBytes,
      manifestSha256,
      recordings: ids,
      requestedBy,
      approvedBy,
      checkpoint: checkpoint.id,
    },
    'evidence package written',
  )
  return {
    path: out,
    packageId,
    sha256: zipSha256,
    bytes: zipBytes,
    blockBytes: zipDigest.blockBytes,
    blocks: zipDigest.blocks,
    manifestSha256,
    checkpoint: { id: checkpoint.id, treeSize: size, rootHash: checkpoint.rootHash } satisfies Pick<Checkpoint, 'id' | 'treeSize' | 'rootHash'>,
    recordings: ids.length,
    events: manifestEvents.length,
    files: texts.size + streams.length,
    exportEvents,
  }
}
