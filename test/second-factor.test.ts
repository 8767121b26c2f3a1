import { mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createAccount } from '../src/api/accounts.js'
import { buildApi } from '../src/api/app.js'
import { authSettings } from '../src/api/auth-settings.js'
import { PEOPLE_DEFAULTS } from '../src/api/people-settings.js'
import { enrolmentAnswer, stepUpAnswer } from '../src/api/second-factor.js'
import { openSecret, secondFactorKey, secondFactorKeyPath } from '../src/api/second-factor-key.js'
import { makePeople } from '../src/api/sign-in.js'
import { createToken } from '../src/api/tokens.js'
import { matchTotp, totpCode } from '../src/api/totp.js'
import { silentLogger } from '../src/common/log.js'
import { loadConfig } from '../src/config/load.js'
import { retentionPolicy } from '../src/retention/config.js'
import { NO_SYSTEM_CONFIG, station, tempDir } from './helpers.js'
import { type HttpResult, httpCall } from './http-support.js'

/**
 * The second factor (issue 23) from its threats: a code taken twice, a code
 * from too long ago, a recovery code used twice, a secret readable from the
 * catalog alone, an approval or a hold inside an old session without a
 * fresh code, six digits guessed by a stolen session. The clock is the
 * People's (`now`), moved by this test; codes are computed as an
 * authenticator app computes them (RFC 6238, HMAC-SHA-1, 6 digits, 30 s).
 */

t.test('RFC 6238 appendix B vector and the window, as a table', async (t) => {
  // Appendix B: the SHA-1 secret "12345678901234567890" gives 94287082 at T = 59 s (8 digits); 6 digits are its last six.
  const rfc = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
  t.equal(totpCode(rfc, 59_000), '287082')
  t.equal(matchTotp(rfc, '287082', 59_000, 0), 1, 'matches step 1')
  t.equal(totpCode(rfc, 1_111_111_109_000), '081804', 'appendix B, T = 1111111109')
  const now = 1_700_000_000_000
  const cases: [string, number, number, number | null][] = [
    ['the current step', now, 1, 1_700_000_000_000 / 30_000],
    ['one step behind (window 1)', now - 30_000, 1, Math.floor(now / 30_000) - 1],
    ['one step ahead (window 1)', now + 30_000, 1, Math.floor(now / 30_000) + 1],
    ['two steps behind (window 1)', now - 60_000, 1, null],
    ['one step behind (window 0)', now - 30_000, 0, null],
  ]
  for (const [what, codeAt, window, step] of cases) {
    const got = matchTotp(rfc, totpCode(rfc, codeAt), now, window)
    t.equal(got, step === null ? null : Math.floor(step), what)
  }
  t.equal(matchTotp(rfc, '12345', now, 1), null, 'five digits')
  t.equal(matchTotp(rfc, 'abcdef', now, 1), null, 'not digits')
})

