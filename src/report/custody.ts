import { recordingsOfCase, getCase } from '../catalog/cases.js'
import { latestCheckpoint } from '../catalog/checkpoints.js'
import type { Db } from '../catalog/db.js'
import { getExportRequest } from '../catalog/exports.js'
import { getMediaInfo } from '../catalog/media-info.js'
import { getRecording, type Recording } from '../catalog/recordings.js'
import { getOfficer } from '../catalog/registry.js'
import { BodyvaultError } from '../common/errors.js'
import { readKeyChain } from '../ledger/key-chain.js'
import { eventsFor } from '../ledger/ledger.js'
import { subjects } from '../ledger/subjects.js'
import { DateTime } from 'luxon'

/**
 * The custody report's content (视听资料清单 and chain of custody), as data:
 * the evidence rules (两高一部 2016, arts. 5 and 14; SPC interpretation art.
 * 111) ask that audio-visual material be handed over with a list giving
 * each file's type, format, hash, collector, time and method of
 * collection. For a recording, a case or an export request: each
 * recording's facts, its custody trail from the ledger, the latest signed
 * checkpoint with the station key's fingerprint, and how to verify. The
 * renderers (./pdf.ts, ./html.ts) only lay it out.
 */
export type ReportKind = 'recording' | 'case' | 'export'
export type Lang = 'zh' | 'en'

export interface ReportItem {
  recordingId: number
  status: string
  kind: string
  format: string
  size: number
  sha256: string
  officer: string
  device: string
  /** Camera time with its offset, e.g. 2026-11-20 09:00:00 +08:00. */
  recordedAt: string
  place: string
  method: string
  category: string | null
  trail: { seq: number; at: string; type: string; actor: string }[]
}

export interface CustodyReport {
  kind: ReportKind
  ref: string
  lang: Lang
  title: string
  station: { id: string; name: string; timezone: string }
  generatedAt: string
  items: ReportItem[]
  checkpoint: { treeSize: number; rootHash: string; keyId: string; origin: string; createdAt: string } | null
  keyFingerprint: string | null
}

/** The recordings a report covers. */
function recordingIds(db: Db, kind: ReportKind, ref: string): number[] {
  if (kind === 'recording') {
    const id = Number(ref)
    if (!Number.isInteger(id) || id < 1 || !getRecording(db, id)) throw new BodyvaultError('RECORDING_NOT_FOUND', `recording ${ref} is not in the catalog`)
    return [id]
  }
  if (kind === 'case') {
    if (!getCase(db, ref)) throw new BodyvaultError('CASE_NOT_FOUND', `case ${ref} does not exist`)
    return recordingsOfCase(db, ref)
  }
  const e = getExportRequest(db, Number(ref))
  if (!e) throw new BodyvaultError('EXPORT_NOT_FOUND', `no export request ${ref}`)
  return e.recordingIds
}

/** Camera time with its offset (what the clerk compares with the camera's overlay). */
export function timeWithOffset(r: Pick<Recording, 'recordedAt' | 'recordedOffset'>): string {
  const zone = r.recordedOffset === 'Z' || r.recordedOffset === '+00:00' ? 'UTC' : `UTC${r.recordedOffset}`
  const dt = DateTime.fromISO(r.recordedAt, { zone: 'utc' }).setZone(zone)
  return dt.isValid ? `${dt.toFormat('yyyy-MM-dd HH:mm:ss')} ${dt.toFormat('ZZ')}` : r.recordedAt
}

export function custodyReport(
  db: Db,
  o: {
    kind: ReportKind
    ref: string
    lang: Lang
    station: { id: string; name: string; timezone: string }
    now: Date
    /** The recordings, when the caller already knows them (an evidence package being built). */
    recordingIds?: readonly number[]
  },
): CustodyReport {
  const zh = o.lang === 'zh'
  const items: ReportItem[] = (o.recordingIds ?? recordingIds(db, o.kind, o.ref)).map((id) => {
    const r = getRecording(db, id)!
    const m = getMediaInfo(db, id)
    const officer = r.officerId ? getOfficer(db, r.officerId) : undefined
    const format = m ? [m.container, m.videoCodec, m.audioCodec, m.width && m.height ? `${m.width}x${m.height}` : null].filter(Boolean).join(' / ') : '-'
    const source =
      r.recordedSource === 'filename' ? (zh ? '时间取自文件名' : 'time from the file name') : zh ? '时间取自文件修改时间' : 'time from the file mtime'
    return {
      recordingId: id,
      status: r.status,
      kind: r.kind,
      format: format || '-',
      size: r.size,
      sha256: r.sha256,
      officer: r.officerId ? `${officer?.name ?? ''} ${r.officerId}`.trim() : '-',
      device: r.deviceId ?? '-',
      recordedAt: timeWithOffset(r),
      place: m?.gps
        ? `${m.gps.lat.toFixed(6)}, ${m.gps.lon.toFixed(6)} (GPS)`
        : zh
          ? `未记录位置;导入站点 ${o.station.name}`
          : `not recorded; docked at ${o.station.name}`,
      method: zh
        ? `执法记录仪拍摄;在 ${o.station.name} 经 USB 自动导入,复制时计算 SHA-256 并回读校验(${source})`
        : `recorded on a body camera; copied over USB at ${o.station.name}, SHA-256 computed while copying and read back (${source})`,
      category: r.category,
      trail: eventsFor(db, subjects.recording(id)).map((e) => ({ seq: e.seq, at: e.at, type: e.type, actor: e.actor })),
    }
  })
  const c = latestCheckpoint(db)
  const what = { recording: zh ? '录像' : 'recording', case: zh ? '案件' : 'case', export: zh ? '导出申请' : 'export request' }[o.kind]
  return {
    kind: o.kind,
    ref: o.ref,
    lang: o.lang,
    title: zh ? `视听资料清单及保管链报告(${what} ${o.ref})` : `Audio-visual material list and chain of custody (${what} ${o.ref})`,
    station: o.station,
    generatedAt: o.now.toISOString(),
    items,
    checkpoint: c ? { treeSize: c.treeSize, rootHash: c.rootHash, keyId: c.keyId, origin: c.origin, createdAt: c.createdAt } : null,
    // The station key as the ledger's chain of keys knows it (vault-created, key-rotated...).
    keyFingerprint: readKeyChain(db).current?.fingerprint ?? null,
  }
}
