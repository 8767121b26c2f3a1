// The disaster-recovery drill (issue 24), end to end against Ceph RGW:
// a station docks a camera through its daemon (real ffmpeg media, a GPS
// sidecar, a broken clip), a clerk files cases and holds, everything is
// offloaded; then its data dir is destroyed. A new data dir is rebuilt from
// the bucket alone, `verify` is clean, search, playback of an evicted
// original and an export work, docking resumes, and the ledger goes on as
// the same chain. It prints the drill's figures.
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { offloadSettings } from '../src/offload/config.js'
import { S3Store } from '../src/offload/s3.js'
import { placeFolder, startDaemon, waitFor, type RunningDaemon } from './daemon-support.js'
import { cli, makeCamera, ROLLOUT_AUTH, signedInEnv, tempDir } from './helpers.js'
import { useS3Server } from './s3-support.js'

const server = await useS3Server(t, 'drill')
// The daemons and CLI children read the S3 credentials from the environment (never from the config file).
Object.assign(process.env, server.env)

const dir = tempDir(t, 'bv-drill-')
const roots = join(dir, 'media')
mkdirSync(roots)
const bucket = `bv-drill-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
const config = {
  station: { id: 'drill-7', name: 'Drill station' },
  auth: ROLLOUT_AUTH,
  offload: { bucket, intervalSeconds: 2, retry: { baseSeconds: 0.2, maxSeconds: 1 } },
}
const cfgFile = join(dir, 'station.json')
writeFileSync(cfgFile, JSON.stringify({ ...config, docking: { mountRoots: [roots] } }))
const data1 = join(dir, 'data1')
const data2 = join(dir, 'data2')
const e1 = { BODYVAULT_CONFIG: cfgFile, BODYVAULT_DATA_DIR: data1 }
const e2 = { BODYVAULT_CONFIG: cfgFile, BODYVAULT_DATA_DIR: data2 }

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const json = <T>(r: { code: number; stdout: string; stderr: string }, what: string): T => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr || r.stdout}`)
  return JSON.parse(r.stdout) as T
}
/** A read-only look into a data dir's catalog (the CLI children and daemons own it; the test only reads). */
function query<T>(data: string, sql: string): T[] {
  const db = new Database(join(data, 'catalog.db'), { readonly: true })
  try {
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}
const events = (data: string) =>
  query<{ seq: number; type: string; hash: string; prevHash: string }>(data, 'SELECT seq, type, hash, prev_hash AS prevHash FROM events ORDER BY seq')
const recordings = (data: string) => query<Rec>(data, 'SELECT id, sha256, source_path AS sourcePath, kind, status FROM recordings ORDER BY id')
const count = (data: string, sql: string): number => query<{ n: number }>(data, `SELECT (${sql}) AS n`)[0]!.n

interface Rec {
  id: number
  sha256: string
  sourcePath: string
  kind: string
  status: string
}

/** Docks a folder camera on the daemon and waits until it is safe to undock, then undocks it. */
async function dock(d: RunningDaemon, src: string, name: string): Promise<void> {
  placeFolder(src, join(roots, name))
  const cam = await waitFor(
    async () => (await d.status()).cameras.find((c) => c.volume === join(roots, name) && c.state === 'safe-to-undock'),
    `${name} safe to undock`,
    180_000,
    200,
  ).catch(async (err: unknown) => {
    t.comment(JSON.stringify((await d.status()).cameras), d.lines.slice(-15).join('\n'))
    throw err
  })
  t.equal(cam.lastError, null, `${name}: docked without an error`)
  rmSync(join(roots, name), { recursive: true, force: true })
  await waitFor(async () => (await d.status()).cameras.length === 0, `${name} undocked`)
}

async function api(d: RunningDaemon, token: string, path: string): Promise<Response> {
  return fetch(`${d.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
}

// A generated camera (H.264 with its GPS sidecar, H.265, MJPEG AVI, WAV, two photos, a truncated and an empty clip).
const cam1 = await makeCamera(join(dir, 'cam1'), ['--count', '6', '--broken'])

t.test('the drill: a station lost and rebuilt from the bucket', async (t) => {
  // ---- 1. The station at work.
  const started = Date.now()
  const a = await startDaemon(t, { dataDir: data1, roots: [roots], configDir: dir, config, listenMs: 90_000 })
  await dock(a, cam1, 'CAM1')
  const recs = recordings(data1)
  const by = (re: RegExp): Rec => recs.find((r) => re.test(r.sourcePath))!
  const clip = by(/_0001_IMP\.MP4$/)
  const srt = by(/\.SRT$/)
  const hevc = by(/_0004\.MP4$/)
  const wav = by(/\.WAV$/)
  await waitFor(() => count(data1, "SELECT count(*) FROM media_jobs WHERE state IN ('queued', 'running')") === 0, 'the media jobs', 180_000, 250)
  // Evidence commands record a signed-in person (issue 18).
  const sup1 = await signedInEnv(e1, { username: 'sup.zhao', roles: 'clerk,supervisor' })
  t.equal(cli(['categorize', String(hevc.id), 'patrol', '--reason', 'routine patrol'], sup1).code, 0)
  t.equal(cli(['case', 'create', 'XZ-2026-9', '--type', 'compulsory-measures'], sup1).code, 0)
  t.equal(cli(['case', 'link', 'XZ-2026-9', String(clip.id), String(srt.id), '--reason', 'seizure'], sup1).code, 0)
  t.equal(cli(['hold', 'place', String(wav.id), '--reason', 'complaint filed'], sup1).code, 0)
  const clerk1 = json<{ token: string }>(cli(['token', 'create', '--role', 'clerk', '--name', 'desk', '--json'], e1), 'token create').token
  const before = new Map<number, unknown>()
  for (const r of recs) {
    const j = (await (await api(a, clerk1, `/v1/recordings/${r.id}`)).json()) as Record<string, unknown>
    before.set(r.id, { recording: j.recording, media: j.media, derivatives: j.derivatives, retention: j.retention })
  }
  const clipBefore = before.get(clip.id) as { media: { gps: unknown; sidecarIds: number[] }; derivatives: { kind: string; sha256: string }[] }
  t.same(clipBefore.media.sidecarIds, [srt.id], 'the clip has its GPS sidecar')
  const search1 = (await (await api(a, clerk1, '/v1/recordings?officer=012345&limit=100')).json()) as { items: { id: number }[] }
  // Read to the end: a response left unread keeps its connection busy, and the daemon's stop waits for it (36-75 s
  // here on 2026-12-01, before the stop cut such connections after its 10 s grace: closeApi, src/api/server.ts).
  const played = await api(a, clerk1, `/v1/recordings/${clip.id}/proxy`)
  t.equal(played.status, 200, 'a clerk plays the proxy (a viewed event)')
  t.equal(sha(Buffer.from(await played.arrayBuffer())), clipBefore.derivatives.find((x) => x.kind === 'proxy')?.sha256, 'the proxy it plays, byte for byte')
  t.equal(await a.stop(), 0)
  // The last events (the hold, the view) reach the bucket: a pass until nothing is left to upload.
  await waitFor(
    () => {
      json(cli(['offload', 'run', '--json'], e1), 'offload run')
      const left = count(data1, 'SELECT count(*) FROM offload_queue')
      const head = count(data1, 'SELECT max(seq) FROM events')
      return left === 0 && count(data1, "SELECT CAST(value AS INTEGER) FROM offload_state WHERE key = 'ledger.uploadedThrough'") === head
    },
    'the bucket to hold everything',
    120_000,
    100,
  )
  const ledger1 = events(data1)
  const counts1 = {
    mediaInfo: count(data1, 'SELECT count(*) FROM media_info'),
    derivatives: count(data1, 'SELECT count(*) FROM derivatives'),
    links: count(data1, 'SELECT count(*) FROM media_links'),
    failedJobs: count(data1, "SELECT count(*) FROM media_jobs WHERE state = 'failed'"),
  }
  t.ok(counts1.derivatives > 0 && counts1.mediaInfo > 0 && counts1.links === 1 && counts1.failedJobs > 0, `media made: ${JSON.stringify(counts1)}`)

  const phase = (what: string): void => t.comment(`${what}: ${((Date.now() - started) / 1000).toFixed(0)} s`)
  phase('the station docked, made its media, filed cases and holds, offloaded')
  // ---- 2. The disk is lost. The station key is in no bucket: its backup is kept apart (install.md, "A station lost").
  const keyBackup = readFileSync(join(data1, 'keys', 'station.ed25519'))
  rmSync(data1, { recursive: true, force: true })

  // ---- 3. A new data dir, rebuilt from the bucket alone.
  const t0 = Date.now()
  const re = cli(['reindex', '--from-s3', '--json'], e2)
  const reindexMs = Date.now() - t0
  t.equal(re.code, 0, re.stderr || re.stdout)
  const rr = JSON.parse(re.stdout) as {
    events: number
    recordings: number
    media: { mediaInfo: number; derivatives: number; links: number; mediaJobs: { failed: number }; reprobe: number[] }
    manifestsMissing: number[]
    objects: { remote: number; checked: number; missing: string[] }
    notRestored: string[]
    durationMs: number
  }
  t.match(rr, {
    events: ledger1.length,
    recordings: recs.length,
    media: { mediaInfo: counts1.mediaInfo, derivatives: counts1.derivatives, links: counts1.links, mediaJobs: { failed: counts1.failedJobs }, reprobe: [] },
    manifestsMissing: [],
    objects: { missing: [] },
  })
  t.equal(rr.objects.checked, rr.objects.remote)
  t.match(rr.notRestored.join('\n'), /1 API token\(s\)/, 'it says what it could not restore')
  // The key file put back from its backup: without it nothing is signed and start refuses (KEY_MISMATCH).
  mkdirSync(join(data2, 'keys'), { recursive: true, mode: 0o700 })
  writeFileSync(join(data2, 'keys', 'station.ed25519'), keyBackup, { mode: 0o600 })
  const v = cli(['verify', '--json'], e2)
  t.equal(v.code, 0, v.stdout)
  t.same((JSON.parse(v.stdout) as { problems: unknown[] }).problems, [], 'verify is clean: chain, recordings, cases, holds, deadlines, media, remote copies')
  const doctor = cli(['doctor'], e2)
  t.match(doctor.stdout, /rebuilt from S3/)
  t.match(doctor.stdout, /note\s+not restored\s+1 API token\(s\)/, 'doctor says what was not restored')
  const ledger2 = events(data2)
  t.same(ledger2.slice(0, ledger1.length), ledger1, 'the rebuilt ledger is the same chain, event for event')
  t.match(ledger2[ledger1.length], { type: 'catalog-rebuilt', prevHash: ledger1.at(-1)!.hash }, 'and goes on from its head')

  phase('rebuilt and verified')
  // ---- 4. The rebuilt station at work.
  const b = await startDaemon(t, { dataDir: data2, roots: [roots], configDir: dir, config, listenMs: 90_000 })
  const clerk2 = json<{ token: string }>(cli(['token', 'create', '--role', 'clerk', '--name', 'desk', '--json'], e2), 'token create').token
  t.equal((await api(b, clerk1, '/v1/recordings')).status, 401, 'the old token is gone with the old data dir')
  const search2 = (await (await api(b, clerk2, '/v1/recordings?officer=012345&limit=100')).json()) as { items: { id: number }[] }
  t.same(search2.items, search1.items, 'search answers as before')
  for (const r of recs) {
    const j = (await (await api(b, clerk2, `/v1/recordings/${r.id}`)).json()) as Record<string, unknown>
    t.same(
      { recording: j.recording, media: j.media, derivatives: j.derivatives, retention: j.retention },
      before.get(r.id),
      `recording ${r.id}: row, media info, derivatives, retention as before`,
    )
  }
  const orig = await api(b, clerk2, `/v1/recordings/${clip.id}/original?reason=${encodeURIComponent('drill: court request')}`)
  t.equal(orig.status, 200, 'the evicted original plays')
  t.equal(sha(Buffer.from(await orig.arrayBuffer())), clip.sha256, 'fetched back from the bucket, byte for byte')
  const proxy = await api(b, clerk2, `/v1/recordings/${clip.id}/proxy`)
  t.equal(sha(Buffer.from(await proxy.arrayBuffer())), clipBefore.derivatives.find((x) => x.kind === 'proxy')!.sha256, 'and its proxy')

  const out1 = join(dir, 'export-1.zip')
  // Accounts are the station's, not the bucket's: the rebuilt station's supervisor signs in there.
  const sup2 = await signedInEnv(e2, { username: 'sup.zhao', roles: 'clerk,supervisor' })
  const refused = cli(['export-package', '--recording', String(hevc.id), '--reason', 'prosecutor request', '--out', out1], sup2)
  t.match(refused, { code: 3, stderr: /held only in S3.*--restore/ }, 'an export of an evicted original offers to restore it')
  const exp = cli(['export-package', '--recording', String(hevc.id), '--reason', 'prosecutor request', '--out', out1, '--restore', '--json'], sup2)
  t.equal(exp.code, 0, exp.stderr)
  t.equal(cli(['verify-package', out1]).code, 0, 'the package verifies')

  phase('search, playback and export on the rebuilt station')
  // Docking resumes: the same camera again (nothing twice), then a new one.
  await dock(b, cam1, 'CAM1-AGAIN')
  t.equal(recordings(data2).length, recs.length, 're-docking the same camera ingests nothing twice')
  const cam2 = join(dir, 'cam2')
  mkdirSync(join(cam2, 'DCIM', '100MEDIA'), { recursive: true })
  writeFileSync(join(cam2, 'DEVICE.TXT'), 'DEVICE=B000002\nOFFICER=054321\nMODEL=drill\n')
  for (const n of [1, 2]) writeFileSync(join(cam2, 'DCIM', '100MEDIA', `B000002_054321_20261125090${n}00_000${n}.MP4`), randomBytes(200_000))
  await dock(b, cam2, 'CAM2')
  const all = recordings(data2)
  const fresh = all.filter((r) => r.sourcePath.includes('B000002'))
  t.equal(fresh.length, 2, 'the new camera is ingested')
  t.ok(
    fresh.every((r) => r.id > Math.max(...recs.map((x) => x.id))),
    'under new ids',
  )
  t.equal(await b.stop(), 0)
  json(cli(['offload', 'run', '--json'], e2), 'offload run')
  const v2 = cli(['verify', '--json'], e2)
  t.same((JSON.parse(v2.stdout) as { problems: unknown[] }).problems, [], 'verify clean after the rebuilt station worked')
  const ledger3 = events(data2)
  t.same(ledger3.slice(0, ledger1.length), ledger1, 'still the same chain')

  phase('docking resumed')
  // ---- 5. The figures.
  const s3 = new S3Store(offloadSettings({ station: { id: 'drill-7' }, offload: { bucket } }, server.env)!)
  t.teardown(() => s3.destroy())
  let objects = 0
  let objectBytes = 0
  for await (const o of s3.list('drill-7/objects/')) {
    objects++
    objectBytes += o.size
  }
  const fetched = query<{ payload: string }>(data2, "SELECT payload FROM events WHERE type = 'fetched-back'").map((r) => r.payload)
  const fetchedBytes = fetched.reduce((n, p) => n + (JSON.parse(p) as { size: number }).size, 0)
  t.ok(fetched.length >= 2, 'the evicted original and its proxy came back on demand, each with its event')
  t.comment(
    `drill figures: ${objects} objects in the bucket (${(objectBytes / 1e6).toFixed(1)} MB), ${ledger1.length} events rebuilt, ` +
      `reindex ${(reindexMs / 1000).toFixed(1)} s (CLI, ${(rr.durationMs / 1000).toFixed(1)} s inside), ${fetched.length} objects fetched on demand (${(fetchedBytes / 1e6).toFixed(2)} MB)`,
  )

  // ---- 6. By hand: restore-object brings a recording's objects back, each hashed, with its event naming the person.
  const byHand = cli(['restore-object', String(wav.id), '--json'], sup2)
  t.equal(byHand.code, 0, byHand.stderr)
  const restored = JSON.parse(byHand.stdout) as { objects: { sha256: string; role: string; status: string }[]; fetched: number }
  t.match(restored.objects, [{ sha256: wav.sha256, role: 'original', status: 'fetched' }], 'restore-object fetches the evicted original')
  t.match(
    query<{ actor: string; payload: string }>(data2, `SELECT actor, payload FROM events WHERE type = 'fetched-back' AND subject = 'object:${wav.sha256}'`),
    [{ actor: 'user:sup.zhao', payload: /"reason":"restore-object"/ }],
    'with a fetched-back event naming the person',
  )
  const again = json<{ objects: { status: string }[] }>(cli(['restore-object', String(wav.id), '--json'], sup2), 'restore-object')
  t.ok(
    again.objects.every((o) => o.status === 'local'),
    'a second time: already local',
  )
  t.match(cli(['restore-object', 'no-such-thing'], sup2), { code: 2, stderr: /neither a SHA-256/ }, 'a bad name is refused')
  const v4 = cli(['verify', '--json'], e2)
  t.equal(v4.code, 0, v4.stdout)

  // ---- 7. --fetch brings everything back at once, derivatives too.
  const data3 = join(dir, 'data3')
  const full = json<{ objects: { fetched: number; fetchedBytes: number }; durationMs: number }>(
    cli(['reindex', '--from-s3', '--fetch', '--json'], { BODYVAULT_CONFIG: cfgFile, BODYVAULT_DATA_DIR: data3 }),
    'reindex --fetch',
  )
  const needed = count(
    data3,
    "SELECT count(*) FROM (SELECT sha256 FROM recordings WHERE status = 'stored' UNION SELECT d.sha256 FROM derivatives d JOIN recordings r ON r.id = d.recording_id WHERE r.status = 'stored')",
  )
  t.equal(full.objects.fetched, needed, `--fetch brings every original and derivative back (${needed} objects)`)
  mkdirSync(join(data3, 'keys'), { recursive: true, mode: 0o700 })
  writeFileSync(join(data3, 'keys', 'station.ed25519'), keyBackup, { mode: 0o600 })
  const v3 = cli(['verify', '--json'], { BODYVAULT_CONFIG: cfgFile, BODYVAULT_DATA_DIR: data3 })
  t.equal(v3.code, 0, v3.stdout)
  t.comment(`reindex --fetch: ${full.objects.fetched} objects, ${(full.objects.fetchedBytes / 1e6).toFixed(1)} MB in ${(full.durationMs / 1000).toFixed(1)} s`)
})
