// The case, hold, categorize and retention commands through the built CLI,
// with footage recorded in 2024 so that the real clock has passed its
// deadlines (a CLI purge never runs ahead of the clock).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { cli, signedInEnv, tempDir } from './helpers.js'

function camera(dir: string): string {
  const cam = join(dir, 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20240110080000_0001.MP4'), Buffer.alloc(40_000, 1))
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20240110090000_0002.MP4'), Buffer.alloc(40_000, 2))
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20240110100000_0003_IMP.MP4'), Buffer.alloc(40_000, 3))
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20240110110000_0004.MP4'), Buffer.alloc(40_000, 4))
  return cam
}

t.test('cases, holds, categories and a purge from the command line', async (t) => {
  const dir = tempDir(t)
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
  const ing = cli(['ingest', camera(dir), '--json'], env)
  t.equal(ing.code, 0, ing.stderr)
  const ids = (JSON.parse(ing.stdout) as { ingested: { id: number; sha256: string; sourcePath: string }[] }).ingested
  const [r1, r2, r3, r4] = ids.sort((a, b) => a.sourcePath.localeCompare(b.sourcePath))
  // Changes name a signed-in person: a clerk and a supervisor, each with their own `bodyvault login` session.
  t.match(cli(['categorize', String(r1!.id), 'patrol', '--reason', 'routine patrol'], env), { code: 2, stderr: /sign in first/ }, 'nobody signed in: refused')
  const clerk = await signedInEnv(env, { username: 'clerk.li', roles: 'clerk', policeNo: '900001' })
  const sup = await signedInEnv(env, { username: 'supervisor.wang', roles: 'supervisor', policeNo: '900002' })

  t.match(cli(['categorize', String(r1!.id), 'patrol'], clerk), { code: 2, stderr: /needs a reason/ })
  t.match(cli(['categorize', String(r1!.id), 'fishing', '--reason', 'x'], clerk), {
    code: 2,
    stderr: /category "fishing" is not configured; known: patrol, inspection/,
  })
  const cat = cli(['categorize', String(r1!.id), 'patrol', '--reason', 'routine patrol', '--json'], clerk)
  t.equal(cat.code, 0, cat.stderr)
  t.match(
    JSON.parse(cat.stdout),
    { from: null, to: 'patrol', rule: 'category-period', deadline: '2024-07-10T16:00:00.000Z' },
    'last day 2024-07-10, due 2024-07-11 00:00 +08:00',
  )
  const recat = cli(['categorize', String(r3!.id), 'patrol', '--reason', 'marked important by mistake'], clerk)
  t.match(recat, { code: 0, stdout: /evidence -> patrol; kept until 2024-07-11 00:00 \+08:00/ }, 'a clerk reclassifies camera-important footage with a reason')

  t.match(cli(['case', 'create', 'ZF-1', '--type', 'parking'], clerk), { code: 2, stderr: /case type "parking" is not configured/ })
  t.equal(cli(['case', 'create', 'ZF-1', '--type', 'penalty-general-procedure', '--title', 'unlicensed stall', '--opened', '2024-01-12'], clerk).code, 0)
  t.match(cli(['case', 'create', 'ZF-1', '--type', 'penalty-general-procedure'], clerk), { code: 2, stderr: /already exists/ })
  t.match(cli(['case', 'link', 'ZF-1', String(r2!.id)], clerk), { code: 0, stdout: /linked 1 recording/ })
  t.match(cli(['case', 'link', 'ZF-9', String(r2!.id)], clerk), { code: 2, stderr: /case ZF-9 does not exist/ })
  t.match(cli(['hold', 'place', String(r4!.id), '--reason', 'complaint'], env), { code: 2, stderr: /sign in first/ }, 'a hold names its supervisor')
  t.match(cli(['hold', 'place', String(r4!.id), '--reason', 'complaint'], clerk), { code: 2, stderr: /the clerk role may not/ }, 'a clerk may not place a hold')
  const hold = cli(['hold', 'place', String(r4!.id), '--reason', 'complaint pending', '--json'], sup)
  t.equal(hold.code, 0, hold.stderr)
  const holdId = (JSON.parse(hold.stdout) as { id: number }[])[0]!.id

  const show = JSON.parse(cli(['retention', 'show', String(r4!.id), '--json'], env).stdout) as {
    rule: string
    deadline: string
    candidates: { rule: string }[]
  }
  t.same([show.rule, show.deadline], ['hold', 'indefinite'])
  t.same(show.candidates.map((c) => c.rule).sort(), ['hold', 'uncategorised'])

  const plan = JSON.parse(cli(['retention', 'plan', '--json'], env).stdout) as {
    items: { recordingId: number; state: string; rule: string }[]
    counts: { uncategorised: number; indefinite: number }
  }
  t.same(plan.items.map((i) => [i.recordingId, i.state, i.rule]).sort(), [
    [r1!.id, 'purgeable', 'category-period'],
    [r3!.id, 'purgeable', 'category-period'],
  ])
  t.equal(plan.counts.uncategorised, 2, 'r2 (linked) and r4 (held) have no category: counted')
  t.equal(plan.counts.indefinite, 2, 'the open case and the hold')
  t.match(cli(['retention', 'plan'], env).stdout, /2 due \(2 purgeable, 0 in the 7-day grace period/)

  t.match(cli(['retention', 'purge', '--at', '2099-01-01'], env), { code: 2, stderr: /in the future: a purge never runs ahead of the clock/ })
  const dry = JSON.parse(cli(['retention', 'purge', '--dry-run', '--at', '2099-01-01', '--json'], env).stdout) as {
    dryRun: boolean
    purged: { recordingId: number }[]
  }
  t.same(dry.purged.map((p) => p.recordingId).sort(), [r1!.id, r3!.id], 'a dry run may look ahead; still protected: the open case and the hold')

  const purge = cli(['retention', 'purge', '--json'], env)
  t.equal(purge.code, 0, purge.stderr)
  const rep = JSON.parse(purge.stdout) as { purged: { recordingId: number }[] }
  t.same(rep.purged.map((p) => p.recordingId).sort(), [r1!.id, r3!.id])
  t.notOk(existsSync(join(dir, 'data', 'objects', r1!.sha256.slice(0, 2), r1!.sha256)))
  t.match(cli(['categorize', String(r1!.id), 'evidence', '--reason', 'too late'], clerk), { code: 2, stderr: /was purged/ })

  t.match(cli(['case', 'close', 'ZF-1', '--closed', '2024-03-01'], clerk), { code: 0, stdout: /closed 2024-03-01 00:00 \+08:00/ })
  t.match(cli(['hold', 'release', String(holdId), '--reason', 'withdrawn'], env), { code: 2, stderr: /sign in first/ })
  t.equal(cli(['hold', 'release', String(holdId), '--reason', 'complaint withdrawn'], sup).code, 0)
  t.match(cli(['hold', 'list', '--all'], env).stdout, /#1 .*supervisor\.wang .*complaint pending/)
  const list = JSON.parse(cli(['case', 'list', '--json'], env).stdout) as { number: string; status: string }[]
  t.same(
    list.map((c) => [c.number, c.status]),
    [['ZF-1', 'closed']],
  )
  const later = JSON.parse(cli(['retention', 'plan', '--json'], env).stdout) as { items: { recordingId: number; rule: string }[] }
  t.same(
    later.items.map((i) => [i.recordingId, i.rule]),
    [[r4!.id, 'uncategorised']],
    'hold released: r4 is due; r2 now keeps until 2054 (closed case + 30 years)',
  )

  const v = cli(['verify', '--json'], env)
  t.equal(v.code, 0, v.stdout)
  t.same((JSON.parse(v.stdout) as { problems: unknown[] }).problems, [])
  t.match(cli(['--help'], {}).stdout, /bodyvault retention purge \[--at DATE\] \[--dry-run\] \[--json\]/)
})
