import t from 'tap'
import { searchRecordings, type SearchQuery } from '../src/catalog/search.js'
import { recordIngested } from '../src/ingest/record.js'
import { station } from './helpers.js'

t.test('search: filters, stable keyset pages, file-name text, uncategorised', async (t) => {
  const s = station(t)
  const officers = ['000001', '000002', '000003']
  for (let i = 0; i < 120; i++) {
    const at = new Date(Date.UTC(2026, 10, 1) + Math.floor(i / 2) * 3600_000).toISOString() // pairs share a time
    recordIngested(
      s.db,
      {
        sha256: i.toString(16).padStart(64, '0'),
        size: 1000 + i,
        kind: i % 10 === 0 ? 'photo' : 'video',
        sourcePath: `DCIM/100MEDIA/DEV${i % 2}_${officers[i % 3]}_${i}${i % 7 === 0 ? '_IMP' : ''}.MP4`,
        stationId: i % 4 === 0 ? 'east' : 'west',
        deviceId: `DEV${i % 2}`,
        officerId: officers[i % 3]!,
        recordedAt: at,
        recordedOffset: '+08:00',
        recordedSource: 'filename',
        important: i % 7 === 0,
        category: i % 5 === 0 ? 'patrol' : null,
        caseNumber: null,
        profileId: 'gat947',
        sessionId: null,
      },
      'test',
    )
  }
  const all = (q: SearchQuery): number[] => {
    const ids: number[] = []
    let cursor: string | undefined
    for (let guard = 0; guard < 100; guard++) {
      const page = searchRecordings(s.db, { ...q, cursor, limit: 7 })
      ids.push(...page.items.map((r) => r.id))
      if (!page.nextCursor) return ids
      cursor = page.nextCursor
    }
    throw new Error('did not end')
  }
  const everything = all({})
  t.equal(everything.length, 120, 'pages cover everything')
  t.equal(new Set(everything).size, 120, 'no duplicates across pages')
  const asc = all({ sort: 'recordedAt' })
  t.same(
    asc,
    [...asc].sort((a, b) => a - b),
    'ascending by time then id (ids were inserted in time order)',
  )
  t.same(everything, [...asc].reverse(), 'descending is the exact reverse')

  const q = { officerId: '000002', deviceId: 'DEV1' }
  const got = all(q)
  t.ok(got.length > 0)
  for (const id of got) {
    const r = searchRecordings(s.db, { ...q, limit: 1000 }).items.find((x) => x.id === id)!
    t.same([r.officerId, r.deviceId], ['000002', 'DEV1'])
  }
  t.equal(all({ important: true }).length, 18)
  t.equal(all({ category: 'patrol' }).length, 24)
  t.equal(all({ category: null }).length, 96, 'uncategorised')
  t.equal(all({ stationId: 'east' }).length, 30)
  t.equal(all({ kind: 'photo' }).length, 12)
  t.equal(all({ from: '2026-11-01T10:00:00.000Z', to: '2026-11-01T12:00:00.000Z' }).length, 4, 'from inclusive, to exclusive')
  t.equal(all({ text: '_IMP' }).length, 18, 'a word of the file name')
  t.equal(all({ text: 'DEV1_000002' }).length, 20, 'words in order')
  t.equal(all({ text: 'DEV1_0000' }).length, 60, 'the last word by its start')
  t.equal(all({ text: 'EV1' }).length, 0, 'not the middle of a word')
  t.equal(all({ text: 'imp' }).length, 18, 'case-insensitive')
  t.equal(all({ text: '99' }).length, 1, 'short words too')
  t.equal(all({ text: '%' }).length, 0, 'text without letters or digits: LIKE, wildcards literal')
  t.equal(all({ text: '.' }).length, 120, 'a literal dot is in every name')
  t.equal(all({ text: '"; DROP TABLE recordings; --' }).length, 0, 'quotes are data')
  t.throws(() => searchRecordings(s.db, { cursor: 'garbage' }), /cursor is not one this search returned/)
  const c = searchRecordings(s.db, { limit: 1 }).nextCursor!
  t.throws(() => searchRecordings(s.db, { cursor: c, sort: 'ingestedAt' }), /cursor is not one/, 'a cursor belongs to its sort')
})
