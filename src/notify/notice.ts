/**
 * The notifier's pure part: what each notice says (Chinese first, English
 * after: the supervisors' language, then the vendor's and the auditors'),
 * the key that makes it go out once, its digest for the ledger, and the
 * webhook's signature. No clock, no I/O: the facts and the time come in,
 * a notice (or null: nothing to say) goes out. Tested as tables in
 * test/notify-notice.test.ts.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { DateTime } from 'luxon'
import type { NoticeKind } from './settings.js'

/** One notice, rendered once and sent as it is through every channel (and on every attempt). */
export interface Notice {
  kind: NoticeKind
  /** With the kind, what makes it go out once per channel: a day, a week, an object's failure, an export request. */
  key: string
  subject: string
  /** The plain text (the mail's body; also in the webhook's JSON). */
  text: string
  /** The listed things, as data (the webhook's receiver need not parse the text). */
  items: Record<string, string | number | null>[]
  /** A daily list covers what came until here; the next one starts here. */
  windowTo: string | null
}

export interface Station {
  id: string
  name: string
  timezone: string
}

const local = (iso: string, zone: string): string => {
  const dt = DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone)
  return dt.isValid ? dt.toFormat('yyyy-MM-dd HH:mm ZZ') : iso
}
/** The station's calendar day of an instant: the key of a notice sent once a day. */
export const stationDay = (at: Date, zone: string): string => DateTime.fromJSDate(at).setZone(zone).toFormat('yyyy-MM-dd')
const hours = (s: number): string => (s / 3600).toFixed(1)
const gib = (n: number): string => `${(n / 1024 ** 3).toFixed(1)} GiB`
const head = (st: Station, zh: string, en: string): string => `【${st.name}】${zh} ${en}`
const body = (lines: string[]): string => `${lines.join('\n')}\n\n— bodyvault\n`

export interface LateHandover {
  recordingId: number
  officerId: string | null
  unitCode: string | null
  endedAt: string
  committedAt: string
  delaySeconds: number
}

/** Daily: the recordings handed over late (及时移交) since the last list, [from, to). Null when there were none. */
export function lateHandoversNotice(st: Station, late: LateHandover[], o: { from: string; to: string; limitHours: number }): Notice | null {
  if (late.length === 0) return null
  const when = `${local(o.from, st.timezone)} – ${local(o.to, st.timezone)}`
  return {
    kind: 'late-handovers',
    key: stationDay(new Date(o.to), st.timezone),
    subject: head(st, `逾期移交 ${late.length} 条`, `${late.length} late handover(s)`),
    text: body([
      `以下执法记录超过 ${o.limitHours} 小时才移交存储（${when}）。`,
      `These recordings reached the vault more than ${o.limitHours} h after they ended (${when}).`,
      '',
      ...late.map(
        (l) =>
          `#${l.recordingId}  警号 officer ${l.officerId ?? '-'}  单位 unit ${l.unitCode ?? '-'}  结束 ended ${local(l.endedAt, st.timezone)}  入库 committed ${local(l.committedAt, st.timezone)}  延迟 delay ${hours(l.delaySeconds)} h`,
      ),
    ]),
    items: late.map((l) => ({ ...l })),
    windowTo: o.to,
  }
}

export interface DueDeletion {
  recordingId: number
  sha256: string
  category: string | null
  caseNumber: string | null
  recordedAt: string
  purgeAfter: string
  why: string
}

/** Weekly: what the nightly purge deletes in the next 7 days, with the rule that let it go. Null when nothing is due. */
export function deletionsDueNotice(st: Station, due: DueDeletion[], o: { now: Date; days: number }): Notice | null {
  if (due.length === 0) return null
  return {
    kind: 'deletions-due',
    key: stationDay(o.now, st.timezone),
    subject: head(st, `未来 ${o.days} 天将删除 ${due.length} 条记录`, `${due.length} recording(s) to be deleted in the next ${o.days} days`),
    text: body([
      `以下执法记录保存期满，将在所列时间后被自动删除。如需继续保存，请在此之前关联案件、设置保全或标记。`,
      `These recordings have reached the end of their retention and will be deleted after the time shown. To keep one, link it to a case, place a hold or set a retention flag before then.`,
      '',
      ...due.map(
        (d) =>
          `#${d.recordingId}  删除于 deleted after ${local(d.purgeAfter, st.timezone)}  拍摄 recorded ${local(d.recordedAt, st.timezone)}  类别 category ${d.category ?? '-'}  案件 case ${d.caseNumber ?? '-'}  依据 rule: ${d.why}  SHA-256 ${d.sha256}`,
      ),
    ]),
    items: due.map((d) => ({ ...d })),
    windowTo: null,
  }
}

/** At once: a vault object failed its fixity check. Keyed by the object and when it failed: a repaired object that fails again is news again. */
export function fixityFailureNotice(st: Station, f: { sha256: string; size: number; failedAt: string; failure: string; recordingIds: number[] }): Notice {
  return {
    kind: 'fixity-failure',
    key: `${f.sha256}@${f.failedAt}`,
    subject: head(st, '存储校验失败', `fixity check failed: ${f.sha256.slice(0, 12)}`),
    text: body([
      `存储对象校验失败：${f.failure}。请运行 bodyvault fixity repair 或从备份恢复。`,
      `A vault object failed its fixity check: ${f.failure}. Run bodyvault fixity repair, or restore it from a backup.`,
      '',
      `SHA-256 ${f.sha256}  大小 size ${f.size}  时间 at ${local(f.failedAt, st.timezone)}  记录 recordings ${f.recordingIds.join(', ') || '-'}`,
    ]),
    items: [{ sha256: f.sha256, size: f.size, failedAt: f.failedAt, failure: f.failure, recordingIds: f.recordingIds.join(',') }],
    windowTo: null,
  }
}