t.test('step-up rule, as a table', async (t) => {
  const now = Date.parse('2026-01-01T12:00:00Z')
  const base = {
    via: 'session' as const,
    person: true,
    stepUp: true,
    enrolment: 'ok' as const,
    enrolled: true,
    factorAt: null,
    nowMs: now,
    windowMinutes: 5,
  }
  const rows: [string, Partial<Parameters<typeof stepUpAnswer>[0]>, string][] = [
    ["a person's bearer token: it cannot give a code", { via: 'token' }, 'session'],
    ["a person's bearer token, with a fresh code in some session", { via: 'token', factorAt: new Date(now).toISOString() }, 'session'],
    ["a person's bearer token, step-up turned off", { via: 'token', stepUp: false }, 'ok'],
    ["a service account's token, step-up turned off", { via: 'token', person: false, stepUp: false }, 'session'],
    ['enrolled, never gave a code in this session', {}, 'step-up'],
    ['enrolled, code 4 min ago', { factorAt: new Date(now - 4 * 60_000).toISOString() }, 'ok'],
    ['enrolled, code 5 min ago (the edge)', { factorAt: new Date(now - 5 * 60_000).toISOString() }, 'ok'],
    ['enrolled, code 5 min 1 s ago', { factorAt: new Date(now - 5 * 60_000 - 1000).toISOString() }, 'step-up'],
    ['enrolled, a code from the future (clock moved back)', { factorAt: new Date(now + 60_000).toISOString() }, 'step-up'],
    ['enrolled, step-up turned off', { stepUp: false }, 'ok'],
    ['not enrolled, role needs one, in the grace days', { enrolled: false, enrolment: 'grace' }, 'ok'],
    ['not enrolled, role needs one, past the grace days', { enrolled: false, enrolment: 'enrol' }, 'enrol'],
    ['not enrolled, must enrol, step-up turned off', { enrolled: false, enrolment: 'enrol', stepUp: false }, 'enrol'],
    ['not enrolled, role needs none', { enrolled: false }, 'ok'],
  ]
  for (const [what, over, want] of rows) t.equal(stepUpAnswer({ ...base, ...over }), want, what)
})

t.test('enrolment rule, as a table', async (t) => {
  const created = '2026-01-01T00:00:00Z'
  const day = 86_400_000
  const base = { roleRequires: true, enrolled: false, createdAt: created, graceDays: 0, nowMs: Date.parse(created) + 1000 }
  const rows: [string, Partial<Parameters<typeof enrolmentAnswer>[0]>, string][] = [
    ['required, none, no grace (the default)', {}, 'enrol'],
    ['required, enrolled', { enrolled: true }, 'ok'],
    ['not required', { roleRequires: false }, 'ok'],
    ['required, none, day 6 of 7 grace days', { graceDays: 7, nowMs: Date.parse(created) + 6 * day }, 'grace'],
    ['required, none, 7 grace days just over', { graceDays: 7, nowMs: Date.parse(created) + 7 * day }, 'enrol'],
    ['required, none, an old account, 7 grace days', { graceDays: 7, nowMs: Date.parse(created) + 400 * day }, 'enrol'],
  ]
  for (const [what, over, want] of rows) t.equal(enrolmentAnswer({ ...base, ...over }), want, what)
})

