// The dock screen's pure parts (web/src): what a camera's status shows, the
// message catalogs against the station glossary, number and time formats,
// the kiosk credential's hand-over. Tables a station manager could read.
import t from 'tap'
import type { CameraState } from '../src/dock/status.js'
import { CAMERA_STATES } from '../src/dock/status.js'
import { takeToken, forgetToken, type Store } from '../web/src/lib/credential.js'
import { formatBytes, formatDuration } from '../web/src/lib/format.js'
import { CATALOGS, LANGS, pickLang, translate } from '../web/src/lib/i18n.js'
import { justLeft, tileView } from '../web/src/station/present.js'

t.test('what each state tells the officer', async (t) => {
  const bytes = { done: 50, total: 200 }
  const files = { done: 1, total: 4 }
  // state -> [Chinese words on the tile (the glossary's), tone, what to do with the camera]
  const table: Record<CameraState, [string, string, string]> = {
    detected: ['已识别', 'waiting', 'wait'],
    unlocking: ['正在解锁', 'waiting', 'wait'],
    queued: ['排队中', 'waiting', 'wait'],
    copying: ['正在采集', 'busy', 'wait'],
    verifying: ['正在校验', 'busy', 'wait'],
    wiping: ['正在清除记录仪', 'busy', 'wait'],
    'safe-to-undock': ['采集完成，可以拔出', 'safe', 'safe'],
    error: ['出错', 'error', 'redock'],
  }
  t.same(Object.keys(table).sort(), [...CAMERA_STATES].sort(), 'every state the daemon has is in the table')
  for (const state of CAMERA_STATES) {
    const v = tileView({ state, bytes, files })
    const [words, tone, undock] = table[state]
    t.equal(translate('zh-CN', v.stateKey), words, `${state}: ${words}`)
    t.equal(v.tone, tone, `${state}: tone ${tone}`)
    t.equal(v.undock, undock, `${state}: ${undock}`)
  }
  t.equal(translate('zh-CN', 'tile.doNotUndock'), '采集未完成，请勿拔出', 'the glossary\'s "not complete: do not undock"')
  t.equal(translate('en', 'state.safe-to-undock'), 'SAFE TO UNDOCK')
})

t.test('progress: from bytes, never past 100, 100 only when safe', async (t) => {
  const cases: [CameraState, { done: number; total: number }, { done: number; total: number }, number][] = [
    ['copying', { done: 0, total: 0 }, { done: 0, total: 0 }, 0],
    ['copying', { done: 1, total: 3 }, { done: 0, total: 2 }, 33],
    ['copying', { done: 0, total: 0 }, { done: 1, total: 2 }, 50],
    ['verifying', { done: 999, total: 1000 }, { done: 1, total: 1 }, 99],
    ['verifying', { done: 1200, total: 1000 }, { done: 1, total: 1 }, 100],
    ['safe-to-undock', { done: 0, total: 0 }, { done: 0, total: 0 }, 100],
  ]
  for (const [state, bytes, files, percent] of cases) t.equal(tileView({ state, bytes, files }).percent, percent, `${state} ${bytes.done}/${bytes.total}`)
  const none = { done: 0, total: 0 }
  t.match(tileView({ state: 'copying', bytes: none, files: none }), { surveying: true, moving: false }, 'no totals yet: no rate, no ETA of 0 s')
  t.match(tileView({ state: 'copying', bytes: { done: 0, total: 9 }, files: { done: 0, total: 1 } }), { surveying: false, moving: true })
  t.match(tileView({ state: 'queued', bytes: none, files: none }), { surveying: false, moving: false })
})

t.test('cameras that just left: within 15 minutes of the station clock, newest first, at most 6', async (t) => {
  const now = '2026-11-29T10:00:00.000Z'
  const r = (id: string, minutesAgo: number) => ({
    id,
    endedAt: new Date(Date.parse(now) - minutesAgo * 60_000).toISOString(),
  })
  const recent = [r('a', 1), r('b', 14), r('c', 16)]
  t.same(
    justLeft(recent, now).map((x) => x.id),
    ['a', 'b'],
  )
  const many = Array.from({ length: 9 }, (_, i) => r(`m${i}`, i))
  t.equal(justLeft(many, now).length, 6)
})