/** At once, then once a day while it lasts: the data dir's disk is short of space. Null when there is enough. */
export function lowDiskNotice(st: Station, d: { freeBytes: number; thresholdBytes: number; now: Date }): Notice | null {
  if (d.freeBytes >= d.thresholdBytes) return null
  return {
    kind: 'low-disk',
    key: stationDay(d.now, st.timezone),
    subject: head(st, `存储空间不足：剩余 ${gib(d.freeBytes)}`, `low disk: ${gib(d.freeBytes)} free`),
    text: body([
      `存储盘剩余 ${gib(d.freeBytes)}，低于 ${gib(d.thresholdBytes)}。空间用尽时将停止采集。请清理空间、增加硬盘或启用 S3 转存。`,
      `The vault's disk has ${gib(d.freeBytes)} free, below ${gib(d.thresholdBytes)}. Docking stops taking footage when it runs out: free space, add a disk, or offload to S3.`,
    ]),
    items: [{ freeBytes: d.freeBytes, thresholdBytes: d.thresholdBytes }],
    windowTo: null,
  }
}

export interface PendingExport {
  id: number
  recordingIds: number[]
  reason: string
  recipient: string
  requestedPerson: string
  requestedAt: string
}

const exportLine = (e: PendingExport, zone: string): string =>
  `#${e.id}  申请人 by ${e.requestedPerson}  时间 at ${local(e.requestedAt, zone)}  接收方 recipient ${e.recipient}  记录 recordings ${e.recordingIds.join(', ')}  事由 reason: ${e.reason}`
const exportItem = (e: PendingExport): Record<string, string | number> => ({
  id: e.id,
  recordingIds: e.recordingIds.join(','),
  reason: e.reason,
  recipient: e.recipient,
  requestedPerson: e.requestedPerson,
  requestedAt: e.requestedAt,
})

/** At once: an export was requested and waits for a supervisor's approval. */
export function exportRequestedNotice(st: Station, e: PendingExport): Notice {
  return {
    kind: 'export-requested',
    key: `export-${e.id}`,
    subject: head(st, `导出待审批 #${e.id}`, `export #${e.id} awaits approval`),
    text: body([
      '有新的导出申请等待审批（导出需另一人批准）。',
      "An export was requested and awaits a supervisor's approval (another person than the requester).",
      '',
      exportLine(e, st.timezone),
    ]),
    items: [exportItem(e)],
    windowTo: null,
  }
}

/** Daily while any is pending: the exports still awaiting approval. Null when none is. */
export function exportsPendingNotice(st: Station, pending: PendingExport[], now: Date): Notice | null {
  if (pending.length === 0) return null
  return {
    kind: 'export-pending',
    key: stationDay(now, st.timezone),
    subject: head(st, `${pending.length} 个导出申请仍待审批`, `${pending.length} export(s) still await approval`),
    text: body(['以下导出申请仍在等待审批：', 'These export requests still await approval:', '', ...pending.map((e) => exportLine(e, st.timezone))]),
    items: pending.map(exportItem),
    windowTo: null,
  }
}

/** `bodyvault notify test`: proves a channel works. */
export function testNotice(st: Station, now: Date): Notice {
  return {
    kind: 'test',
    key: now.toISOString(),
    subject: head(st, '通知测试', 'test notice'),
    text: body([
      `这是一条测试通知，发送于 ${local(now.toISOString(), st.timezone)}。`,
      `This is a test notice, sent at ${local(now.toISOString(), st.timezone)}.`,
    ]),
    items: [],
    windowTo: null,
  }
}

/** The notice as the webhook's body (and the bytes its digest and signature cover): canonical key order, UTF-8 JSON. */
export function noticeBody(st: Pick<Station, 'id' | 'name'>, n: Notice, createdAt: string): string {
  return JSON.stringify({
    station: { id: st.id, name: st.name },
    kind: n.kind,
    key: n.key,
    createdAt,
    subject: n.subject,
    text: n.text,
    items: n.items,
  })
}

/** SHA-256 (hex) of a notice's body: the ledger names the content without holding it. */
export function noticeDigest(bodyJson: string): string {
  return createHash('sha256').update(bodyJson, 'utf8').digest('hex')
}

/**
 * The webhook's signature: `sha256=` and the hex HMAC-SHA256, keyed by the
 * channel's secret, of "<timestamp>.<body>" (the timestamp in Unix seconds,
 * sent as X-Bodyvault-Timestamp). Signing the timestamp with the body lets a
 * receiver refuse a replayed request outside its window.
 */
export function signWebhook(secret: string, timestamp: number, bodyJson: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${bodyJson}`, 'utf8').digest('hex')}`
}

/** The receiver's side (documented in docs/install.md; the tests' receiver uses it): a good signature within `toleranceSeconds`. */
export function verifyWebhook(
  secret: string,
  h: { timestamp: string | undefined; signature: string | undefined },
  bodyJson: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const ts = Number(h.timestamp)
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds || !h.signature) return false
  const want = Buffer.from(signWebhook(secret, ts, bodyJson))
  const got = Buffer.from(h.signature)
  return want.length === got.length && timingSafeEqual(want, got)
}

/** The wait before attempt `attempts + 1` (after `attempts` failed): base, 2 base, 4 base ..., at most an hour; null when the attempts are spent. */
export function nextAttemptDelaySeconds(attempts: number, o: { maxAttempts: number; baseSeconds: number }): number | null {
  if (attempts >= o.maxAttempts) return null
  return Math.min(3600, o.baseSeconds * 2 ** (attempts - 1))
}
