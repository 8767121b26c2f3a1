// An evidence package made from an ingested fake camera (real ffmpeg media,
// real SQLite): it verifies clean with `bodyvault verify-package`, and by
// hand with sha256sum and openssl exactly as its VERIFY.md says, and with
// its Python checker. The export is in the ledger.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildEvidencePackage, type EvidencePackageResult } from '../src/export/package.js'
import { readPackage, verifyEvidencePackage } from '../src/export/verify-package.js'
import { loadOrCreateStationKey, type StationKey } from '../src/ledger/keys.js'
import { appendEvent, eventsFor } from '../src/ledger/ledger.js'
import { cli, makeCamera, ROLLOUT_AUTH, sha256File, signedInEnv, station, tempDir, type TestStation } from './helpers.js'
import { appendForeignEvent } from './ledger-support.js'

const STATION = { id: 'test-station', name: 'Test Station <1>', timezone: 'Asia/Shanghai' }
const hasPython = spawnSync('python3', ['--version']).status === 0

/** Stands in for the media worker: a proxy object, its `derived` event and derivatives row. */
async function addDerivative(s: TestStation, recordingId: number): Promise<string> {
  const bytes = Buffer.from(`proxy of recording ${recordingId}`)
  const sha = createHash('sha256').update(bytes).digest('hex')
  const staged = join(s.vault.stagingDir, 'proxy.part')
  writeFileSync(staged, bytes)
  await s.vault.commitObject(staged, sha)
  const rec = s.db.prepare('SELECT sha256 FROM recordings WHERE id = ?').get(recordingId) as { sha256: string }
  s.db.transaction(() => {
    const ev = appendEvent(s.db, {
      type: 'derived',
      actor: 'station:test-station',
      subject: `recording:${recordingId}`,
      payload: {
        derivativeId: 1,
        recordingId,
        kind: 'proxy',
        sha256: sha,
        size: bytes.length,
        mimeType: 'video/mp4',
        inputSha256: rec.sha256,
        ffmpegVersion: null,
        args: [],
      },
    })
    s.db
      .prepare(
        'INSERT INTO derivatives (id, recording_id, kind, sha256, size, mime_type, input_sha256, ffmpeg_version, args, created_at, event_seq) VALUES (1, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)',
      )
      .run(recordingId, 'proxy', sha, bytes.length, 'video/mp4', rec.sha256, '[]', ev.at, ev.seq)
  })()
  return sha
}

/** Stands in for the media worker's probes: the clip has a duration, its linked sidecar the GPS. */
function addProbes(s: TestStation, clip: number, sidecar: number): void {
  s.db.transaction(() => {
    appendForeignEvent(s.db, {
      type: 'probed',
      actor: 'station:test-station',
      subject: `recording:${clip}`,
      payload: { recordingId: clip, durationSec: 12.5, gpsLat: null, gpsLon: null, container: 'mp4', links: [{ sidecarId: sidecar, recordingId: clip }] },
    })
    const ev = appendForeignEvent(s.db, {
      type: 'probed',
      actor: 'station:test-station',
      subject: `recording:${sidecar}`,
      payload: { recordingId: sidecar, durationSec: null, gpsLat: 31.230416, gpsLon: 121.473701, gpsSource: 'srt:cue@0s', container: 'srt', links: [] },
    })
    s.db.prepare('INSERT INTO media_links (sidecar_id, recording_id, event_seq) VALUES (?, ?, ?)').run(sidecar, clip, ev.seq)
  })()
}

let s: TestStation
let key: StationKey
let zip: string
let result: EvidencePackageResult
let ids: number[]
let work: string

t.before(async () => {
  work = tempDir(t)
  const cam = await makeCamera(join(work, 'cam'), ['--count', '6'])
  s = station(t)
  const r = await s.ingest(cam)
  ids = r.ingested.map((x) => x.id)
  key = loadOrCreateStationKey(s.dataDir, STATION.id)
  await addDerivative(s, ids[0]!)
  addProbes(s, ids[0]!, ids[1]!)
  zip = join(work, 'out', 'package.zip')
  result = await buildEvidencePackage({
    db: s.db,
    vault: s.vault,
    recordingIds: [ids[0]!, ids[1]!],
    requestedBy: 'token:7 (clerk Li)',
    approvedBy: 'token:3 (supervisor Wang)',
    reason: 'Court request <script>alert(1)</script> & "quotes"',
    recipient: 'District court, case 2026-17',
    includeDerivatives: true,
    out: zip,
    station: STATION,
    key,
  })
})

