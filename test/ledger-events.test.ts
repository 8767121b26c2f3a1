// The ledger's vocabulary (src/ledger/events.ts): builders spell actors and
// subjects as ledgers already hold them, and appendEvent refuses, at compile
// time, what is not in the vocabulary. The `@ts-expect-error` lines below
// are checked by `tsc -p tsconfig.test.json` (scripts/test runs it): if one
// of them compiled, the type check of the suite fails.
import { join } from 'node:path'
import t from 'tap'
import { openCatalog, type Db } from '../src/catalog/db.js'
import { actors, splitSubject, subjects } from '../src/ledger/events.js'
import { appendEvent, eventsFor, walkChain, type ChainProblem } from '../src/ledger/ledger.js'
import { tempDir } from './helpers.js'

t.test('builders spell actors and subjects as the ledger has them', async (t) => {
  t.equal(actors.station('station-01'), 'station:station-01')
  t.equal(actors.token(7), 'token:7')
  t.equal(actors.user('wang.li'), 'user:wang.li')
  t.equal(subjects.recording(42), 'recording:42')
  t.equal(subjects.session(3), 'session:3')
  t.equal(subjects.case('(2026)执法123号'), 'case:(2026)执法123号')
  t.equal(subjects.object('ab'.repeat(32)), `object:${'ab'.repeat(32)}`)
  t.equal(subjects.token(9), 'token:9')
  t.equal(subjects.export(5), 'export:5')
  t.equal(subjects.device('A1B2C3D'), 'device:A1B2C3D')
  t.equal(subjects.officer('012345'), 'officer:012345')
  t.equal(subjects.station('station-01'), 'station:station-01')
  t.same(splitSubject(subjects.recording(42)), { kind: 'recording', id: '42' })
  t.same(splitSubject(subjects.object('ab'.repeat(32))), { kind: 'object', id: 'ab'.repeat(32) })
  t.same(splitSubject('event:1:2'), { kind: 'event', id: '1:2' }, 'only the first colon separates')
})

t.test('an event of the vocabulary is appended, chained and read back as written', async (t) => {
  const db = openCatalog(join(tempDir(t), 'catalog.db'))
  t.teardown(() => db.close())
  const ev = appendEvent(db, {
    type: 'case-created',
    actor: actors.user('wang'),
    subject: subjects.case('A-1'),
    payload: { caseNumber: 'A-1', type: 'penalty-general-procedure', title: null, openedAt: '2026-11-20T00:00:00.000Z' },
  })
  appendEvent(db, {
    type: 'case-reopened',
    actor: actors.user('li'),
    subject: subjects.case('A-1'),
    payload: { caseNumber: 'A-1', reason: 'review' },
  })
  const back = eventsFor(db, 'case:A-1')
  t.same(
    back.map((e) => [e.type, e.actor]),
    [
      ['case-created', 'user:wang'],
      ['case-reopened', 'user:li'],
    ],
  )
  t.same(back[0]!.payload, ev.payload)
  const problems: ChainProblem[] = []
  t.equal([...walkChain(db, problems)].length, 2)
  t.same(problems, [])
})

/** Never called: each statement is a mistake appendEvent must not compile. */
function mistakes(db: Db): void {
  // @ts-expect-error an unknown event type
  appendEvent(db, { type: 'recording-deleted', actor: actors.station('s'), subject: subjects.recording(1), payload: { recordingId: 1 } })
  // @ts-expect-error a field missing from the payload (hold-placed needs holdId)
  appendEvent(db, { type: 'hold-placed', actor: actors.user('wang'), subject: subjects.recording(1), payload: { recordingId: 1, reason: 'x' } })
  appendEvent(db, {
    type: 'hold-released',
    actor: actors.user('wang'),
    subject: subjects.recording(1),
    // @ts-expect-error a field the payload does not have
    payload: { holdId: 1, recordingId: 1, reason: 'x', note: 'extra' },
  })
  appendEvent(db, {
    type: 'evicted',
    actor: actors.station('s'),
    subject: subjects.object('ab'),
    // @ts-expect-error a field of the wrong type (size is a number)
    payload: { sha256: 'ab', size: '12', versionId: 'v', reason: 'old' },
  })
  // @ts-expect-error a subject of the wrong kind (a purge is about a recording, not an object)
  appendEvent(db, {
    type: 'purged',
    actor: actors.station('s'),
    subject: subjects.object('ab'),
    payload: {
      recordingId: 1,
      sha256: 'ab',
      size: 1,
      rule: 'category-period',
      ruleRef: 'patrol',
      deadline: '2027-01-01T00:00:00.000Z',
      purgeAfter: '2027-01-08T00:00:00.000Z',
      graceDays: 7,
      reason: 'due',
      objects: [],
      remoteDeleteQueued: [],
      retentionEventSeq: null,
    },
  })
  // @ts-expect-error a subject spelled by hand that is no subject at all
  appendEvent(db, { type: 'token-revoked', actor: actors.token(1), subject: 'tokens/1', payload: { tokenId: 1 } })
}
void mistakes
