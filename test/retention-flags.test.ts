// Issue 20, "done when": a recording flagged `obstruction` survives a purge
// three years later, as a dry run (--at) and as a real run whose process
// clock libfaketime moves from outside (no clock override in bodyvault);
// `retention show` names the flag; its removal is refused to the person who
// set it (under any account of theirs) and done with another supervisor's
// approval, on the ledger. The rules of flags in-process first (fast), then
// the done-when path through the built CLI, as a station would run it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { DateTime } from 'luxon'
import t from 'tap'
import { retentionPolicy, type RetentionSettings } from '../src/retention/config.js'
import { approveFlagRemoval, requestFlagRemoval, setFlag, withdrawFlagRemoval, type FlagCtx } from '../src/retention/flags.js'
import { runPurge } from '../src/retention/purge.js'
import { silentLogger } from '../src/common/log.js'
import { verifyVault } from '../src/verify/vault.js'
import { ROOT, cli, signedInEnv, station, tempDir } from './helpers.js'

/** libfaketime's preload library, as Debian's faketime package installs it (scripts/ensure-test-deps). */
const FAKETIME_LIB = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1'].find(existsSync)
const defaults = JSON.parse(readFileSync(join(ROOT, 'config/default.json'), 'utf8')) as { retention: RetentionSettings }
const POLICY = retentionPolicy({ station: { timezone: 'Asia/Shanghai' }, retention: defaults.retention })