t.test('catalogs: the same keys in every language, nothing empty, placeholders alike', async (t) => {
  const keys = Object.keys(CATALOGS['zh-CN']).sort()
  for (const lang of LANGS) {
    t.same(Object.keys(CATALOGS[lang]).sort(), keys, `${lang} has every key`)
    for (const k of keys) {
      const msg = CATALOGS[lang][k as keyof (typeof CATALOGS)['zh-CN']]
      t.ok(msg.trim().length > 0, `${lang} ${k} is not empty`)
      const names = (m: string): string[] => [...m.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!).sort()
      t.same(names(msg), names(CATALOGS['zh-CN'][k as keyof (typeof CATALOGS)['zh-CN']]), `${lang} ${k}: same placeholders`)
    }
  }
  t.equal(translate('zh-CN', 'tile.policeNo', { no: '012345' }), '警号 012345', 'police numbers keep their leading zero')
  t.equal(translate('en', 'tile.files', { done: 3 }), '3 / {total} files', 'a missing value stays visible')
  t.equal(pickLang(null, null), 'zh-CN', 'Chinese by default')
  t.equal(pickLang('en', 'zh-CN'), 'en', '?lang= first')
  t.equal(pickLang('fr', 'en'), 'en', 'then what this browser chose')
  t.equal(pickLang('<script>', null), 'zh-CN')
})

t.test('numbers and durations', async (t) => {
  const bytes: [number, string, string][] = [
    [0, '0 B', '0 B'],
    [999, '999 B', '999 B'],
    [1000, '1.00 KB', '1.00 KB'],
    [423_456_789, '423 MB', '423 MB'],
    [12_345_678_901, '12.3 GB', '12.3 GB'],
  ]
  for (const [n, zh, en] of bytes) {
    t.equal(formatBytes('zh-CN', n), zh)
    t.equal(formatBytes('en', n), en)
  }
  const durations: [number, string, string][] = [
    [0, '0 秒', '0 s'],
    [59.4, '59 秒', '59 s'],
    [200, '3 分 20 秒', '3 min 20 s'],
    [3900, '1 小时 5 分', '1 h 5 min'],
  ]
  for (const [s, zh, en] of durations) {
    t.equal(formatDuration('zh-CN', s), zh)
    t.equal(formatDuration('en', s), en)
  }
})

t.test('the kiosk credential: taken from the fragment once, kept, then out of the address bar', async (t) => {
  const kept = new Map<string, string>()
  const store: Store = {
    getItem: (k) => kept.get(k) ?? null,
    setItem: (k, v) => void kept.set(k, v),
    removeItem: (k) => void kept.delete(k),
  }
  const replaced: string[] = []
  const history = { replaceState: (_d: unknown, _u: string, url: string) => void replaced.push(url) }
  t.equal(takeToken({ hash: '', pathname: '/station', search: '' }, store, history), null, 'none yet')
  t.equal(takeToken({ hash: '#token=bv_abc%2Bdef', pathname: '/station', search: '?lang=en' }, store, history), 'bv_abc+def')
  t.same(replaced, ['/station?lang=en'], 'the fragment leaves the address bar, the rest stays')
  t.equal(takeToken({ hash: '', pathname: '/station', search: '' }, store, history), 'bv_abc+def', 'kept for the next load')
  t.equal(takeToken({ hash: '#x=1&token=bv_new', pathname: '/station', search: '' }, store), 'bv_new', 'a new address replaces it')
  forgetToken(store)
  t.equal(takeToken({ hash: '', pathname: '/station', search: '' }, store), null, 'forgotten when the station refuses it')
})