t.test('enrolment, sign-in with a code, reuse, recovery codes, step-up for approvals and holds, reset', async (t) => {
  const s = station(t)
  // Recordings to approve and hold: a camera of small files (their bytes do not matter here).
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  for (const n of [1, 2]) writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_20260110080000_000${n}.MP4`), Buffer.alloc(40_000, n))
  const ingest = await s.ingest(cam)
  const rec = ingest.ingested.map((r) => r.id)
  let nowMs = Date.parse('2026-03-01T08:00:10Z')
  const clock = () => new Date(nowMs)
  const keyPath = secondFactorKeyPath(s.dataDir)
  const auth = authSettings({ secondFactor: { stepUpMinutes: 5 } })
  const settings = { ...PEOPLE_DEFAULTS, lockout: { afterFailures: 3, addressAfterFailures: 1000, baseSeconds: 2, maxSeconds: 60 } }
  const people = makePeople(s.db, settings, 'test-station', clock, { auth, keyPath, issuer: 'bodyvault Test' })
  const app = await buildApi({
    db: s.db,
    vault: s.vault,
    logger: silentLogger(),
    station: { id: 'test-station', name: 'Test station', timezone: 'Asia/Shanghai' },
    policy: retentionPolicy(loadConfig({ env: { ...NO_SYSTEM_CONFIG } })),
    openChecked: s.st.openChecked,
    rateLimitPerMinute: 100_000,
    people,
  })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())

  const by = { actor: 'user:os:test', component: 'cli' as const }
  const good = 'Correct-Horse-Battery-Staple-7'
  for (const [username, policeNo, roles] of [
    ['admin1', '000001', ['admin']],
    ['li.clerk', '010001', ['clerk']],
    ['wang.sup', '020002', ['supervisor']],
  ] as const) {
    const pw = (await createAccount(s.db, { username, displayName: username, policeNo, kind: 'person', roles }, by)).password!
    const first = await httpCall(`${base}/v1/session`, { method: 'POST', body: { username, password: pw, newPassword: good } })
    t.equal(first.status, 200, `${username}: first sign-in`)
  }
  const signIn = (username: string, extra: Record<string, unknown> = {}) =>
    httpCall(`${base}/v1/session`, { method: 'POST', body: { username, password: good, ...extra } })
  type Signed = { cookie: string; csrf: string }
  const signed = (r: HttpResult): Signed => {
    if (r.status !== 200) throw new Error(`sign-in: ${r.status} ${JSON.stringify(r.json)}`)
    return { cookie: String(r.headers['set-cookie']).split(';')[0]!, csrf: r.json.csrfToken }
  }
  const as = (who: Signed, method = 'GET', body?: unknown) => ({
    method,
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: base },
    ...(body !== undefined ? { body } : {}),
  })
  const events = (type: string) =>
    (s.db.prepare('SELECT actor, payload FROM events WHERE type = ? ORDER BY seq').all(type) as { actor: string; payload: string }[]).map((e) => ({
      actor: e.actor,
      ...JSON.parse(e.payload),
    }))

  // A supervisor without a factor signs in with the password alone and is told the role needs one.
  const w0 = await signIn('wang.sup')
  t.same(w0.json.secondFactor, { enrolled: false, pending: false, required: true, recoveryCodesLeft: 0, graceUntil: null }, 'told to enrol')
  const wang0 = signed(w0)
  // Until enrolled, the session may only enrol, see itself, change its password and sign out (no grace days configured).
  for (const [what, path] of [
    ['search', '/v1/recordings'],
    ['exports', '/v1/exports'],
    ['the statistics', '/v1/stats'],
  ] as const) {
    const r = await httpCall(`${base}${path}`, as(wang0))
    t.same([r.status, r.json.error?.code], [403, 'SECOND_FACTOR_ENROLMENT_REQUIRED'], `before enrolling: no ${what}`)
  }
  t.equal((await httpCall(`${base}/v1/session`, as(wang0))).status, 200, 'before enrolling: who am I')
  t.equal((await httpCall(`${base}/v1/session/second-factor`, as(wang0))).status, 200, 'before enrolling: the status')
  // Enrolling asks the current password again: a session left open on a desk is not enough.
  const noPw = await httpCall(`${base}/v1/session/second-factor`, as(wang0, 'POST', {}))
  t.same([noPw.status, noPw.json.error.code], [400, 'BAD_REQUEST'], 'enrolling without the password')
  const badPw = await httpCall(`${base}/v1/session/second-factor`, as(wang0, 'POST', { password: 'not-the-password' }))
  t.same([badPw.status, badPw.json.error.code], [401, 'SIGN_IN_FAILED'], 'enrolling with a wrong password')
  t.equal((s.db.prepare('SELECT count(*) AS n FROM second_factors').get() as { n: number }).n, 0, 'nothing pending after a wrong password')
  const begun = await httpCall(`${base}/v1/session/second-factor`, as(wang0, 'POST', { password: good }))
  t.equal(begun.status, 200, 'enrolment begun')
  const secret: string = begun.json.secret
  t.match(begun.json.uri, /^otpauth:\/\/totp\/bodyvault%20Test:wang\.sup\?issuer=bodyvault%20Test&secret=[A-Z2-7]{32}&algorithm=SHA1&digits=6&period=30$/)
  t.match(begun.json.qrSvg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'the QR code is drawn here, as SVG')
  t.equal(begun.headers['cache-control'], 'no-store')
  // The catalog alone gives nobody the secret: sealed with the key beside the station key (0600), bound to the account.
  const row = s.db.prepare('SELECT user_id AS id, secret FROM second_factors').get() as { id: number; secret: string }
  t.notMatch(row.secret, secret, 'no plain secret in the catalog')
  t.equal(statSync(keyPath).mode & 0o777, 0o600, 'the key file is 0600')
  t.equal(openSecret(secondFactorKey(keyPath, false), row.secret, `user:${row.id}`), secret, 'opens with the key, for this account')
  t.throws(() => openSecret(secondFactorKey(keyPath, false), row.secret, `user:${row.id + 1}`), { code: 'SECOND_FACTOR_KEY' }, 'not moved to another account')

  const wrong = await httpCall(`${base}/v1/session/second-factor/confirm`, as(wang0, 'POST', { code: totpCode(secret, nowMs - 120_000) }))
  t.equal(wrong.json.error.code, 'SECOND_FACTOR_INVALID', 'a code from 2 minutes ago does not confirm')
  const confirmed = await httpCall(`${base}/v1/session/second-factor/confirm`, as(wang0, 'POST', { code: totpCode(secret, nowMs) }))
  t.equal(confirmed.status, 200)
  const recovery: string[] = confirmed.json.recoveryCodes
  t.equal(recovery.length, 10, 'ten recovery codes, shown once')
  t.equal(new Set(recovery).size, 10)
  t.match(events('second-factor-enrolled'), [{ actor: 'user:wang.sup', user: 'wang.sup', method: 'totp', recoveryCodes: 10, outcome: 'success' }])

  // Sign-in now needs the code; the code that confirmed is spent (same step); the next step's works, once.
  t.equal((await signIn('wang.sup')).json.error.code, 'SECOND_FACTOR_REQUIRED', 'no code: asked for it')
  t.equal((await signIn('wang.sup', { secondFactor: totpCode(secret, nowMs) })).json.error.code, 'SECOND_FACTOR_REQUIRED', 'the confirming code is refused')
  nowMs += 30_000
  const code2 = totpCode(secret, nowMs)
  const w1 = await signIn('wang.sup', { secondFactor: code2 })
  t.equal(w1.status, 200, 'the next code signs in')
  t.equal((await signIn('wang.sup', { secondFactor: code2 })).json.error.code, 'SECOND_FACTOR_REQUIRED', 'the same code again: refused (RFC 6238 5.2)')
  const wang = signed(w1)

  // An approval right after signing in with a code: within the step-up window.
  const clerk = signed(await signIn('li.clerk'))
  const request = async () => {
    const r = await httpCall(`${base}/v1/exports`, as(clerk, 'POST', { recordingIds: [rec[0]], reason: 'court request', recipient: 'court' }))
    t.equal(r.status, 201)
    return r.json.id as number
  }
  const e1 = await request()
  t.equal((await httpCall(`${base}/v1/exports/${e1}/approve`, as(wang, 'POST', {}))).status, 200, 'approved within the window')

  // Six minutes later, in the same live session: asked again.
  nowMs += 6 * 60_000
  const e2 = await request()
  const asked = await httpCall(`${base}/v1/exports/${e2}/approve`, as(wang, 'POST', {}))
  t.equal(asked.status, 401)
  t.equal(asked.json.error.code, 'STEP_UP_REQUIRED', 'an approval inside an old session asks the factor again')
  t.equal((await httpCall(`${base}/v1/exports/${e2}`, as(clerk))).json.state, 'requested', 'nothing was approved')
  const rejectOk = await httpCall(`${base}/v1/exports/${e2}/reject`, as(wang, 'POST', {}))
  t.equal(rejectOk.status, 200, 'rejecting gives nothing out: no step-up')
  const e3 = await request()
  t.equal((await httpCall(`${base}/v1/session/step-up`, as(wang, 'POST', { secondFactor: code2 }))).json.error.code, 'SECOND_FACTOR_INVALID', 'a spent code')
  const up = await httpCall(`${base}/v1/session/step-up`, as(wang, 'POST', { secondFactor: totpCode(secret, nowMs) }))
  t.same(up.json, { via: 'totp', validSeconds: 300 })
  t.equal((await httpCall(`${base}/v1/exports/${e3}/approve`, as(wang, 'POST', {}))).status, 200, 'approved after the step-up')

  // Holds: placing and lifting are guarded too.
  nowMs += 6 * 60_000
  const hold = await httpCall(`${base}/v1/recordings/${rec[1]}/holds`, as(wang, 'POST', { reason: 'complaint filed' }))
  t.equal(hold.json.error?.code, 'STEP_UP_REQUIRED', 'a hold asks the factor again')
  // A stolen session cannot guess six digits: three wrong codes lock the step-up.
  for (const c of ['000000', '111111', '222222']) await httpCall(`${base}/v1/session/step-up`, as(wang, 'POST', { secondFactor: c }))
  const locked = await httpCall(`${base}/v1/session/step-up`, as(wang, 'POST', { secondFactor: totpCode(secret, nowMs) }))
  t.equal(locked.json.error.code, 'SIGN_IN_LOCKED', 'wrong codes lock the step-up out')
  nowMs += 61_000
  // A recovery code stands in for the phone (any case, without dashes), once.
  const rc = recovery[0]!
  const viaRecovery = await httpCall(`${base}/v1/session/step-up`, as(wang, 'POST', { secondFactor: rc.replaceAll('-', '').toUpperCase() }))
  t.same(viaRecovery.json, { via: 'recovery-code', validSeconds: 300 })
  const placed = await httpCall(`${base}/v1/recordings/${rec[1]}/holds`, as(wang, 'POST', { reason: 'complaint filed' }))
  t.equal(placed.status, 201, 'the hold is placed after the step-up')
  nowMs += 6 * 60_000
  const lift = await httpCall(`${base}/v1/holds/${placed.json.id}/release`, as(wang, 'POST', { reason: 'complaint withdrawn' }))
  t.equal(lift.json.error?.code, 'STEP_UP_REQUIRED', 'lifting a hold asks too')
  t.equal(
    (await httpCall(`${base}/v1/session/step-up`, as(wang, 'POST', { secondFactor: rc }))).json.error.code,
    'SECOND_FACTOR_INVALID',
    'a recovery code works once',
  )
  t.equal((await signIn('wang.sup', { secondFactor: rc })).json.error.code, 'SECOND_FACTOR_REQUIRED', 'nor at sign-in')
  const w2 = await signIn('wang.sup', { secondFactor: recovery[1] })
  t.equal(w2.status, 200, 'another recovery code signs in')
  t.equal(w2.json.secondFactor.recoveryCodesLeft, 8)
  t.equal(
    (await httpCall(`${base}/v1/holds/${placed.json.id}/release`, as(signed(w2), 'POST', { reason: 'complaint withdrawn' }))).status,
    200,
    'fresh session: lifted',
  )
  t.match(events('recovery-code-used'), [
    { user: 'wang.sup', remaining: 9, component: 'api' },
    { user: 'wang.sup', remaining: 8, component: 'api' },
  ])
  t.match(events('stepped-up'), [
    { user: 'wang.sup', via: 'totp' },
    { user: 'wang.sup', via: 'recovery-code' },
  ])

  // A supervisor's bearer token cannot give a code: approving, holding and lifting are refused with a stable code, nothing changes.
  const tok = createToken(s.db, { name: 'wang-script', role: 'supervisor', user: 'wang.sup', actor: 'user:admin1' })
  const e4 = await request()
  const byToken = await httpCall(`${base}/v1/exports/${e4}/approve`, { method: 'POST', token: tok.secret, body: {} })
  t.same([byToken.status, byToken.json.error.code], [403, 'STEP_UP_SESSION_REQUIRED'], "a supervisor's token is refused the approval")
  t.match(byToken.json.error.message, /signed in with your second factor/)
  const holdByToken = await httpCall(`${base}/v1/recordings/${rec[0]}/holds`, { method: 'POST', token: tok.secret, body: { reason: 'by script' } })
  t.equal(holdByToken.json.error?.code, 'STEP_UP_SESSION_REQUIRED', 'and a hold')
  t.equal((await httpCall(`${base}/v1/exports/${e4}`, { token: tok.secret })).json.state, 'requested', 'nothing was approved')
  t.equal((await httpCall(`${base}/v1/exports/${e4}/reject`, { method: 'POST', token: tok.secret, body: {} })).status, 200, 'rejecting needs no code')
  const e5 = await request()
  nowMs += 30_000
  t.equal((await httpCall(`${base}/v1/session/step-up`, as(wang, 'POST', { secondFactor: totpCode(secret, nowMs) }))).status, 200)
  t.equal((await httpCall(`${base}/v1/exports/${e5}/approve`, as(wang, 'POST', {}))).status, 200, 'the session with a step-up approves')
  // No service account holds a right whose acts need a person's code.
  t.throws(() => createToken(s.db, { name: 'approver-bot', role: 'supervisor', actor: 'user:admin1' }), { code: 'SERVICE_ROLE' }, 'no service supervisor')

  // The phone is lost: an admin resets (the admin enrols first: the role needs a factor); the person signs in with the password again and enrols anew.
  const admin0 = signed(await signIn('admin1'))
  t.equal((await httpCall(`${base}/v1/users/wang.sup/second-factor/reset`, as(admin0, 'POST'))).json.error.code, 'SECOND_FACTOR_ENROLMENT_REQUIRED')
  const adminSecret: string = (await httpCall(`${base}/v1/session/second-factor`, as(admin0, 'POST', { password: good }))).json.secret
  t.equal((await httpCall(`${base}/v1/session/second-factor/confirm`, as(admin0, 'POST', { code: totpCode(adminSecret, nowMs) }))).status, 200)
  nowMs += 30_000
  const admin = signed(await signIn('admin1', { secondFactor: totpCode(adminSecret, nowMs) }))
  t.equal((await httpCall(`${base}/v1/users/wang.sup/second-factor/reset`, as(admin, 'POST'))).status, 204)
  t.match(events('second-factor-reset'), [{ actor: 'user:admin1', user: 'wang.sup', recoveryCodesDropped: 8 }])
  const w3 = await signIn('wang.sup')
  t.equal(w3.status, 200, 'signs in without a code after the reset')
  t.same(w3.json.secondFactor, { enrolled: false, pending: false, required: true, recoveryCodesLeft: 0, graceUntil: null })
  t.equal(
    (await httpCall(`${base}/v1/session/second-factor/confirm`, as(signed(w3), 'POST', { code: '123456' }))).json.error.code,
    'SECOND_FACTOR_NOT_ENROLLED',
  )
  // A token cannot enrol: a second factor belongs to a person at a sign-in.
  t.equal(
    (await httpCall(`${base}/v1/session/second-factor`, { method: 'POST', token: tok.secret, body: { password: good } })).json.error.code,
    'SESSION_REQUIRED',
  )
})

t.test('a station rolling factors out: grace days from account creation, recorded; step-up turned off lets a person token approve', async (t) => {
  const s = station(t)
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20260110080000_0001.MP4'), Buffer.alloc(40_000, 1))
  const rec = (await s.ingest(cam)).ingested[0]!.id
  let nowMs = Date.now()
  const auth = authSettings({ secondFactor: { graceDays: 7, stepUp: false } })
  const people = makePeople(s.db, PEOPLE_DEFAULTS, 'test-station', () => new Date(nowMs), {
    auth,
    keyPath: secondFactorKeyPath(s.dataDir),
    issuer: 'bodyvault Test',
  })
  const app = await buildApi({
    db: s.db,
    vault: s.vault,
    logger: silentLogger(),
    station: { id: 'test-station', name: 'Test station', timezone: 'Asia/Shanghai' },
    policy: retentionPolicy(loadConfig({ env: { ...NO_SYSTEM_CONFIG } })),
    openChecked: s.st.openChecked,
    rateLimitPerMinute: 100_000,
    people,
  })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const good = 'Correct-Horse-Battery-Staple-7'
  const by = { actor: 'user:os:test', component: 'cli' as const }
  for (const [username, policeNo, roles] of [
    ['zhao.sup', '030003', ['supervisor']],
    ['li.clerk', '010001', ['clerk']],
  ] as const) {
    const pw = (await createAccount(s.db, { username, displayName: username, policeNo, kind: 'person', roles }, by)).password!
    t.equal((await httpCall(`${base}/v1/session`, { method: 'POST', body: { username, password: pw, newPassword: good } })).status, 200)
  }
  const signIn = async (username: string) => {
    const r = await httpCall(`${base}/v1/session`, { method: 'POST', body: { username, password: good } })
    const who = { cookie: String(r.headers['set-cookie']).split(';')[0]!, csrf: r.json.csrfToken as string }
    return {
      r,
      as: (method = 'GET', body?: unknown) => ({ method, headers: { cookie: who.cookie, 'x-csrf-token': who.csrf, origin: base }, ...(body ? { body } : {}) }),
    }
  }
  const zhao = await signIn('zhao.sup')
  const created = Date.parse((s.db.prepare("SELECT created_at AS c FROM users WHERE username = 'zhao.sup'").get() as { c: string }).c)
  t.equal(zhao.r.json.secondFactor.graceUntil, new Date(created + 7 * 86_400_000).toISOString(), 'the page is told until when')
  t.equal((await httpCall(`${base}/v1/recordings`, zhao.as())).status, 200, 'in the grace days: acts without a factor')
  const grace = s.db.prepare("SELECT actor, payload FROM events WHERE type = 'second-factor-grace' ORDER BY seq").all() as { actor: string; payload: string }[]
  t.equal(grace.length, 2, 'each sign-in under the grace days is in the ledger (the first one too)')
  t.match(JSON.parse(grace[1]!.payload), { user: 'zhao.sup', graceDays: 7, until: zhao.r.json.secondFactor.graceUntil, component: 'api' })

  // With step-up turned off, a person's token may approve (the station's decision); a service account still holds no supervisor role.
  const clerk = await signIn('li.clerk')
  t.equal((await httpCall(`${base}/v1/session`, clerk.as())).json.secondFactor.graceUntil, null, 'a clerk needs no factor: no grace')
  const e = await httpCall(`${base}/v1/exports`, clerk.as('POST', { recordingIds: [rec], reason: 'court request', recipient: 'court' }))
  const tok = createToken(s.db, { name: 'zhao-script', role: 'supervisor', user: 'zhao.sup', actor: 'user:admin1' })
  t.equal(
    (await httpCall(`${base}/v1/exports/${e.json.id}/approve`, { method: 'POST', token: tok.secret, body: {} })).status,
    200,
    'step-up off: the token approves',
  )

  // Eight days after the account was made: the session may only enrol.
  nowMs = created + 8 * 86_400_000
  const late = await signIn('zhao.sup')
  t.equal(late.r.json.secondFactor.graceUntil, null, 'the grace is over')
  const r = await httpCall(`${base}/v1/recordings`, late.as())
  t.same([r.status, r.json.error?.code], [403, 'SECOND_FACTOR_ENROLMENT_REQUIRED'], 'past the grace days: enrol first')
  t.equal((await httpCall(`${base}/v1/session/second-factor`, late.as('POST', { password: good }))).status, 200, 'enrolling is open')
  t.equal((await httpCall(`${base}/v1/session`, late.as('DELETE'))).status, 204, 'and signing out')
})
