import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, closeSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { getRecording } from '../src/catalog/recordings.js'
import { silentLogger } from '../src/common/log.js'
import type { DockingProfile } from '../src/camera/profile.js'
import { derivativesOf } from '../src/catalog/derivatives.js'
import { getMediaInfo } from '../src/catalog/media-info.js'
import { jobsOf, mediaStatus, retryFailedJobs } from '../src/catalog/media-jobs.js'
import { MediaWorker, type MediaSettings } from '../src/media/worker.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { verifyVault } from '../src/verify/vault.js'
import { cli, defaultConfig, GAT947, makeCamera, station, tempDir, type TestStation } from './helpers.js'

// The media pipeline end to end: a generated camera (H.264, H.265, MJPEG AVI,
// WAV, JPEG photos, an SRT GPS sidecar, a truncated and a zero-byte MP4) is
// ingested, its jobs run with real ffmpeg, and the results are probed back.

const SETTINGS: MediaSettings = { ...defaultConfig().media, nice: 0 }

function worker(s: TestStation, over: Partial<MediaSettings> = {}, profile: DockingProfile = GAT947): MediaWorker {
  return new MediaWorker({
    db: s.db,
    vault: s.vault,
    settings: { ...SETTINGS, ...over },
    profiles: new Map([[profile.id, profile]]),
    stationTimezone: 'Asia/Shanghai',
    actor: 'station:test-station',
    logger: silentLogger(),
    pollMs: 50,
  })
}

interface Probed {
  format: { duration?: string; format_name?: string }
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[]
}
function ffprobe(path: string): Probed {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_format', '-show_streams', `file:${path}`], { encoding: 'utf8' })) as Probed
}

/** Top-level MP4 box types in file order. */
function topBoxes(path: string): string[] {
  const buf = readFileSync(path)
  const out: string[] = []
  let off = 0
  while (off + 8 <= buf.length) {
    let size = buf.readUInt32BE(off)
    const type = buf.toString('latin1', off + 4, off + 8)
    if (size === 1) size = Number(buf.readBigUInt64BE(off + 8))
    else if (size === 0) size = buf.length - off
    if (size < 8) break
    out.push(type)
    off += size
  }
  return out
}

function flipByte(path: string, at: number): void {
  chmodSync(path, 0o644)
  const fd = openSync(path, 'r+')
  const b = Buffer.alloc(1)
  readSync(fd, b, 0, 1, at)
  writeSync(fd, Buffer.from([b[0]! ^ 0x01]), 0, 1, at)
  closeSync(fd)
}

const root = tempDir(t, 'bv-media-')
const cam = await makeCamera(join(root, 'cam'), ['--broken'])
const s = station(t)
const ingest = await s.ingest(cam)
const byName = (re: RegExp): number => {
  const r = ingest.ingested.find((i) => re.test(i.sourcePath))
  if (!r) throw new Error(`no ingested file matches ${re}`)
  return r.id
}
const ID = {
  h264: byName(/_0001\.MP4$/),
  srt: byName(/_0001\.SRT$/),
  imp: byName(/_0003_IMP\.MP4$/),
  wav: byName(/\.WAV$/),
  hevc: byName(/_0006\.MP4$/),
  avi: byName(/\.AVI$/),
  jpg: byName(/_0002\.JPG$/),
  trunc: byName(/_TRUNC\.MP4$/),
  empty: byName(/_EMPTY\.MP4$/),
}

// Before any job ran (tap subtests start after the top-level awaits below).
const before = {
  h264: jobsOf(s.db, ID.h264).map((j) => [j.kind, j.state]),
  wav: jobsOf(s.db, ID.wav).map((j) => j.kind),
  jpg: jobsOf(s.db, ID.jpg).map((j) => j.kind),
  srt: jobsOf(s.db, ID.srt).map((j) => j.kind),
  status: mediaStatus(s.db),
}
const drained = await worker(s).drain()

t.test('ingest queues the jobs in its own transaction and does not wait for them', async (t) => {
  t.equal(ingest.state, 'complete', 'safe to undock: every original is in the vault')
  t.strictSame(before.h264, [
    ['probe', 'queued'],
    ['proxy', 'queued'],
    ['thumbnail', 'queued'],
  ])
  t.strictSame(before.wav, ['probe', 'proxy'])
  t.strictSame(before.jpg, ['probe', 'thumbnail'])
  t.strictSame(before.srt, ['probe'])
  t.equal(before.status.byState.queued, 7 * 3 + 2 + 2 * 2 + 1, 'video 3 each (7 MP4/AVI), audio 2, photo 2 each, sidecar 1')
  t.equal(before.status.byState.done + before.status.byState.running + before.status.byState.failed, 0)
})