/** Two clips recorded two days ago (camera-local time, station zone Asia/Shanghai). */
function camera(dir: string): { cam: string; day: DateTime } {
  const day = DateTime.now().setZone('Asia/Shanghai').minus({ days: 2 }).startOf('day')
  const cam = join(dir, 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  const stamp = (h: number) => day.plus({ hours: h }).toFormat('yyyyMMddHHmmss')
  writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_${stamp(9)}_0001.MP4`), Buffer.alloc(40_000, 1))
  writeFileSync(join(cam, 'DCIM', `A1B2C3D_012345_${stamp(10)}_0002.MP4`), Buffer.alloc(40_000, 2))
  return { cam, day }
}

t.test('the rules of a flag: a reason, a known flag, once; removal asked for, then approved by another person only', async (t) => {
  const dir = tempDir(t)
  const s = station(t)
  const r = await s.ingest(camera(dir).cam)
  const [a, b] = r.ingested.sort((x, y) => x.id - y.id)
  let tick = Date.now()
  const as = (actor: string, person: string): FlagCtx => {
    tick += 1000
    return { db: s.db, policy: POLICY, actor, person, now: new Date(tick) }
  }
  const li = as('user:clerk.li', '900001')
  t.throws(() => setFlag(li, a!.id, 'obstruction', ' '), { code: 'REASON_REQUIRED' })
  t.throws(() => setFlag(li, a!.id, 'fishing', 'x'), { code: 'FLAG_UNKNOWN', message: /known: evidence-used, obstruction, major-incident, complaint/ })
  t.throws(() => setFlag(li, 9999, 'obstruction', 'x'), { code: 'RECORDING_NOT_FOUND' })
  const set = setFlag(li, a!.id, 'obstruction', '警情 2026-1187')
  t.same([set.decision.rule, set.decision.ref, set.decision.deadline], ['flag', 'obstruction', 'indefinite'])
  t.throws(() => setFlag(as('user:wang', '900002'), a!.id, 'obstruction', 'again'), { code: 'FLAG_SET' }, 'one flag of a name in force')
  const second = setFlag(li, a!.id, 'complaint', '投诉 2026-33').flag
  t.throws(() => approveFlagRemoval(as('user:wang', '900002'), set.flag.id, null as unknown as string), { code: 'FLAG_REMOVAL_NOT_REQUESTED' })
  // The requester is a third person: neither the setter nor the requester may approve.
  requestFlagRemoval(as('user:zhang', '900004'), set.flag.id, 'wrong clip')
  t.throws(() => requestFlagRemoval(li, set.flag.id, 'again'), { code: 'FLAG_REMOVAL_REQUESTED' })
  t.throws(() => approveFlagRemoval(as('user:zhang', '900004'), set.flag.id, undefined), { code: 'FLAG_SELF_APPROVAL', message: /you asked to remove/ })
  t.throws(() => approveFlagRemoval(as('user:li.other-account', '900001'), set.flag.id, undefined), { code: 'FLAG_SELF_APPROVAL', message: /you set/ })
  withdrawFlagRemoval(as('user:zhang', '900004'), set.flag.id, 'it was the right clip after all')
  t.throws(() => approveFlagRemoval(as('user:wang', '900002'), set.flag.id, undefined), { code: 'FLAG_REMOVAL_NOT_REQUESTED' }, 'withdrawn')
  requestFlagRemoval(li, set.flag.id, 'wrong clip, really')
  const gone = approveFlagRemoval(as('user:wang', '900002'), set.flag.id, 'checked')
  t.same([gone.flag.removedPerson, gone.decision.rule, gone.decision.ref], ['900002', 'flag', 'complaint'], 'the other flag still keeps it')
  t.throws(() => requestFlagRemoval(li, set.flag.id, 'x'), { code: 'FLAG_REMOVED' })
  requestFlagRemoval(li, second.id, 'complaint withdrawn')
  const last = approveFlagRemoval(as('user:wang', '900002'), second.id, undefined)
  t.same(last.decision.rule, 'uncategorised', 'no flag left: the ordinary rule')

  // A purge three years on keeps a flagged clip; verify replays the flags and agrees.
  setFlag(li, b!.id, 'major-incident', '群体性事件')
  const later = DateTime.now().plus({ years: 3 }).toJSDate()
  const rep = await runPurge({ db: s.db, vault: s.vault, policy: POLICY, now: later, dryRun: false, actor: 'station:test', logger: silentLogger() })
  t.same(
    rep.purged.map((p) => p.recordingId),
    [a!.id],
    'the unflagged clip goes, the flagged one stays',
  )
  t.same((await verifyVault(s.db, s.vault)).problems, [], 'verify clean')
  // Forged in the catalog: the setter made out to be another person (so that they could approve the removal).
  s.db.prepare("UPDATE retention_flags SET set_person = '900099' WHERE recording_id = ?").run(b!.id)
  t.match(
    (await verifyVault(s.db, s.vault)).problems.map((p) => `${p.kind} ${p.subject} ${p.detail}`),
    [/^catalog-mismatch flag:\d+ setPerson is "900099" in the catalog but "900001" in the ledger/],
    'a forged setter is caught',
  )
})

t.test('an obstruction flag outlives a purge three years later; its removal needs another person', async (t) => {
  if (!FAKETIME_LIB) return t.fail('libfaketime is missing: run scripts/ensure-test-deps')
  const dir = tempDir(t)
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
  const { cam, day } = camera(dir)
  const ing = cli(['ingest', cam, '--json'], env)
  t.equal(ing.code, 0, ing.stderr)
  const [flaggedRec, control] = (JSON.parse(ing.stdout) as { ingested: { id: number; sha256: string; sourcePath: string }[] }).ingested.sort((a, b) =>
    a.sourcePath.localeCompare(b.sourcePath),
  )
  const clerk = await signedInEnv(env, { username: 'clerk.li', roles: 'clerk,supervisor', policeNo: '900001' })
  const clerkAgain = await signedInEnv(env, { username: 'li.night-desk', roles: 'clerk,supervisor', policeNo: '900001' })
  const sup = await signedInEnv(env, { username: 'supervisor.wang', roles: 'supervisor', policeNo: '900002' })
  const officer = await signedInEnv(env, { username: 'officer.zhao', roles: 'officer', policeNo: '900003' })

  t.match(cli(['flag', 'set', String(flaggedRec!.id), 'obstruction', '--reason', 'x'], officer), { code: 2, stderr: /may not do this/ }, 'an officer may not')
  const set = cli(['flag', 'set', String(flaggedRec!.id), 'obstruction', '--reason', '警情 2026-1187: 阻碍执行职务', '--json'], clerk)
  t.equal(set.code, 0, set.stderr)
  const flagId = (JSON.parse(set.stdout) as { id: number }).id

  // Three years on: the dry run looks ahead with --at.
  const later = day.plus({ years: 3 }).toISODate()!
  const dry = cli(['retention', 'purge', '--dry-run', '--at', later, '--json'], env)
  t.equal(dry.code, 0, dry.stderr)
  t.same(
    (JSON.parse(dry.stdout) as { purged: { recordingId: number }[] }).purged.map((p) => p.recordingId),
    [control!.id],
    'dry run as of three years later: the unflagged patrol clip would go, the flagged one stays',
  )

  // The real run, its clock moved 3 years (1100 days) ahead from outside the process.
  const faked = { ...env, LD_PRELOAD: FAKETIME_LIB, FAKETIME: '+1100d' }
  const purge = cli(['retention', 'purge', '--json'], faked)
  t.equal(purge.code, 0, purge.stderr)
  t.same(
    (JSON.parse(purge.stdout) as { purged: { recordingId: number }[] }).purged.map((p) => p.recordingId),
    [control!.id],
    'the real purge three years later deletes the control clip only',
  )
  const objectOf = (sha: string) => join(dir, 'data', 'objects', sha.slice(0, 2), sha)
  t.notOk(existsSync(objectOf(control!.sha256)), 'control clip deleted')
  t.ok(existsSync(objectOf(flaggedRec!.sha256)), 'flagged clip still in the vault')

  const show = cli(['retention', 'show', String(flaggedRec!.id)], env)
  t.match(show, { code: 0, stdout: /kept until further notice, by flag obstruction/ }, 'retention show names the flag')

  // Removal: asked for, then approved by another person only.
  t.equal(cli(['flag', 'remove', String(flagId), '--reason', 'set on the wrong clip'], clerk).code, 0)
  t.match(cli(['flag', 'approve', String(flagId)], clerk), { code: 2, stderr: /you set flag #\d+ .*another supervisor must/ }, 'the setter may not approve')
  t.match(cli(['flag', 'approve', String(flagId)], clerkAgain), { code: 2, stderr: /police number 900001/ }, 'nor under a second account of the same person')
  const ok = cli(['flag', 'approve', String(flagId), '--reason', 'checked: wrong clip'], sup)
  t.match(ok, { code: 0, stdout: /removed from recording \d+, approved by user:supervisor\.wang; now kept by uncategorised/ })

  const db = new Database(join(dir, 'data', 'catalog.db'), { readonly: true })
  t.teardown(() => db.close())
  const purgedAt = db.prepare("SELECT at FROM events WHERE type = 'purged'").pluck().get() as string
  t.ok(DateTime.fromISO(purgedAt).diff(DateTime.now(), 'days').days > 1090, `the purge ran with its clock three years on (${purgedAt})`)
  const events = db.prepare("SELECT type, actor, payload FROM events WHERE type LIKE 'flag-%' ORDER BY seq").all() as {
    type: string
    actor: string
    payload: string
  }[]
  t.same(
    events.map((e) => [e.type, e.actor, (JSON.parse(e.payload) as { person: string }).person]),
    [
      ['flag-set', 'user:clerk.li', '900001'],
      ['flag-removal-requested', 'user:clerk.li', '900001'],
      ['flag-removed', 'user:supervisor.wang', '900002'],
    ],
    'each step on the ledger, with its person',
  )
  const v = cli(['verify', '--json'], env)
  t.equal(v.code, 0, v.stdout)
  t.same((JSON.parse(v.stdout) as { problems: unknown[] }).problems, [], 'verify folds the flags and agrees with the catalog')
})
