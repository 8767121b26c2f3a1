// The officer's part at the dock (issue 19) through real HTTP on loopback:
// the routes the dock screen calls with its kiosk token, an officer's police
// number and PIN in each body. What would make the promise false: a PIN
// that is "1234"; an answer that tells an unknown police number from a
// wrong PIN; a lockout that a PIN typed at the dock escapes, or that the
// sign-in page escapes after PINs; an officer classifying someone else's
// recordings, or recordings a clerk already classified; a choice that is
// not in the ledger under the officer's own account with `via: 'dock'`; a
// clerk who cannot change it afterwards; a kiosk token that can change
// anything by itself; a pool camera checked out twice, or returned by
// someone else.
import { join } from 'node:path'
import t from 'tap'
import { createAccount } from '../src/api/accounts.js'
import { buildApi } from '../src/api/app.js'
import { classifiedByClerk } from '../src/api/dock-officer.js'
import { PEOPLE_DEFAULTS } from '../src/api/people-settings.js'
import { pinProblem, setPin } from '../src/api/pins.js'
import { dockRoutes } from '../src/api/routes/dock.js'
import { makePeople } from '../src/api/sign-in.js'
import { createToken } from '../src/api/tokens.js'
import type { CameraStatus } from '../src/dock/status.js'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { importRoster } from '../src/registry/roster.js'
import { createCase } from '../src/retention/actions.js'
import { verifyVault } from '../src/verify/vault.js'
import { httpCall } from './http-support.js'
import { makeCamera, station, tempDir } from './helpers.js'

t.test('PINs: 4-8 digits; runs, repeats, years, dates, common ones and the police number refused', async (t) => {
  const cases: [string, string | null][] = [
    ['2741', null],
    ['80531', null],
    ['59173046', null],
    ['123', 'digits'],
    ['123456789', 'digits'],
    ['12a4', 'digits'],
    ['0000', 'repeated or a run'],
    ['1234', 'repeated or a run'],
    ['98765', 'repeated or a run'],
    ['7890', 'repeated or a run'],
    ['1212', 'pattern'],
    ['123123', 'pattern'],
    ['1987', 'year'],
    ['2026', 'year'],
    ['19870412', 'date'],
    ['2580', 'common'],
    ['5201314', 'common'],
    ['2345', 'repeated or a run'],
    ['4512', 'police number'],
    ['01234512', 'police number'],
  ]
  for (const [pin, why] of cases) {
    const got = pinProblem(pin, { policeNo: '234512' })
    if (why === null) t.equal(got, null, `${pin} accepted`)
    else t.match(got, new RegExp(why), `${pin} refused: ${got}`)
  }
})

t.test('a recording is "classified by a clerk" after any classifying event not from the dock', async (t) => {
  const dock = { via: 'dock' }
  const table: [string, { type: string; payload: Record<string, unknown> }[], boolean][] = [
    ['nothing yet', [{ type: 'ingested', payload: {} }], false],
    [
      'only the officer at the dock',
      [
        { type: 'category-changed', payload: dock },
        { type: 'case-linked', payload: dock },
      ],
      false,
    ],
    ['a clerk set the category', [{ type: 'category-changed', payload: {} }], true],
    [
      'a clerk linked a case after the dock',
      [
        { type: 'category-changed', payload: dock },
        { type: 'case-linked', payload: {} },
      ],
      true,
    ],
    ['a clerk marked it important', [{ type: 'importance-changed', payload: {} }], true],
    ['a view is no classification', [{ type: 'viewed', payload: {} }], false],
  ]
  for (const [what, events, want] of table) t.equal(classifiedByClerk(events), want, what)
})