t.test('jobs run: everything done except the broken files', async (t) => {
  const failed = drained.outcomes
    .filter((o) => o.outcome === 'failed')
    .map((o) => `${o.recordingId}:${o.kind}`)
    .sort()
  t.strictSame(
    failed,
    [`${ID.empty}:probe`, `${ID.trunc}:probe`].sort(),
    'only the probes of the truncated and the zero-byte file fail (their dependents are failed unrun)',
  )
  const st = mediaStatus(s.db)
  t.equal(st.byState.queued, 0)
  t.equal(st.byState.running, 0)
  t.equal(st.byState.failed, 6, 'probe, proxy and thumbnail of each broken file')
  t.equal(st.derivatives, 5 + 5 + 1 + 2, 'a proxy and a thumbnail for each of the 5 good videos, the audio proxy, 2 photo thumbnails')
})

t.test('each video proxy is H.264 + AAC, remuxed or at most 720p, same duration, moov before mdat', async (t) => {
  for (const id of [ID.h264, ID.imp, ID.hevc, ID.avi]) {
    const info = getMediaInfo(s.db, id)!
    const proxy = derivativesOf(s.db, id).find((d) => d.kind === 'proxy')
    if (!t.ok(proxy, `recording ${id} has a proxy`) || !proxy) continue
    t.equal(proxy.mimeType, 'video/mp4')
    const path = s.vault.objectPath(proxy.sha256)
    const p = ffprobe(path)
    const v = p.streams.find((x) => x.codec_type === 'video')
    const a = p.streams.find((x) => x.codec_type === 'audio')
    t.equal(v?.codec_name, 'h264', `${id}: video h264 (original ${info.videoCodec})`)
    t.equal(a?.codec_name, 'aac', `${id}: audio aac (original ${info.audioCodec})`)
    // The H.264/AAC MP4 originals qualify for a remux (the default policy): the same 1080p streams, copied.
    const ev = eventsFor(s.db, `recording:${id}`).find((e) => e.type === 'derived' && (e.payload as { kind: string }).kind === 'proxy')
    const how = (ev?.payload as { proxy?: { method: string; why: string[] } } | undefined)?.proxy
    const remuxed = id === ID.h264 || id === ID.imp
    t.equal(how?.method, remuxed ? 'remux' : 'transcode', `${id}: ${info.videoCodec}/${info.audioCodec} in ${info.container} is a ${how?.method} (${how?.why})`)
    if (remuxed) {
      t.strictSame([v?.width, v?.height], [info.width, info.height], `${id}: the original's picture size`)
      t.ok(proxy.args.includes('copy') && !proxy.args.includes('libx264'), `${id}: stream copy, no encoder`)
    } else {
      t.ok((v?.height ?? 9999) <= 720, `${id}: ${v?.width}x${v?.height} is at most 720p`)
      t.match(how?.why.join(' '), info.videoCodec === 'hevc' ? /video hevc/ : /video mjpeg/, `${id}: the reason is recorded`)
    }
    const d = Number(p.format.duration)
    t.ok(Math.abs(d - info.durationSec!) <= 0.5, `${id}: duration ${d} within 0.5 s of ${info.durationSec}`)
    const boxes = topBoxes(path)
    t.ok(boxes.indexOf('moov') >= 0 && boxes.indexOf('moov') < boxes.indexOf('mdat'), `${id}: faststart (${boxes.join(' ')})`)
    t.equal(proxy.inputSha256, getRecording(s.db, id)!.sha256)
    t.ok(proxy.args.includes('file:{input}') && proxy.args.includes('+faststart'), 'the argument list is recorded')
  }
})

t.test('the audio proxy is AAC only, same duration', async (t) => {
  const info = getMediaInfo(s.db, ID.wav)!
  t.equal(info.mediaKind, 'audio')
  const ds = derivativesOf(s.db, ID.wav)
  t.strictSame(
    ds.map((d) => d.kind),
    ['audio-proxy'],
    'no thumbnail for audio',
  )
  const p = ffprobe(s.vault.objectPath(ds[0]!.sha256))
  t.strictSame(
    p.streams.map((x) => `${x.codec_type}:${x.codec_name}`),
    ['audio:aac'],
  )
  t.ok(Math.abs(Number(p.format.duration) - info.durationSec!) <= 0.5, `duration ${p.format.duration} vs ${info.durationSec}`)
  t.equal(ds[0]!.mimeType, 'audio/mp4')
})

