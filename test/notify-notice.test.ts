// The notifier's pure part as tables: what each notice says (Chinese first,
// then English), the key that makes it go out once, the digest the ledger
// names, the webhook's signature against openssl's HMAC, the receiver's
// check (tampered body, replayed or shifted timestamp, wrong key) and the
// backoff between attempts.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import t from 'tap'
import {
  deletionsDueNotice,
  exportRequestedNotice,
  exportsPendingNotice,
  fixityFailureNotice,
  lateHandoversNotice,
  lowDiskNotice,
  nextAttemptDelaySeconds,
  noticeBody,
  noticeDigest,
  signWebhook,
  stationDay,
  verifyWebhook,
} from '../src/notify/notice.js'
import { channelTakes, notifySettings } from '../src/notify/settings.js'

const ST = { id: 'station-01', name: '城关派出所', timezone: 'Asia/Shanghai' }
const SHA = 'ab'.repeat(32)

/** Chinese before English in a line: the first CJK character comes before the first English word given. */
const zhFirst = (s: string, en: string): boolean => {
  const zh = s.search(/[\u4e00-\u9fff]/)
  return zh >= 0 && s.indexOf(en) > zh
}

t.test('the station day of an instant is the station calendar day, not UTC', async (t) => {
  for (const [at, zone, day] of [
    ['2026-11-29T15:59:59Z', 'Asia/Shanghai', '2026-11-29'],
    ['2026-11-29T16:00:00Z', 'Asia/Shanghai', '2026-11-30'],
    ['2026-11-29T23:00:00Z', 'America/New_York', '2026-11-29'],
    ['2026-03-29T00:30:00Z', 'Europe/Berlin', '2026-03-29'],
  ] as const)
    t.equal(stationDay(new Date(at), zone), day, `${at} in ${zone}`)
})

t.test('late handovers: none is no notice; the list names each recording, officer, unit, times in station time and delay', async (t) => {
  const o = { from: '2026-11-28T00:00:00.000Z', to: '2026-11-29T00:00:00.000Z', limitHours: 24 }
  t.equal(lateHandoversNotice(ST, [], o), null, 'nothing late: nothing sent')
  const late = [
    { recordingId: 7, officerId: '012345', unitCode: 'U1', endedAt: '2026-11-26T02:00:00.000Z', committedAt: '2026-11-28T08:00:00.000Z', delaySeconds: 194400 },
    { recordingId: 9, officerId: null, unitCode: null, endedAt: '2026-11-27T01:00:00.000Z', committedAt: '2026-11-28T09:30:00.000Z', delaySeconds: 117000 },
  ]
  const n = lateHandoversNotice(ST, late, o)!
  t.equal(n.kind, 'late-handovers')
  t.equal(n.key, '2026-11-29', 'keyed by the station day the list ends (08:00 +08:00)')
  t.equal(n.windowTo, o.to, 'the next list starts where this one ends')
  t.ok(zhFirst(n.subject, 'late handover'), `subject Chinese first: ${n.subject}`)
  t.match(n.subject, '城关派出所', 'the station by name')
  t.ok(zhFirst(n.text, 'These recordings'), 'text Chinese first')
  t.match(n.text, '#7  警号 officer 012345  单位 unit U1  结束 ended 2026-11-26 10:00 +08:00  入库 committed 2026-11-28 16:00 +08:00  延迟 delay 54.0 h')
  t.match(n.text, '#9  警号 officer -  单位 unit -', 'an unattributed one is listed too')
  t.equal(n.items.length, 2)
})

t.test('deletions due: the list with the time of deletion, the rule and the hash; none is no notice', async (t) => {
  const now = new Date('2026-11-30T00:00:00.000Z')
  t.equal(deletionsDueNotice(ST, [], { now, days: 7 }), null)
  const n = deletionsDueNotice(
    ST,
    [
      {
        recordingId: 3,
        sha256: SHA,
        category: 'patrol',
        caseNumber: null,
        recordedAt: '2026-05-01T00:00:00.000Z',
        purgeAfter: '2026-12-02T16:00:00.000Z',
        why: 'category patrol: 6 months',
      },
    ],
    { now, days: 7 },
  )!
  t.equal(n.key, '2026-11-30', 'keyed by the station day: one weekly notice per run day')
  t.ok(zhFirst(n.subject, 'to be deleted'), n.subject)
  t.match(
    n.text,
    `#3  删除于 deleted after 2026-12-03 00:00 +08:00  拍摄 recorded 2026-05-01 08:00 +08:00  类别 category patrol  案件 case -  依据 rule: category patrol: 6 months  SHA-256 ${SHA}`,
  )
  t.match(n.text, 'link it to a case, place a hold or set a retention flag', 'says how to keep one')
})

t.test('a fixity failure is keyed by object and failure time: the same failure once, a new failure after a repair again', async (t) => {
  const f = { sha256: SHA, size: 10, failedAt: '2026-11-29T01:00:00.000Z', failure: 'block 3 does not match', recordingIds: [4, 5] }
  const a = fixityFailureNotice(ST, f)
  t.equal(a.key, fixityFailureNotice(ST, { ...f }).key, 'the same failure: the same key')
  t.not(a.key, fixityFailureNotice(ST, { ...f, failedAt: '2026-12-01T01:00:00.000Z' }).key, 'failed again later: another key')
  t.match(a.text, 'block 3 does not match')
  t.match(a.text, '记录 recordings 4, 5')
  t.ok(zhFirst(a.text, 'A vault object'))
})

