// The second factor at the command line, through the built CLI: a hold asks
// a supervisor who enrolled for a fresh code (BODYVAULT_TOTP, no terminal
// here), `bodyvault login` asks for the code, a wrong one is refused, and
// the step-up is in the ledger as the CLI's.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { totpCode } from '../src/api/totp.js'
import { userByName } from '../src/catalog/users.js'
import { silentLogger } from '../src/common/log.js'
import { loadConfig } from '../src/config/load.js'
import { openStation } from '../src/station/station.js'
import { childEnv, cli, signedInEnv, tempDir } from './helpers.js'

t.test('a hold and a login with the second factor from the CLI', async (t) => {
  const dir = tempDir(t)
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
  const cam = join(dir, 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20260110080000_0001.MP4'), Buffer.alloc(40_000, 1))
  const ing = cli(['ingest', cam, '--json'], env)
  t.equal(ing.code, 0, ing.stderr)
  const id = String((JSON.parse(ing.stdout) as { ingested: { id: number }[] }).ingested[0]!.id)
  // Signed in (a `bodyvault login` session) before enrolling: the session has no second factor in it yet.
  const sup = await signedInEnv(env, { username: 'sup.wang', roles: 'supervisor', policeNo: '900002' })
  const merged = childEnv(sup)
  const st = openStation({ config: loadConfig({ file: merged.BODYVAULT_CONFIG, env: merged }), logger: silentLogger() })
  let secret: string
  try {
    const f = st.people().secondFactor!
    const row = userByName(st.db, 'sup.wang')!
    secret = (await f.begin(row)).secret
    // Confirmed with the previous step's code (the window takes it), so the current and the next steps stay free for the CLI.
    f.confirm(row, totpCode(secret, Date.now() - 30_000), { actor: 'user:sup.wang', component: 'cli' })
  } finally {
    st.close()
  }

  const noCode = cli(['hold', 'place', id, '--reason', 'complaint filed'], sup)
  t.match(noCode, { code: 2, stderr: /this act needs your second factor again: no terminal to ask the code: set BODYVAULT_TOTP/ }, 'a hold asks the code')
  t.match(cli(['hold', 'place', id, '--reason', 'complaint filed'], { ...sup, BODYVAULT_TOTP: '000000' }), { code: 2, stderr: /the code is wrong/ })
  const held = cli(['hold', 'place', id, '--reason', 'complaint filed', '--json'], { ...sup, BODYVAULT_TOTP: totpCode(secret, Date.now()) })
  t.equal(held.code, 0, held.stderr)
  t.match(JSON.parse(held.stdout), [{ recordingId: Number(id), placedBy: 'user:sup.wang' }])

  const pw = { BODYVAULT_PASSWORD: 'Evidence-Desk-Passphrase-42' }
  t.match(cli(['login', 'sup.wang'], { ...sup, ...pw }), { code: 2, stderr: /sup\.wang has a second factor: no terminal to ask the code: set BODYVAULT_TOTP/ })
  t.match(cli(['login', 'sup.wang'], { ...sup, ...pw, BODYVAULT_TOTP: '123456' }), { code: 2, stderr: /that code is wrong or used already/ })
  const login = cli(['login', 'sup.wang'], { ...sup, ...pw, BODYVAULT_TOTP: totpCode(secret, Date.now() + 30_000) })
  t.match(login, { code: 0, stdout: /signed in as sup\.wang/ }, 'login with the code')
  const status = cli(['2fa', 'status', '--json'], sup)
  t.match(JSON.parse(status.stdout), { enrolled: true, required: true, recoveryCodesLeft: 10 })

  const st2 = openStation({ config: loadConfig({ file: merged.BODYVAULT_CONFIG, env: merged }), logger: silentLogger() })
  try {
    const ev = st2.db.prepare("SELECT type, payload FROM events WHERE type IN ('second-factor-enrolled', 'stepped-up', 'hold-placed') ORDER BY seq").all() as {
      type: string
      payload: string
    }[]
    t.same(
      ev.map((e) => [e.type, JSON.parse(e.payload).component ?? null]),
      [
        ['second-factor-enrolled', 'cli'],
        ['stepped-up', 'cli'],
        ['hold-placed', null],
      ],
      'enrolled, stepped up at the CLI, then the hold',
    )
  } finally {
    st2.close()
  }
})

t.test('at the CLI, a supervisor without a factor may only enrol, and enrolling asks the password again', async (t) => {
  const dir = tempDir(t)
  // The shipped default (no grace days), not the suite's rollout setting.
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({ docking: { mountRoots: [join(dir, 'no-cameras-here')] }, auth: { secondFactor: { graceDays: 0 } } }))
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data'), BODYVAULT_CONFIG: config }
  const cam = join(dir, 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20260110080000_0001.MP4'), Buffer.alloc(40_000, 1))
  const ing = cli(['ingest', cam, '--json'], env)
  t.equal(ing.code, 0, ing.stderr)
  const id = String((JSON.parse(ing.stdout) as { ingested: { id: number }[] }).ingested[0]!.id)
  const sup = await signedInEnv(env, { username: 'sup.li', roles: 'supervisor', policeNo: '900003' })
  t.match(cli(['hold', 'place', id, '--reason', 'complaint filed'], sup), { code: 2, stderr: /SECOND_FACTOR_ENROLMENT_REQUIRED: .*enrol one first/ }, 'no hold')
  t.match(cli(['case', 'create', 'ZF-9', '--type', 'penalty-general-procedure'], sup), { code: 2, stderr: /needs a second factor/ }, 'no case either')
  t.match(cli(['2fa', 'status', '--json'], sup), { code: 0, stdout: /"required": true/ }, 'the status is open')
  t.match(cli(['2fa', 'enrol'], sup), { code: 2, stderr: /BODYVAULT_PASSWORD/ }, 'enrolling asks the password (no terminal here)')
  t.match(cli(['2fa', 'enrol'], { ...sup, BODYVAULT_PASSWORD: 'not-it-at-all' }), { code: 2, stderr: /the current password is wrong/ })
  const ok = cli(['2fa', 'enrol', '--json'], { ...sup, BODYVAULT_PASSWORD: 'Evidence-Desk-Passphrase-42' })
  t.equal(ok.code, 0, ok.stderr)
  t.match(JSON.parse(ok.stdout), { secret: /^[A-Z2-7]{32}$/ })
})