t.test('thumbnails of videos and photos decode as JPEG', async (t) => {
  for (const id of [ID.h264, ID.imp, ID.hevc, ID.avi, ID.jpg, byName(/_0008\.JPG$/)]) {
    const th = derivativesOf(s.db, id).find((d) => d.kind === 'thumbnail')
    if (!t.ok(th, `recording ${id} has a thumbnail`) || !th) continue
    const path = s.vault.objectPath(th.sha256)
    const head = readFileSync(path).subarray(0, 3)
    t.strictSame([...head], [0xff, 0xd8, 0xff], 'JPEG SOI marker')
    const dec = spawnSync('ffmpeg', ['-v', 'error', '-i', `file:${path}`, '-f', 'null', '-'], { encoding: 'utf8' })
    t.equal(dec.status, 0, `decodes cleanly ${dec.stderr}`)
    const p = ffprobe(path)
    t.equal(p.streams[0]?.codec_name, 'mjpeg')
    t.ok((p.streams[0]?.width ?? 9999) <= 320)
    t.equal(th.mimeType, 'image/jpeg')
  }
  const h264 = derivativesOf(s.db, ID.h264).find((d) => d.kind === 'thumbnail')!
  const info = getMediaInfo(s.db, ID.h264)!
  t.equal(h264.args[h264.args.indexOf('-ss') + 1], (info.durationSec! * 0.1).toFixed(3), 'video thumbnail at 10% of the duration')
  t.notOk(
    derivativesOf(s.db, ID.jpg)
      .find((d) => d.kind === 'thumbnail')!
      .args.includes('-ss'),
    'photo: no seek',
  )
})

t.test('probe metadata in the catalog', async (t) => {
  const h = getMediaInfo(s.db, ID.h264)!
  t.match(h, { mediaKind: 'video', videoCodec: 'h264', width: 1920, height: 1080, fps: 30, audioCodec: 'aac', sampleRate: 48000, channels: 1 })
  t.match(h.container, /mp4/)
  t.ok(h.bitRate! > 1_000_000)
  t.equal(h.durationSec, 3)
  const tags = JSON.parse(h.tags) as { format: Record<string, string>; streams: Record<string, string>[] }
  t.match(tags.format, { creation_time: /^2026-11-20T00:00:00/ }, 'raw format tags kept')
  t.equal(tags.streams.length, 2, 'raw stream tags kept')
  t.match(getMediaInfo(s.db, ID.hevc)!, { videoCodec: /^(hevc|h264)$/, width: 1280, height: 720 })
  t.match(getMediaInfo(s.db, ID.avi)!, { container: 'avi', videoCodec: 'mjpeg', audioCodec: 'pcm_s16le' })
  t.match(getMediaInfo(s.db, ID.jpg)!, { mediaKind: 'photo', videoCodec: 'mjpeg', durationSec: null })
  const ev = s.db.prepare("SELECT payload FROM events WHERE type = 'probed' AND subject = ?").get(`recording:${ID.h264}`) as { payload: string }
  t.match(
    JSON.parse(ev.payload),
    {
      recordingId: ID.h264,
      durationSec: 3,
      videoCodec: 'h264',
      width: 1920,
      height: 1080,
      createdUtc: '2026-11-20T00:00:00.000Z',
      createdOffset: '+08:00',
      createdInterpretation: 'utc',
      gpsLat: null,
    },
    'the probed event carries the key facts',
  )
})