t.test('the dock routes over real HTTP', async (t) => {
  const s = station(t)
  const work = tempDir(t)
  const [cam, other] = await Promise.all([
    makeCamera(join(work, 'cam'), ['--count', '6']),
    makeCamera(join(work, 'other'), ['--count', '6', '--device', 'B7C8D9E', '--officer', '004321', '--start', '2026-11-21T08:00:00']),
  ])
  const first = await s.ingest(cam)
  const second = await s.ingest(other)
  const by = { actor: 'user:os:test', component: 'cli' as const }
  for (const [username, displayName, policeNo, roles] of [
    ['wang.wei', '王伟', '012345', ['officer']],
    ['li.na', '李娜', '004321', ['officer']],
    ['zhou.x', '周翔', '007777', ['officer']],
    ['chen.clerk', '陈静', '090001', ['clerk']],
    ['admin1', 'Admin', '000001', ['admin']],
  ] as const)
    await createAccount(s.db, { username, displayName, policeNo, kind: 'person', roles }, by)
  // The clerk has a PIN too, but no officer role: the dock does not take it.
  for (const [u, pin] of [
    ['wang.wei', '2741'],
    ['li.na', '8053'],
    ['zhou.x', '3719'],
    ['chen.clerk', '6402'],
  ] as const)
    await setPin(s.db, u, pin, by)
  const policy = s.st.policy
  createCase({ db: s.db, policy, actor: 'user:chen.clerk', now: new Date() }, { number: 'A2026-001', type: 'other' })
  const rctx = { db: s.db, actor: 'user:admin1', via: 'test', zone: 'Asia/Shanghai', now: new Date() }
  await importRoster(rctx, 'units', Buffer.from('code,name,level,parent\nB1,市公安局,bureau,\nS1,城北派出所,station,B1\n'), 'csv')
  await importRoster(rctx, 'officers', Buffer.from('police_number,name,unit,active_from\n012345,王伟,S1,2026-01-01\n004321,李娜,S1,2026-01-01\n'), 'csv')
  await importRoster(rctx, 'devices', Buffer.from('device_number,unit\nA1B2C3D,S1\nB7C8D9E,S1\n'), 'csv')

  let docked: Pick<CameraStatus, 'deviceId'>[] = [{ deviceId: 'A1B2C3D' }]
  const people = makePeople(s.db, { ...PEOPLE_DEFAULTS, lockout: { afterFailures: 5, addressAfterFailures: 1000, baseSeconds: 60, maxSeconds: 900 } }, 'test')
  let officerInput = true
  const app = await buildApi(
    {
      db: s.db,
      vault: s.vault,
      logger: silentLogger(),
      station: { id: 'test-station', name: 'Test station', timezone: 'Asia/Shanghai' },
      policy,
      openChecked: s.st.openChecked,
      rateLimitPerMinute: 100_000,
      people,
    },
    async (v1) => {
      await dockRoutes(v1, {
        people,
        policy,
        get officerInput() {
          return officerInput
        },
        idleSeconds: 60,
        categories: s.st.cfg.retention.categories,
        zone: 'Asia/Shanghai',
        cameras: () => docked as CameraStatus[],
      })
    },
  )
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const kiosk = createToken(s.db, { name: 'dock screen', role: 'kiosk', actor: 'test' }).secret
  const clerkToken = createToken(s.db, { name: 'clerk', role: 'clerk', actor: 'test', user: 'chen.clerk' }).secret
  const post = (path: string, body: unknown, token = kiosk) => httpCall(`${base}/v1${path}`, { method: 'POST', token, body })
  const clips = (session: number) =>
    s.db.prepare("SELECT id FROM recordings WHERE session_id = ? AND kind <> 'sidecar' ORDER BY id").pluck().all(session) as number[]
  const mine = clips(first.sessionId)
  const hers = clips(second.sessionId)

  await t.test('the offer: categories with labels; the docked camera is a pool camera', async (t) => {
    const r = await httpCall(`${base}/v1/station/dock`, { token: kiosk })
    t.equal(r.status, 200)
    t.equal(r.json.officerInput, true)
    t.match(r.json.categories, [{ id: 'patrol', label: /日常巡查/ }])
    t.same(r.json.pool, [{ deviceNumber: 'A1B2C3D', state: 'available', policeNo: null }])
  })

  await t.test('the officer lists and classifies their recordings; each choice is a ledger event of their account, via the dock', async (t) => {
    const list = await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '012345', pin: '2741' })
    t.equal(list.status, 200)
    t.equal(list.headers['cache-control'], 'no-store')
    t.same(
      list.json.items.map((i: { id: number }) => i.id),
      mine,
      'every clip of the docking, none of the other docking',
    )
    t.match(list.json.officer, { displayName: '王伟', policeNo: '012345' })
    const [a, b, c] = mine as [number, number, number]
    const r = await post(`/station/sessions/${first.sessionId}/classify`, {
      policeNo: '012345',
      pin: '2741',
      items: [
        { recordingId: a, category: 'evidence', caseNumber: 'A2026-001' },
        { recordingId: b, category: 'patrol' },
        { recordingId: c, important: true },
      ],
    })
    t.equal(r.status, 200, JSON.stringify(r.json))
    t.same(
      r.json.items.map((i: { changed: string[] }) => i.changed),
      [['category', 'case'], ['category'], ['important']],
    )
    const evs = (id: number) => eventsFor(s.db, `recording:${id}`).filter((e) => !['ingested', 'probed', 'derived', 'retention-changed'].includes(e.type))
    t.match(evs(a), [
      { type: 'category-changed', actor: 'user:wang.wei', payload: { to: 'evidence', via: 'dock' } },
      { type: 'case-linked', actor: 'user:wang.wei', payload: { caseNumber: 'A2026-001', via: 'dock' } },
    ])
    t.match(evs(b), [{ type: 'category-changed', actor: 'user:wang.wei', payload: { to: 'patrol', via: 'dock' } }])
    t.match(evs(c), [{ type: 'importance-changed', actor: 'user:wang.wei', payload: { from: false, to: true, via: 'dock' } }])
    t.match(s.db.prepare('SELECT category, case_number AS c, important FROM recordings WHERE id = ?').get(a), { category: 'evidence', c: 'A2026-001' })
    t.equal(s.db.prepare('SELECT important FROM recordings WHERE id = ?').pluck().get(c), 1)
    // The officer may correct their own choice while no clerk has touched it; the same choice again changes nothing.
    const again = await post(`/station/sessions/${first.sessionId}/classify`, {
      policeNo: '012345',
      pin: '2741',
      items: [
        { recordingId: b, category: 'inspection' },
        { recordingId: c, important: true },
      ],
    })
    t.same(
      again.json.items.map((i: { changed: string[] }) => i.changed),
      [['category'], []],
    )
    const v = await verifyVault(s.db, s.vault)
    t.same(v.problems, [], 'verify folds the dock events: the catalog agrees with the ledger')
  })

  await t.test("another officer's recordings are refused, all or none", async (t) => {
    const theirs = await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '004321', pin: '8053' })
    t.same(theirs.json.items, [], "li.na sees none of wang.wei's docking")
    const r = await post(`/station/sessions/${first.sessionId}/classify`, {
      policeNo: '004321',
      pin: '8053',
      items: [{ recordingId: mine[3]!, category: 'patrol' }],
    })
    t.equal(r.status, 403)
    t.equal(r.json.error.code, 'NOT_YOUR_RECORDING')
    const mixed = await post(`/station/sessions/${second.sessionId}/classify`, {
      policeNo: '004321',
      pin: '8053',
      items: [
        { recordingId: hers[0]!, category: 'patrol' },
        { recordingId: mine[3]!, category: 'patrol' },
      ],
    })
    t.equal(mixed.json.error.code, 'NOT_YOUR_RECORDING')
    t.equal(s.db.prepare('SELECT category FROM recordings WHERE id = ?').pluck().get(hers[0]), null, 'all or none: her own recording is unchanged too')
    const unknownCase = await post(`/station/sessions/${second.sessionId}/classify`, {
      policeNo: '004321',
      pin: '8053',
      items: [{ recordingId: hers[0]!, caseNumber: 'NO-SUCH-1' }],
    })
    t.equal(unknownCase.json.error.code, 'CASE_NOT_FOUND', 'a case number must exist (a clerk registers cases)')
  })

  await t.test('a clerk changes the category later, with a reason; after that the dock refuses it', async (t) => {
    const b = mine[1]!
    const noReason = await httpCall(`${base}/v1/recordings/${b}/category`, { method: 'PUT', token: clerkToken, body: { category: 'evidence' } })
    t.equal(noReason.status, 400, 'a clerk needs a reason')
    const r = await httpCall(`${base}/v1/recordings/${b}/category`, {
      method: 'PUT',
      token: clerkToken,
      body: { category: 'evidence', reason: 'the officer reported it as evidence by phone' },
    })
    t.equal(r.status, 200, JSON.stringify(r.json))
    t.match(eventsFor(s.db, `recording:${b}`).at(-2), { type: 'category-changed', actor: 'user:chen.clerk', payload: { to: 'evidence' } })
    const list = await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '012345', pin: '2741' })
    t.match(
      list.json.items.find((i: { id: number }) => i.id === b),
      { locked: true, category: 'evidence' },
    )
    const refused = await post(`/station/sessions/${first.sessionId}/classify`, {
      policeNo: '012345',
      pin: '2741',
      items: [{ recordingId: b, category: 'patrol' }],
    })
    t.equal(refused.status, 409)
    t.equal(refused.json.error.code, 'ALREADY_CLASSIFIED')
  })

  await t.test('wrong PINs: one answer whether the police number exists; the lockout holds and is the sign-in lockout', async (t) => {
    const answers = []
    for (const body of [
      { policeNo: '007777', pin: '1111' }, // an officer, a wrong PIN
      { policeNo: '999999', pin: '3719' }, // nobody
      { policeNo: '090001', pin: '6402' }, // a clerk with a PIN: not an officer
    ]) {
      const r = await post(`/station/sessions/${first.sessionId}/recordings`, body)
      answers.push({ status: r.status, json: r.json })
    }
    t.same(answers[0], answers[1], 'unknown police number: the same answer as a wrong PIN')
    t.same(answers[0], answers[2], 'a clerk has no officer PIN here: the same answer')
    t.match(answers[0], { status: 401, json: { error: { code: 'DOCK_SIGN_FAILED' } } })
    for (let i = 0; i < 4; i++) await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '007777', pin: '1111' })
    const locked = await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '007777', pin: '3719' })
    t.equal(locked.status, 429, 'the right PIN is refused while locked out')
    t.equal(locked.json.error.code, 'SIGN_IN_LOCKED')
    t.ok(Number(locked.headers['retry-after']) > 0, 'Retry-After')
    const signIn = await httpCall(`${base}/v1/session`, { method: 'POST', body: { username: 'zhou.x', password: 'whatever-it-is-1' } })
    t.equal(signIn.status, 429, "the same account's sign-in is locked too")
    for (let i = 0; i < 5; i++) await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '999998', pin: '3719' })
    const ghost = await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '999998', pin: '3719' })
    t.equal(ghost.status, 429, 'an unknown police number locks the same way: nothing tells them apart')
    const fine = await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '012345', pin: '2741' })
    t.equal(fine.status, 200, 'another officer at the same screen is not locked out')
  })

  await t.test('the kiosk token alone changes nothing; other tokens cannot sign at the dock; off unless configured', async (t) => {
    const noPin = await post(`/station/sessions/${first.sessionId}/classify`, { policeNo: '012345', items: [{ recordingId: mine[0]!, category: 'patrol' }] })
    t.equal(noPin.status, 400)
    const asClerk = await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '012345', pin: '2741' }, clerkToken)
    t.equal(asClerk.status, 403, 'dock:sign is the kiosk right')
    const catChange = await httpCall(`${base}/v1/recordings/${mine[0]}/category`, { method: 'PUT', token: kiosk, body: { category: 'patrol', reason: 'x' } })
    t.equal(catChange.status, 403, 'the kiosk still cannot categorise by itself')
    officerInput = false
    const off = await post(`/station/sessions/${first.sessionId}/recordings`, { policeNo: '012345', pin: '2741' })
    t.equal(off.json.error.code, 'DOCK_INPUT_OFF')
    t.match((await httpCall(`${base}/v1/station/dock`, { token: kiosk })).json, { officerInput: false, pool: [] })
    officerInput = true
  })

  await t.test('pool camera: checked out at the screen, not twice, returned only by its holder, only while docked', async (t) => {
    const out = await post('/station/devices/A1B2C3D/checkout', { policeNo: '004321', pin: '8053' })
    t.equal(out.status, 200, JSON.stringify(out.json))
    t.match(out.json.assignment, { deviceNumber: 'A1B2C3D', policeNumber: '004321', validTo: null })
    const ev = eventsFor(s.db, `assignment:${out.json.assignment.id}`)
    t.match(ev, [{ type: 'device-assigned', actor: 'user:li.na', payload: { kind: 'checkout', policeNumber: '004321' } }])
    t.match((await httpCall(`${base}/v1/station/dock`, { token: kiosk })).json.pool, [{ deviceNumber: 'A1B2C3D', state: 'checked-out', policeNo: '004321' }])
    const twice = await post('/station/devices/A1B2C3D/checkout', { policeNo: '012345', pin: '2741' })
    t.equal(twice.json.error.code, 'NOT_POOL')
    const notHers = await post('/station/devices/A1B2C3D/return', { policeNo: '012345', pin: '2741' })
    t.equal(notHers.json.error.code, 'NOT_POOL', 'only the holder returns it')
    const away = await post('/station/devices/B7C8D9E/checkout', { policeNo: '004321', pin: '8053' })
    t.equal(away.json.error.code, 'NOT_DOCKED')
    const back = await post('/station/devices/A1B2C3D/return', { policeNo: '004321', pin: '8053' })
    t.equal(back.status, 200)
    t.match(eventsFor(s.db, `assignment:${out.json.assignment.id}`).at(-1), { type: 'device-returned', actor: 'user:li.na' })
    docked = []
    t.same((await httpCall(`${base}/v1/station/dock`, { token: kiosk })).json.pool, [])
  })

  await t.test('set-pin: the admin API refuses weak PINs; the event never holds the PIN', async (t) => {
    const admin = createToken(s.db, { name: 'admin', role: 'admin', actor: 'test', user: 'admin1' }).secret
    const weak = await httpCall(`${base}/v1/users/li.na/pin`, { method: 'PUT', token: admin, body: { pin: '1234' } })
    t.equal(weak.status, 400)
    t.equal(weak.json.error.code, 'PIN_POLICY')
    const ok = await httpCall(`${base}/v1/users/li.na/pin`, { method: 'PUT', token: admin, body: { pin: '6180' } })
    t.equal(ok.status, 200)
    const last = eventsFor(s.db, 'user:li.na').at(-1)!
    t.match(last, { type: 'pin-set', actor: 'user:admin1', payload: { user: 'li.na', cleared: false } })
    t.notMatch(JSON.stringify(last), /6180/, 'no PIN in the ledger')
    t.equal((await post(`/station/sessions/${second.sessionId}/recordings`, { policeNo: '004321', pin: '8053' })).status, 401, 'the old PIN no longer works')
    t.equal((await post(`/station/sessions/${second.sessionId}/recordings`, { policeNo: '004321', pin: '6180' })).status, 200)
    const kioskTry = await httpCall(`${base}/v1/users/li.na/pin`, { method: 'PUT', token: kiosk, body: { pin: '6181' } })
    t.equal(kioskTry.status, 403)
  })
})
