import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { cli, tempDir } from './helpers.js'

function tinyCamera(dir: string): string {
  const cam = join(dir, 'cam')
  mkdirSync(join(cam, 'DCIM', '100MEDIA'), { recursive: true })
  writeFileSync(join(cam, 'DCIM', '100MEDIA', 'A1B2C3D_012345_20261120080000_0001.MP4'), Buffer.alloc(100_000, 1))
  writeFileSync(join(cam, 'DCIM', '100MEDIA', 'B7654321_000777_20261121093000_0002_IMP.MP4'.replace('B7654321', 'B765432')), Buffer.alloc(50_000, 2))
  writeFileSync(join(cam, 'DCIM', '100MEDIA', 'notes.txt'), 'not media')
  return cam
}

t.test('ingest --json, again, recordings filters, verify --json, exit codes', async (t) => {
  const dir = tempDir(t)
  const cam = tinyCamera(dir)
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
  const first = cli(['ingest', cam, '--json'], env)
  t.equal(first.code, 0, first.stderr)
  const r = JSON.parse(first.stdout) as {
    ingested: { id: number; sha256: string; size: number; sourcePath: string }[]
    skipped: { sourcePath: string; reason: string }[]
    unrecognised: { sourcePath: string; reason: string }[]
    failed: unknown[]
    state: string
  }
  t.equal(r.state, 'complete')
  t.equal(r.ingested.length, 2)
  t.same(Object.keys(r.ingested[0]!).sort(), ['id', 'raw', 'sha256', 'size', 'sourcePath'])
  t.same(r.unrecognised, [{ sourcePath: 'DCIM/100MEDIA/notes.txt', reason: 'neither media nor a sidecar by its extension or its first bytes' }])
  t.same(r.skipped, [])
  t.same(r.failed, [])

  const again = cli(['ingest', cam], env)
  t.equal(again.code, 0)
  t.match(again.stdout, /0 ingested .* 2 already in the vault/)
  t.match(again.stdout, /nothing new/)

  const byOfficer = JSON.parse(cli(['recordings', '--officer', '000777', '--json'], env).stdout) as {
    deviceId: string
    important: boolean
    recordedAt: string
  }[]
  t.same(
    byOfficer.map((x) => [x.deviceId, x.important, x.recordedAt]),
    [['B765432', true, '2026-11-21T01:30:00.000Z']],
  )
  const byDay = JSON.parse(cli(['recordings', '--from', '2026-11-20', '--to', '2026-11-21', '--json'], env).stdout) as unknown[]
  t.equal(byDay.length, 1, 'dates without an offset are station-local days')
  const table = cli(['recordings', '--device', 'A1B2C3D'], env)
  t.match(table.stdout, /2026-11-20 08:00:00 \+08:00 +A1B2C3D +012345 +video/)
  t.match(cli(['recordings', '--from', 'yesterday'], env), { code: 2, stderr: /--from: "yesterday" is not an ISO 8601 date/ })

  const v = cli(['verify', '--json'], env)
  t.equal(v.code, 0)
  const vr = JSON.parse(v.stdout) as { ok: boolean; checked: { objects: number; events: number }; problems: unknown[] }
  // vault-created, 2 ingested and 2 ingest-session-ended, and the checkpoint each ingest signed at its end (a `checkpoint` event each).
  t.same([vr.ok, vr.checked.objects, vr.checked.events, vr.problems], [true, 2, 7, []])

  const missing = cli(['ingest', join(dir, 'nope')], env)
  t.not(missing.code, 0)
  t.match(missing.stderr, /nope/)
})

t.test('bad configuration names the key and exits 2', async (t) => {
  const dir = tempDir(t)
  const cfg = join(dir, 'bad.json')
  writeFileSync(cfg, JSON.stringify({ ingest: { chunkBytes: 12 }, station: { colour: 'red' } }))
  const r = cli(['doctor', '--config', cfg])
  t.equal(r.code, 2)
  t.match(r.stderr, /ingest\.chunkBytes: must be >= 65536/)
  t.match(r.stderr, /station\.colour: is not a known setting/)
  t.match(cli(['doctor'], { BODYVAULT_LISTEN: 'nowhere' }), { code: 2, stderr: /BODYVAULT_LISTEN="nowhere": must be host:port/ })
  t.match(cli(['doctor'], { BODYVAULT_CONFIG: join(dir, 'missing.json') }), { code: 2, stderr: /cannot read config file .*missing\.json/ })
  writeFileSync(cfg, '{ not json')
  t.match(cli(['doctor', '--config', cfg]), { code: 2, stderr: /is not valid JSON/ })
  writeFileSync(cfg, JSON.stringify({ station: { timezone: 'Mars/Olympus' } }))
  t.match(cli(['doctor', '--config', cfg]), { code: 2, stderr: /station\.timezone: "Mars\/Olympus" is not an IANA time zone/ })
  t.match(cli(['ingest']), { code: 2, stderr: /exactly one camera folder/ })
  t.match(cli(['frobnicate']), { code: 2, stderr: /unknown command/ })
  t.match(cli(['ingest', dir, '--bogus']), { code: 2, stderr: /ingest: unknown option --bogus/ })
})

t.test('config file and environment override the defaults', async (t) => {
  const dir = tempDir(t)
  const cfg = join(dir, 'station.json')
  writeFileSync(cfg, JSON.stringify({ station: { id: 'east-7' }, dataDir: join(dir, 'from-file'), docking: { mountRoots: [join(dir, 'roots')] } }))
  const a = JSON.parse(cli(['doctor', '--json', '--config', cfg]).stdout) as { checks: { check: string; detail: string }[] }
  t.match(a.checks.find((c) => c.check === 'config')!.detail, new RegExp(`station east-7, data dir ${dir}/from-file`))
  const b = JSON.parse(cli(['doctor', '--json', '--config', cfg], { BODYVAULT_DATA_DIR: join(dir, 'from-env') }).stdout) as {
    ok: boolean
    checks: { check: string; ok: boolean; detail: string }[]
  }
  t.match(b.checks.find((c) => c.check === 'config')!.detail, /from-env \(BODYVAULT_DATA_DIR\)/)
  t.ok(b.checks.find((c) => c.check === 'ffmpeg')!.ok, 'ffmpeg found')
  t.match(
    b.checks.find((c) => c.check === 'vault'),
    { ok: false, detail: /DATA_DIR_MISSING: no vault at .*from-env/ },
    'doctor says there is no vault there',
  )
  t.notOk(existsSync(join(dir, 'from-env')), '... and makes none')
})

t.test('a docking profile with a bad key is named with its file', async (t) => {
  const dir = tempDir(t)
  const profiles = join(dir, 'docking')
  mkdirSync(profiles)
  writeFileSync(join(profiles, 'x.json'), JSON.stringify({ id: 'x', name: 'X', media: ['**'], timezone: 'Asia/Shanghai', filename: { pattern: '(' } }))
  const cfg = join(dir, 'c.json')
  writeFileSync(cfg, JSON.stringify({ docking: { profilesDir: profiles, mountRoots: [join(dir, 'roots')] } }))
  t.match(cli(['doctor', '--config', cfg]), { code: 2, stderr: /docking profile .*x\.json: filename\.pattern: not a valid regular expression/ })
  writeFileSync(join(profiles, 'x.json'), JSON.stringify({ id: 'x', name: 'X', media: ['**'], timezone: 'Asia/Shanghai', wipe: true }))
  t.match(cli(['doctor', '--config', cfg]), { code: 2, stderr: /x\.json is invalid: wipe: is not a known profile key/ })
})