t.test('the broken originals: failed for good with the ffmpeg error, still in the vault, still verify', async (t) => {
  for (const [id, what] of [
    [ID.trunc, 'truncated'],
    [ID.empty, 'zero-byte'],
  ] as const) {
    const jobs = jobsOf(s.db, id)
    t.strictSame(
      jobs.map((j) => j.state),
      ['failed', 'failed', 'failed'],
      `${what}: every job failed`,
    )
    const probe = jobs.find((j) => j.kind === 'probe')!
    t.equal(probe.attempts, 1, 'not retried: the same bytes give the same error')
    t.match(
      probe.lastError,
      /^FFMPEG_FAILED: ffprobe exited with code 1\n[\s\S]*Invalid data found when processing input/,
      `${what}: ffprobe's error is recorded`,
    )
    if (id === ID.trunc) t.match(probe.lastError, /moov atom not found/, 'with the stderr tail')
    t.match(jobs.find((j) => j.kind === 'proxy')!.lastError, /^not run: the probe of this recording failed/)
    const ev = s.db.prepare("SELECT payload FROM events WHERE type = 'media-failed' AND subject = ?").get(`recording:${id}`) as { payload: string } | undefined
    t.match(JSON.parse(ev?.payload ?? '{}'), { job: 'probe', code: 'FFMPEG_FAILED', dependentsFailed: ['proxy', 'thumbnail'] }, 'the failure is in the ledger')
    t.equal(getRecording(s.db, id)!.status, 'stored', 'the original stays')
  }
  const v = await verifyVault(s.db, s.vault)
  t.strictSame(v.problems, [], 'verify: originals (broken ones included), derivatives, media info all clean')
  t.strictSame(v.notes, [], 'no unreferenced objects')
  t.equal(v.checked.objects, 11 + mediaStatus(s.db).derivatives, 'originals and derivatives re-hashed')

  const st = cli(['media', 'status', '--json'], { BODYVAULT_DATA_DIR: s.dataDir })
  t.equal(st.code, 0, st.stderr)
  const js = JSON.parse(st.stdout) as ReturnType<typeof mediaStatus>
  t.equal(js.byState.failed, 6)
  t.ok(
    js.failed.some((f) => f.kind === 'probe' && /_TRUNC\.MP4$/.test(f.sourcePath) && /moov atom not found/.test(f.error ?? '')),
    'media status --json lists the failed jobs with their errors',
  )
  const txt = cli(['media', 'status'], { BODYVAULT_DATA_DIR: s.dataDir })
  t.match(txt.stdout, /queue: 0 queued, 0 running, \d+ done, 6 failed/)
  t.match(txt.stdout, /FAILED {3}job \d+ {2}probe {2}recording:\d+ DCIM\/100MEDIA\/\S+_TRUNC\.MP4/)
})

t.test('GPS from the SRT sidecar, linked to its clip', async (t) => {
  const clip = getMediaInfo(s.db, ID.h264)!
  t.strictSame(clip.sidecarIds, [ID.srt], 'the sidecar with the same base name from the same device is linked')
  t.match(clip.gps, { lat: 31.230416, lon: 121.473701, source: `sidecar:recording:${ID.srt}` }, "the clip's position comes from its sidecar")
  const side = getMediaInfo(s.db, ID.srt)!
  t.match(side, {
    mediaKind: 'sidecar',
    container: 'srt',
    gpsPoints: 3,
    sidecarOf: ID.h264,
    createdUtc: '2026-11-20T00:00:00.000Z',
    createdInterpretation: 'camera-local',
  })
  t.equal(JSON.parse(side.gpsTrack!).length, 3)
  t.equal(getMediaInfo(s.db, ID.imp)!.gps, null, 'a clip without a sidecar or GPS tags has none')
})

t.test('creation time: UTC by default, camera-local when the profile says so', async (t) => {
  const utc = getMediaInfo(s.db, ID.h264)!
  t.match(utc, {
    createdUtc: '2026-11-20T00:00:00.000Z',
    createdOffset: '+08:00',
    createdLocal: '2026-11-20T08:00:00.000+08:00',
    createdInterpretation: 'utc',
    profileId: 'gat947',
    timeZone: 'Asia/Shanghai',
    creationTimeIsLocal: false,
  })
  t.equal(utc.createdUtc, getRecording(s.db, ID.h264)!.recordedAt, 'this camera writes UTC: it agrees with the file name')

  // The same camera docked under a profile that says its clock writes local time into creation_time.
  const local: DockingProfile = { ...GAT947, creationTimeIsLocal: true }
  const s2 = station(t)
  await s2.ingest(cam, { profile: local })
  await new MediaWorker({
    db: s2.db,
    vault: s2.vault,
    settings: SETTINGS,
    profiles: new Map([[local.id, local]]),
    stationTimezone: 'UTC',
    actor: 'station:test-station',
    logger: silentLogger(),
    kinds: ['probe'],
  }).drain()
  const id2 = (s2.db.prepare('SELECT id FROM recordings WHERE source_path LIKE ?').get('%_0001.MP4') as { id: number }).id
  const loc = getMediaInfo(s2.db, id2)!
  t.match(loc, {
    createdUtc: '2026-11-19T16:00:00.000Z',
    createdOffset: '+08:00',
    createdLocal: '2026-11-20T00:00:00.000+08:00',
    createdInterpretation: 'camera-local',
    createdRaw: '2026-11-20T00:00:00.000000Z',
    creationTimeIsLocal: true,
  })
  const ev = s2.db.prepare("SELECT payload FROM events WHERE type = 'probed' AND subject = ?").get(`recording:${id2}`) as { payload: string }
  t.match(
    JSON.parse(ev.payload),
    {
      createdUtc: '2026-11-19T16:00:00.000Z',
      createdInterpretation: 'camera-local',
      creationTimeIsLocal: true,
      profileId: 'gat947',
      timeZone: 'Asia/Shanghai',
    },
    'the rule applied is in the ledger',
  )
  t.equal(mediaStatus(s2.db).derivatives, 0, 'kinds filter: only probes ran')
})