t.test('the package and the ledger record of its export', async (t) => {
  t.ok(existsSync(zip))
  t.equal(result.sha256, sha256File(zip), "result.sha256 is the zip file's SHA-256")
  t.equal(result.recordings, 2)
  t.same(readdirSync(join(work, 'out')), ['package.zip'], 'no temporary file is left')
  const exported = ids.slice(0, 2).map((id) => eventsFor(s.db, `recording:${id}`).find((e) => e.type === 'exported'))
  t.same(
    exported.map((e) => e?.seq),
    result.exportEvents,
  )
  const p = exported[0]!.payload
  t.match(p, {
    packageId: result.packageId,
    recordingIds: ids.slice(0, 2),
    requestedBy: 'token:7 (clerk Li)',
    approvedBy: 'token:3 (supervisor Wang)',
    recipient: 'District court, case 2026-17',
    manifestSha256: result.manifestSha256,
    packageSha256: result.sha256,
    checkpointSize: result.checkpoint.treeSize,
  })
  t.ok(result.checkpoint.treeSize < exported[0]!.seq, 'the checkpoint in the package predates the export events')
  const { entries } = await readPackage(zip)
  t.equal(entries.get('manifest.json')?.sha256, result.manifestSha256, "the ledger records the manifest's hash")
  const manifest = JSON.parse(entries.get('manifest.json')!.bytes!.toString()) as {
    recordings: { id: number; derivatives: { kind: string }[]; events: number[] }[]
    files: { path: string }[]
  }
  t.same(
    manifest.recordings.map((r) => r.id),
    ids.slice(0, 2),
  )
  t.same(
    manifest.recordings[0]!.derivatives.map((d) => d.kind),
    ['proxy'],
    'the derivative is included',
  )
  t.ok(manifest.files.some((f) => f.path.startsWith('derivatives/')))
  const sheet = entries.get(`sheets/recording-${ids[0]}.html`)!.bytes!.toString()
  t.notMatch(sheet, /<script>/, 'values are escaped in the evidence sheet')
  t.match(sheet, /&#60;script&#62;alert\(1\)&#60;\/script&#62; &#38; &#34;quotes&#34;/)
  t.match(sheet, /Test Station &#60;1&#62;/)
  t.match(sheet, /Officer \(police number\)<\/th><td>012345/)
  t.match(sheet, /Recorded at \(camera time\)<\/th><td>2026-11-20 08:0\d:\d\d \+08:00/)
  t.match(sheet, /<td>ingested<\/td>/, 'the custody trail lists the ingest')
  t.match(sheet, /<td>derived<\/td>/)
  t.match(
    sheet,
    new RegExp(`Place</th><td>GPS 31.230416, 121.473701 \\(source: sidecar recording:${ids[1]} \\(ledger event \\d+\\)\\)`),
    'the place, from the linked sidecar',
  )
  t.match(sheet, /Duration<\/th><td>0 min 13 s \(12.5 s\)/)
  t.match(sheet, new RegExp(`<td>probed<br><small>recording:${ids[1]}</small></td>`), "the sidecar's probe is in the trail, as the proof of the place")
})

t.test('verify-package: clean, with and without the trusted key (library and CLI)', async (t) => {
  const r = await verifyEvidencePackage(zip, { trustedKey: key.publicKey })
  t.same(r.failures, [])
  t.ok(r.ok)
  t.equal(r.trustedKey, 'matched')
  t.same(r.checked.recordings, 2)
  t.same(r.warnings, [])
  const selfOnly = await verifyEvidencePackage(zip)
  t.ok(selfOnly.ok)
  t.match(selfOnly.warnings, [/checked against the key inside the package only/])

  const pem = join(work, 'trusted.pem')
  writeFileSync(pem, key.pem)
  const c = cli(['verify-package', zip, '--key', pem])
  t.equal(c.code, 0, c.stdout + c.stderr)
  t.match(
    c.stdout,
    /^ok: package [0-9a-f-]{36}, \d+ files .*2 recordings, \d+ events, checkpoint bodyvault\/test-station at \d+ events; key [0-9a-f]{64} \(matches the trusted key\); 0 failure\(s\)\n$/,
  )
  const vk = join(work, 'station.vkey')
  writeFileSync(vk, key.vkey)
  t.equal(cli(['verify-package', zip, '--key', vk]).code, 0, 'a vkey file works too')
  const j = cli(['verify-package', zip, '--key-hex', key.publicKey.toString('hex'), '--json'])
  t.equal(j.code, 0)
  t.match(JSON.parse(j.stdout), { ok: true, trustedKey: 'matched', failures: [] })
  const other = loadOrCreateStationKey(tempDir(t), 'x')
  const wrong = cli(['verify-package', zip, '--key-hex', other.publicKey.toString('hex')])
  t.equal(wrong.code, 1)
  t.match(wrong.stdout, /FAIL key-untrusted station\.pub\.pem: the package is signed by key/)
  t.match(cli(['verify-package', zip, '--key-hex', 'abc']), { code: 2, stderr: /Ed25519 public key/ })
  t.match(cli(['verify-package', join(work, 'nope.zip')]), { code: 2, stderr: /cannot read/ })
})

t.test("the custody report PDF is in the package and its manifest; pdftotext reads each recording's hash from it", async (t) => {
  const { entries } = await readPackage(zip)
  const manifest = JSON.parse(entries.get('manifest.json')!.bytes!.toString()) as {
    files: { path: string; sha256: string }[]
    recordings: { sha256: string }[]
  }
  const listed = manifest.files.find((f) => f.path === 'custody-report.pdf')
  t.ok(listed, 'listed in the signed manifest (verify-package checks its hash)')
  const pdf = entries.get('custody-report.pdf')!.bytes!
  t.equal(pdf.subarray(0, 5).toString(), '%PDF-')
  t.equal(createHash('sha256').update(pdf).digest('hex'), listed!.sha256)
  t.ok(
    manifest.files.some((f) => f.path === 'custody-report.html'),
    'beside the HTML',
  )
  const file = join(work, 'custody-report.pdf')
  writeFileSync(file, pdf)
  const text = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).stdout.replace(/\s+/g, '')
  for (const r of manifest.recordings) t.ok(text.includes(r.sha256), `the PDF's text holds ${r.sha256}`)
  t.match(text, /视听资料/, 'in Chinese')
})

t.test('by hand, as VERIFY.md says: sha256sum, openssl, xxd, python3', async (t) => {
  const dir = join(work, 'unzipped')
  mkdirSync(dir)
  const uz = spawnSync('unzip', ['-q', zip, '-d', dir], { encoding: 'utf8' })
  t.equal(uz.status, 0, uz.stderr)
  t.equal(spawnSync('unzip', ['-tq', zip]).status, 0, 'unzip -t: the archive is sound')
  const sh = (cmd: string): { code: number | null; out: string } => {
    const r = spawnSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8' })
    return { code: r.status, out: r.stdout + r.stderr }
  }
  const sums = sh('sha256sum -c SHA256SUMS')
  t.equal(sums.code, 0, sums.out)
  t.notMatch(sums.out, /FAILED/)
  const md = readFileSync(join(dir, 'VERIFY.md'), 'utf8')
  const commands = md.split('\n').filter((l) => /^(openssl|sha256sum|sed|\{ printf)/.test(l))
  const pkeyutl = commands.filter((c) => c.startsWith('openssl pkeyutl'))
  t.same(
    pkeyutl,
    [
      'openssl pkeyutl -verify -pubin -inkey station.pub.pem -rawin -in checkpoint.body -sigfile checkpoint.sig',
      'openssl pkeyutl -verify -pubin -inkey station.pub.pem -rawin -in package.body -sigfile package.sig',
    ],
    'VERIFY.md gives exactly these openssl commands',
  )
  for (const c of pkeyutl) {
    const r = sh(c)
    t.equal(r.code, 0, `${c}: ${r.out}`)
    t.match(r.out, /Signature Verified Successfully/)
  }
  const fp = sh(commands.find((c) => c.startsWith('openssl pkey '))!)
  t.equal(fp.out.split(' ')[0], key.fingerprint, 'the fingerprint matches bodyvault key show')
  t.match(md, new RegExp(key.fingerprint))
  t.equal(sh('sha256sum manifest.json').out.split(' ')[0], sh('sed -n 3p package.body').out.trim(), 'the signed package note names the manifest')
  const ev = sh(commands.find((c) => c.startsWith('{ printf'))!)
  t.equal(ev.code, 0)
  const firstEvent = /must print `([0-9a-f]{64})`, the `hash` in `(events\/\d+\.json)`/.exec(md)!
  t.equal(ev.out.split(' ')[0], firstEvent[1], 'the event hash recomputed with printf | xxd and sha256sum')
  t.match(readFileSync(join(dir, firstEvent[2]!), 'utf8'), `"hash":"${firstEvent[1]}"`)
  for (const [file, shaHex] of [...md.matchAll(/\| \d+ \| `(originals\/[^`]+)` \| `([0-9a-f]{64})` \|/g)].map((m) => [m[1]!, m[2]!])) {
    t.equal(sh(`sha256sum ${file}`).out.split(' ')[0], shaHex, `${file} has its SHA-256`)
  }
  if (hasPython) {
    const py = sh('python3 tools/check_package.py')
    t.equal(py.code, 0, py.out)
    t.match(py.out, /^OK: \d+ files, 2 recordings, \d+ events/)
  } else t.comment('python3 not installed: tools/check_package.py not run')
  const folder = await verifyEvidencePackage(dir, { trustedKey: key.publicKey })
  t.same(folder.failures, [], 'the unzipped folder verifies too')
})

t.test('CLI export-package: writes, refuses to overwrite, names bad input', async (t) => {
  const out = join(work, 'cli.zip')
  const bare = { BODYVAULT_DATA_DIR: s.dataDir, BODYVAULT_CONFIG: writeConfig(work) }
  t.match(cli(['export-package', '--recording', String(ids[2]), '--reason', 'audit', '--out', out], bare), { code: 2, stderr: /sign in first/ })
  const env = await signedInEnv(bare, { username: 'sup.zhao', roles: 'supervisor' })
  const r = cli(
    ['export-package', '--recording', String(ids[2]), '--recording', String(ids[3]), '--reason', 'audit', '--recipient', 'inspector', '--out', out, '--json'],
    env,
  )
  t.equal(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout) as EvidencePackageResult
  t.equal(j.sha256, sha256File(out))
  t.equal(j.recordings, 2)
  const v = cli(['verify-package', out, '--key-hex', key.publicKey.toString('hex')])
  t.equal(v.code, 0, v.stdout)
  t.match(cli(['export-package', '--recording', String(ids[2]), '--reason', 'again', '--out', out], env), { code: 2, stderr: /already exists/ })
  t.match(cli(['export-package', '--recording', '9999', '--reason', 'x', '--out', join(work, 'x.zip')], env), { code: 2, stderr: /there is no recording 9999/ })
  t.match(cli(['export-package', '--recording', 'one', '--reason', 'x', '--out', join(work, 'x.zip')], env), {
    code: 2,
    stderr: /--recording: "one" is not a recording id/,
  })
  t.match(cli(['export-package', '--recording', '1', '--out', join(work, 'x.zip')], env), { code: 2, stderr: /--reason TEXT is required/ })
  t.notOk(existsSync(join(work, 'x.zip')))
  const exp = eventsFor(s.db, `recording:${ids[2]}`).filter((e) => e.type === 'exported')
  t.equal(exp.length, 1, 'one export recorded; the refused ones recorded nothing')
  t.match(exp[0]!.payload, { requestedBy: /^user:/, approvedBy: /^user:/, reason: 'audit', recipient: 'inspector' })
})

t.test('a ZIP64 package verifies (the format multi-GB originals need)', async (t) => {
  const out = join(work, 'zip64.zip')
  await buildEvidencePackage({
    db: s.db,
    vault: s.vault,
    recordingIds: [ids[0]!],
    requestedBy: 'a',
    approvedBy: 'b',
    reason: 'r',
    recipient: 'c',
    out,
    station: STATION,
    key,
    forceZip64: true,
  })
  const r = await verifyEvidencePackage(out, { trustedKey: key.publicKey })
  t.same(r.failures, [])
  t.equal(spawnSync('unzip', ['-tq', out]).status, 0)
})

function writeConfig(dir: string): string {
  const f = join(dir, 'cfg.json')
  writeFileSync(
    f,
    JSON.stringify({
      station: { id: STATION.id, name: 'Test Station', timezone: STATION.timezone },
      auth: ROLLOUT_AUTH,
      docking: { mountRoots: [join(dir, 'roots')] },
    }),
  )
  return f
}