t.test('low disk: nothing when there is room; below the level, once a station day', async (t) => {
  const now = new Date('2026-11-29T20:00:00.000Z')
  t.equal(lowDiskNotice(ST, { freeBytes: 10 * 2 ** 30, thresholdBytes: 10 * 2 ** 30, now }), null, 'at the level: not low')
  const n = lowDiskNotice(ST, { freeBytes: 2 ** 30, thresholdBytes: 10 * 2 ** 30, now })!
  t.equal(n.key, '2026-11-30')
  t.match(n.subject, '1.0 GiB')
  t.ok(zhFirst(n.text, 'The vault'))
})

t.test('exports awaiting approval: one notice per request at once, a daily list while any is pending', async (t) => {
  const e = { id: 12, recordingIds: [1, 2], reason: '移送检察院', recipient: '检察院', requestedPerson: '012345', requestedAt: '2026-11-29T02:00:00.000Z' }
  const a = exportRequestedNotice(ST, e)
  t.equal(a.key, 'export-12')
  t.match(a.text, '#12  申请人 by 012345  时间 at 2026-11-29 10:00 +08:00  接收方 recipient 检察院  记录 recordings 1, 2  事由 reason: 移送检察院')
  t.equal(exportsPendingNotice(ST, [], new Date()), null, 'none pending: no reminder')
  const d = exportsPendingNotice(ST, [e, { ...e, id: 13 }], new Date('2026-11-30T00:00:00Z'))!
  t.equal(d.key, '2026-11-30')
  t.equal(d.items.length, 2)
})

t.test('the body, its digest and the signature: openssl computes the same HMAC over "<timestamp>.<body>"', async (t) => {
  const n = fixityFailureNotice(ST, { sha256: SHA, size: 1, failedAt: '2026-11-29T01:00:00.000Z', failure: 'missing', recordingIds: [] })
  const body = noticeBody(ST, n, '2026-11-29T01:00:05.000Z')
  t.same(Object.keys(JSON.parse(body)), ['station', 'kind', 'key', 'createdAt', 'subject', 'text', 'items'])
  t.equal(noticeDigest(body), createHash('sha256').update(body, 'utf8').digest('hex'))
  const secret = 'a-shared-secret-of-the-receiver'
  const ts = 1764378005
  const sig = signWebhook(secret, ts, body)
  const openssl = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret, '-r'], { input: `${ts}.${body}` })
    .toString()
    .split(' ')[0]
  t.equal(sig, `sha256=${openssl}`, 'the reference HMAC')
  t.ok(verifyWebhook(secret, { timestamp: String(ts), signature: sig }, body, ts + 10), 'the receiver accepts it')
  const refused: [string, Parameters<typeof verifyWebhook>][] = [
    ['a changed body', [secret, { timestamp: String(ts), signature: sig }, body.replace('missing', 'present'), ts]],
    ['a shifted timestamp', [secret, { timestamp: String(ts + 1), signature: sig }, body, ts]],
    ['a replay after the window', [secret, { timestamp: String(ts), signature: sig }, body, ts + 301]],
    ['another key', ['another-secret', { timestamp: String(ts), signature: sig }, body, ts]],
    ['no signature', [secret, { timestamp: String(ts), signature: undefined }, body, ts]],
    ['no timestamp', [secret, { timestamp: undefined, signature: sig }, body, ts]],
    ['a truncated signature', [secret, { timestamp: String(ts), signature: sig.slice(0, -2) }, body, ts]],
  ]
  for (const [what, args] of refused) t.notOk(verifyWebhook(...args), `refused: ${what}`)
})

t.test('backoff: base, doubled each time, at most an hour, none after the last attempt', async (t) => {
  const r = { maxAttempts: 8, baseSeconds: 30 }
  t.same(
    [1, 2, 3, 4, 5, 6, 7, 8].map((a) => nextAttemptDelaySeconds(a, r)),
    [30, 60, 120, 240, 480, 960, 1920, null],
  )
  t.same(
    [1, 7, 12, 13].map((a) => nextAttemptDelaySeconds(a, { maxAttempts: 13, baseSeconds: 600 })),
    [600, 3600, 3600, null],
    'capped at an hour',
  )
  t.equal(nextAttemptDelaySeconds(1, { maxAttempts: 1, baseSeconds: 30 }), null, 'one attempt: given up at once')
})

t.test('channels: two of one name are refused; kinds filter, a test notice goes everywhere', async (t) => {
  const hook = { type: 'webhook' as const, name: 'desk', url: 'http://127.0.0.1:1/', secret: { env: 'X' } }
  t.throws(() => notifySettings({ channels: [hook, { ...hook }] }), { code: 'CONFIG_INVALID' })
  t.same(notifySettings(undefined).retry, { maxAttempts: 8, baseSeconds: 30 }, 'defaults')
  t.same(notifySettings({ retry: { baseSeconds: 1 } }).retry, { maxAttempts: 8, baseSeconds: 1 }, 'a partial retry section keeps the other default')
  const only = { ...hook, kinds: ['fixity-failure' as const] }
  t.same(
    (['fixity-failure', 'low-disk', 'test'] as const).map((k) => channelTakes(only, k)),
    [true, false, true],
  )
})