/** A copy of the finished station to tamper with. */
function copyStation(t: Test): TestStation {
  s.db.pragma('wal_checkpoint(TRUNCATE)')
  const dir = join(tempDir(t), 'data')
  cpSync(s.dataDir, dir, { recursive: true })
  return station(t, dir)
}

function rawSql(c: TestStation, sql: string): void {
  c.db.close()
  const db = new Database(join(c.dataDir, 'catalog.db'))
  db.pragma('foreign_keys = OFF')
  db.exec(sql)
  db.close()
  c.reopen()
}

t.test('verify catches a flipped byte in a proxy', async (t) => {
  const c = copyStation(t)
  const proxy = derivativesOf(c.db, ID.h264).find((d) => d.kind === 'proxy')!
  flipByte(c.vault.objectPath(proxy.sha256), 5000)
  const v = await verifyVault(c.db, c.vault)
  t.equal(v.ok, false)
  t.equal(v.problems.length, 1)
  t.match(v.problems[0], {
    kind: 'object-corrupt',
    subject: `object:${proxy.sha256}`,
    detail: new RegExp(`derivative was altered; used by derivative:${proxy.id} \\(proxy of recording:${ID.h264}\\)`),
  })
  const r = cli(['verify'], { BODYVAULT_DATA_DIR: c.dataDir })
  t.equal(r.code, 1, 'bodyvault verify exits 1')
})

t.test('verify catches a forged, a deleted and an extra derivatives row, and an edited media_info row', async (t) => {
  const c = copyStation(t)
  const [thumb] = derivativesOf(c.db, ID.jpg)
  const other = derivativesOf(c.db, ID.avi).find((d) => d.kind === 'proxy')!
  const proxy = derivativesOf(c.db, ID.h264).find((d) => d.kind === 'proxy')!
  // Point a thumbnail row at another (genuine) object: the object verifies, the row does not.
  rawSql(
    c,
    `UPDATE derivatives SET sha256 = '${other.sha256}', size = ${other.size} WHERE id = ${thumb!.id};
    DELETE FROM derivatives WHERE id = ${proxy.id};
    INSERT INTO derivatives (id, recording_id, kind, sha256, size, mime_type, input_sha256, ffmpeg_version, args, created_at, event_seq)
      VALUES (999, ${ID.imp}, 'audio-proxy', '${other.sha256}', ${other.size}, 'audio/mp4', 'x', null, '[]', '2026-01-01T00:00:00.000Z', 99999);
    UPDATE media_info SET created_utc = '2020-01-01T00:00:00.000Z' WHERE recording_id = ${ID.hevc};
    UPDATE media_info SET tags = '{"format":{},"streams":[]}' WHERE recording_id = ${ID.avi};`,
  )
  const v = await verifyVault(c.db, c.vault)
  const lines = v.problems.map((p) => `${p.kind} ${p.subject} ${p.detail}`)
  t.ok(
    lines.some((l) => l.startsWith(`catalog-mismatch derivative:${thumb!.id} sha256 is "${other.sha256}"`)),
    'forged sha256',
  )
  t.ok(
    lines.some((l) => l.startsWith(`catalog-mismatch derivative:${thumb!.id} size`)),
    'forged size',
  )
  t.ok(
    lines.some((l) => l.startsWith(`catalog-missing derivative:${proxy.id} `)),
    'deleted row',
  )
  t.ok(
    lines.some((l) => l.startsWith('catalog-extra derivative:999 ')),
    'invented row',
  )
  t.ok(
    lines.some((l) => l.startsWith(`catalog-mismatch media-info:${ID.hevc} createdUtc is "2020-01-01T00:00:00.000Z"`)),
    'edited creation time',
  )
  t.ok(
    lines.some((l) => l.startsWith(`catalog-mismatch media-info:${ID.avi} tags`)),
    'edited raw tags',
  )
  t.equal(v.problems.length, 6, lines.join('\n'))
  t.ok(
    v.notes.every((n) => !n.includes(proxy.sha256)),
    'the proxy object is still named by its derived event',
  )
})

t.test('transient failures are retried with backoff, then fail; media retry requeues them', async (t) => {
  const camDir = join(tempDir(t), 'cam')
  mkdirSync(join(camDir, 'AUDIO'), { recursive: true })
  const wav = readdirSync(join(cam, 'AUDIO')).find((n) => n.endsWith('.WAV'))!
  copyFileSync(join(cam, 'AUDIO', wav), join(camDir, 'AUDIO', wav))
  const s3 = station(t)
  const r = await s3.ingest(camDir)
  const id = r.ingested[0]!.id
  const broken = worker(s3, { ffprobePath: '/nonexistent/ffprobe', maxAttempts: 2, retryBaseSeconds: 1 })
  const once = await broken.drain()
  t.strictSame(
    once.outcomes.map((o) => [o.kind, o.outcome]),
    [['probe', 'retry']],
    'first attempt: queued again',
  )
  const probe1 = jobsOf(s3.db, id)[0]!
  t.equal(probe1.state, 'queued')
  t.equal(probe1.attempts, 1)
  t.match(probe1.lastError, /FFMPEG_NOT_FOUND: ffprobe not found/)
  const delay = Date.parse(probe1.nextAttemptAt) - Date.parse(probe1.updatedAt)
  t.ok(delay >= 900 && delay <= 1100, `backoff ${delay} ms`)
  t.strictSame((await broken.drain()).outcomes, [], 'nothing due before the backoff ends (drain without waiting)')
  const t0 = Date.now()
  const waited = await broken.drain({ waitForRetries: true })
  t.ok(Date.now() - t0 >= 700, 'waited for the backoff')
  t.strictSame(
    waited.outcomes.map((o) => [o.kind, o.outcome]),
    [['probe', 'failed']],
    'second attempt: out of attempts',
  )
  t.match(
    jobsOf(s3.db, id).map((j) => [j.kind, j.state]),
    [
      ['probe', 'failed'],
      ['proxy', 'failed'],
    ],
  )
  t.match(jobsOf(s3.db, id)[0]!.lastError, /gave up after 2 attempts/)

  const proxyJob = jobsOf(s3.db, id).find((j) => j.kind === 'proxy')!
  const rr = cli(['media', 'retry', String(proxyJob.id)], { BODYVAULT_DATA_DIR: s3.dataDir })
  t.equal(rr.code, 0, rr.stderr)
  t.match(rr.stdout, /^2 failed job\(s\) back in the queue/, 'retrying the proxy brings back the probe it needs')
  t.strictSame(
    jobsOf(s3.db, id).map((j) => [j.state, j.attempts]),
    [
      ['queued', 0],
      ['queued', 0],
    ],
  )
  t.equal(retryFailedJobs(s3.db, [], new Date()), 0, 'nothing else failed')
  const ok = await worker(s3).drain()
  t.strictSame(
    ok.outcomes.map((o) => [o.kind, o.outcome]),
    [
      ['probe', 'done'],
      ['proxy', 'done'],
    ],
    'fixed: both run',
  )
  t.ok((await verifyVault(s3.db, s3.vault)).ok)
})

/** A camera holding only the generated camera's MJPEG + PCM AVI (made once). */
function aviCamera(): string {
  const one = join(root, 'cam-avi')
  if (existsSync(one)) return one
  mkdirSync(join(one, 'DCIM', '100MEDIA'), { recursive: true })
  copyFileSync(join(cam, 'DEVICE.TXT'), join(one, 'DEVICE.TXT'))
  const avi = readdirSync(join(cam, 'DCIM', '100MEDIA')).find((n) => n.endsWith('.AVI'))!
  copyFileSync(join(cam, 'DCIM', '100MEDIA', avi), join(one, 'DCIM', '100MEDIA', avi))
  return one
}

t.test('a remux the MP4 muxer refuses falls back to a transcode in the same run, recorded in the event', async (t) => {
  // A station whose remux limits wrongly admit MJPEG + PCM in AVI: ffmpeg
  // really refuses to copy PCM into MP4, and the recording must still get
  // its playable proxy in this run (not a failed job, not a later retry).
  const one = aviCamera()
  const s2 = station(t)
  const r = await s2.ingest(one)
  const id = r.ingested[0]!.id
  const loose = {
    ...SETTINGS.proxy.remux,
    containers: ['avi'],
    videoCodecs: ['mjpeg'],
    audioCodecs: ['pcm_s16le'],
    pixFmts: ['yuvj420p', 'yuvj422p', 'yuv420p'],
  }
  const rep = await worker(s2, { proxy: { ...SETTINGS.proxy, policy: 'auto', remux: loose } }).drain()
  t.strictSame(
    rep.outcomes.filter((o) => o.outcome !== 'done').map((o) => o.kind),
    [],
    'every job done',
  )
  const proxy = derivativesOf(s2.db, id).find((d) => d.kind === 'proxy')
  if (!t.ok(proxy, 'the proxy was made') || !proxy) return
  const ev = eventsFor(s2.db, `recording:${id}`).find((e) => e.type === 'derived' && (e.payload as { kind: string }).kind === 'proxy')!
  const how = (ev.payload as { proxy: { method: string; why: string[]; fallback?: string } }).proxy
  t.equal(how.method, 'transcode', 'made by a transcode')
  t.match(how.fallback, /Could not find tag for codec pcm_s16le/, `the remux failure is recorded: ${how.fallback}`)
  t.ok(proxy.args.includes('libx264'), 'the argument list is the transcode that made it')
  const p = ffprobe(s2.vault.objectPath(proxy.sha256))
  t.strictSame(
    p.streams.map((x) => `${x.codec_type}:${x.codec_name}`),
    ['video:h264', 'audio:aac'],
  )
  t.strictSame((await verifyVault(s2.db, s2.vault)).problems, [], 'verify agrees with the catalog and the ledger')
})

t.test('a hardware encoder that really fails (a missing render node, no GPU) hands over to libx264 in the same run', async (t) => {
  // These machines have no GPU: each hardware encoder fails for real here, as it would on a station whose device is gone.
  const one = aviCamera()
  for (const encoder of ['vaapi', 'qsv', 'nvenc'] as const) {
    const s3 = station(t)
    const id = (await s3.ingest(one)).ingested[0]!.id
    const device = encoder === 'nvenc' ? '7' : '/dev/dri/renderD199'
    const rep = await worker(s3, { proxy: { ...SETTINGS.proxy, policy: 'transcode', encoder, device } }).drain()
    t.strictSame(
      rep.outcomes.filter((o) => o.outcome !== 'done'),
      [],
      `${encoder}: every job done`,
    )
    const proxy = derivativesOf(s3.db, id).find((d) => d.kind === 'proxy')
    if (!t.ok(proxy, `${encoder}: the proxy was made`) || !proxy) continue
    const ev = eventsFor(s3.db, `recording:${id}`).find((e) => e.type === 'derived' && (e.payload as { kind: string }).kind === 'proxy')!
    const how = (ev.payload as { proxy: { method: string; encoder?: string; fallback?: string } }).proxy
    t.equal(how.encoder, 'libx264', `${encoder}: made by libx264`)
    t.match(how.fallback, new RegExp(`^h264_${encoder} failed: `), `${encoder}: the failure is recorded: ${how.fallback?.slice(0, 160)}`)
    t.match(
      how.fallback,
      encoder === 'nvenc' ? /Cannot load libcuda/ : /No VA display found for device \/dev\/dri\/renderD199/,
      `${encoder}: ffmpeg's own reason`,
    )
    t.ok(proxy.args.includes('libx264') && !proxy.args.some((a) => a.includes(encoder)), `${encoder}: the argument list is the one that made it`)
    t.equal(ffprobe(s3.vault.objectPath(proxy.sha256)).streams.find((x) => x.codec_type === 'video')?.codec_name, 'h264')
  }
})
