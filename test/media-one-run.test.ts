// One ffmpeg for a remuxed proxy and its thumbnail (issue 16). What would
// make the promise false: outputs that differ from what the separate runs
// make (a proxy or a thumbnail no longer what the policy says), a derived
// event whose argument list is not the command that ran, a thumbnail made
// twice or never (its job claimed alone while the proxy made it, or left
// queued), a proxy lost for a thumbnail problem. Real ffmpeg, a real
// station catalog and vault; small generated clips.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { derivativesOf } from '../src/catalog/derivatives.js'
import { getMediaInfo } from '../src/catalog/media-info.js'
import { jobsOf, mediaStatus } from '../src/catalog/media-jobs.js'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { remuxProxyArgs, remuxWithThumbnailArgs, thumbnailArgs } from '../src/media/args.js'
import { runFfmpeg } from '../src/media/ffmpeg.js'
import { thumbnailSeek } from '../src/media/policy.js'
import { MediaWorker } from '../src/media/worker.js'
import { verifyVault } from '../src/verify/vault.js'
import { defaultConfig, GAT947, station, tempDir } from './helpers.js'

const root = tempDir(t, 'bv-onerun-')
const FF = ['-hide_banner', '-nostdin', '-v', 'error', '-y']
const picture = (d: number, size = '1280x720'): string[] => ['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=30:d=${d},format=yuv420p`]
const tone = (d: number): string[] => ['-f', 'lavfi', '-i', `sine=f=440:r=48000:d=${d}`]
const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex')

// A camera's clips: H.264/AAC with a key frame a second (as body cameras
// record), one without audio, and one that starts in the middle of a group
// of pictures (a file cut at a non-key frame: no key frame at or before 10%
// of it, so the seeked thumbnail finds none there). Each qualifies for a remux.
const cam = join(root, 'cam')
const media = join(cam, 'DCIM', '100MEDIA')
mkdirSync(media, { recursive: true })
writeFileSync(join(cam, 'DEVICE.TXT'), 'DEVICE=A1B2C3D\nOFFICER=012345\nMODEL=FAKE-GAT947\n')
const clip = (n: number): string => join(media, `A1B2C3D_012345_2026112008${String(n).padStart(2, '0')}00_000${n}.MP4`)
execFileSync('ffmpeg', [...FF, ...picture(8), ...tone(8), ...h264, '-g', '30', '-c:a', 'aac', '-f', 'mp4', clip(1)])
execFileSync('ffmpeg', [...FF, ...picture(6), ...h264, '-g', '30', '-f', 'mp4', clip(2)])
const whole = join(root, 'whole.mp4')
execFileSync('ffmpeg', [...FF, ...picture(9, '640x360'), ...tone(9), ...h264, '-g', '90', '-c:a', 'aac', '-f', 'mp4', whole])
execFileSync('ffmpeg', [...FF, '-i', whole, '-ss', '0.1', '-c', 'copy', '-copyinkf', '-f', 'mp4', clip(3)])
// B-frames and four slices a picture (what the combined run's one-thread
// thumbnail decoder could decode differently from the separate run's
// threaded one, if the decoder were not bit-exact); not a camera clip, so
// outside the camera folder.
const sliced = join(root, 'sliced.mp4')
execFileSync('ffmpeg', [
  ...FF,
  ...picture(4),
  ...tone(4),
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-bf',
  '3',
  '-slices',
  '4',
  '-g',
  '30',
  '-pix_fmt',
  'yuv420p',
  '-c:a',
  'aac',
  '-f',
  'mp4',
  sliced,
])

t.test('one run, two outputs: byte-identical to the separate remux and thumbnail runs', async (t) => {
  const out = join(root, 'runs')
  mkdirSync(out)
  const cases = [
    { file: clip(1), hasAudio: true, atSeconds: 0.8, what: 'H.264/AAC, 10% in' },
    { file: clip(1), hasAudio: true, atSeconds: 0, what: 'at 0 (duration unknown)' },
    { file: clip(1), hasAudio: true, atSeconds: 7.99, what: 'the last key frame' },
    { file: clip(1), hasAudio: true, atSeconds: 60, what: 'past the end (a duration that overstates the file)' },
    { file: clip(2), hasAudio: false, atSeconds: 0.6, what: 'no audio' },
    { file: sliced, hasAudio: true, atSeconds: 2.5, what: 'B-frames, four slices a picture' },
  ]
  for (const [i, c] of cases.entries()) {
    const o = { hasAudio: c.hasAudio, atSeconds: c.atSeconds, width: 320, creationTime: '2026-11-20T00:00:00Z' }
    const p = join(out, `${i}-proxy.part`)
    const j = join(out, `${i}-thumb.part`)
    await runFfmpeg(remuxProxyArgs(c.file, p, { kind: 'proxy', ...o }), { timeoutMs: 60_000 })
    await runFfmpeg(thumbnailArgs(c.file, j, o), { timeoutMs: 60_000 })
    const bp = join(out, `${i}-both-proxy.part`)
    const bj = join(out, `${i}-both-thumb.part`)
    const spec = remuxWithThumbnailArgs(c.file, bp, bj, o)
    t.strictSame([spec.output, spec.extraOutputs], [bp, [bj]], 'the adapter checks and cleans both outputs')
    await runFfmpeg(spec, { timeoutMs: 60_000 })
    t.equal(sha(bp), sha(p), `${c.what}: the proxy is byte-identical`)
    t.equal(sha(bj), sha(j), `${c.what}: the thumbnail is byte-identical`)
  }
  // A key frame found only past the read limit: the thumbnail output is empty, so the run fails and leaves neither file.
  const bp = join(out, 'mid-proxy.part')
  const bj = join(out, 'mid-thumb.part')
  await t.rejects(runFfmpeg(remuxWithThumbnailArgs(clip(3), bp, bj, { hasAudio: true, atSeconds: 0.89 }), { timeoutMs: 60_000 }), {
    code: 'FFMPEG_FAILED',
    message: /wrote no output/,
  })
  t.strictSame(
    [bp, bj].filter((f) => {
      try {
        readFileSync(f)
        return true
      } catch {
        return false
      }
    }),
    [],
    'no output left behind',
  )
})

t.test('the queue: one job makes both, each derivative recorded with the command that ran; a failed run still gives the proxy', async (t) => {
  const s = station(t)
  const ing = await s.ingest(cam)
  const id = (n: number): number => ing.ingested.find((r) => r.sourcePath.endsWith(`_000${n}.MP4`))!.id
  const w = new MediaWorker({
    db: s.db,
    vault: s.vault,
    settings: { ...defaultConfig().media, nice: 0 },
    profiles: new Map([[GAT947.id, GAT947]]),
    stationTimezone: 'Asia/Shanghai',
    actor: 'station:test-station',
    logger: silentLogger(),
  })
  const rep = await w.drain()
  t.ok(
    rep.outcomes.every((o) => o.outcome === 'done'),
    'every job done',
  )
  const st = mediaStatus(s.db)
  t.equal(st.byState.queued + st.byState.running + st.byState.failed, 0, 'nothing left in the queue')

  for (const n of [1, 2]) {
    const rid = id(n)
    const proxyJob = jobsOf(s.db, rid).find((j) => j.kind === 'proxy')!
    const thumbJob = jobsOf(s.db, rid).find((j) => j.kind === 'thumbnail')!
    const out = rep.outcomes.filter((o) => o.recordingId === rid && o.kind !== 'probe')
    t.strictSame(
      out.map((o) => [o.jobId, o.carried?.jobId]),
      [[proxyJob.id, thumbJob.id]],
      `clip ${n}: one job ran for both (the thumbnail job was never run on its own)`,
    )
    const ds = derivativesOf(s.db, rid)
    t.strictSame(ds.map((d) => d.kind).sort(), ['proxy', 'thumbnail'], `clip ${n}: one proxy and one thumbnail`)
    t.match(thumbJob.result, new RegExp(`^derivative:\\d+ \\(made in one run with the proxy, job ${proxyJob.id}\\)$`), 'the thumbnail job says how it was made')
    const proxy = ds.find((d) => d.kind === 'proxy')!
    const thumb = ds.find((d) => d.kind === 'thumbnail')!
    // The argument list that ran, once per derivative, naming its own output and the other one.
    t.equal(proxy.args.filter((a) => a === 'file:{input}').length, 2, 'two inputs of the original')
    t.ok(proxy.args.includes('file:{output}') && proxy.args.includes('file:{thumbnail}'), `the proxy's list: ${proxy.args.join(' ')}`)
    t.ok(thumb.args.includes('file:{output}') && thumb.args.includes('file:{proxy}'), "the thumbnail's list names the proxy's output")
    t.strictSame(
      thumb.args.map((a) => (a === 'file:{output}' ? 'file:{thumbnail}' : a === 'file:{proxy}' ? 'file:{output}' : a)),
      proxy.args,
      'the same command in both',
    )
    const evs = eventsFor(s.db, `recording:${rid}`).filter((e) => e.type === 'derived')
    t.equal(evs.length, 2, 'two derived events')
    const how = (evs.find((e) => (e.payload as { kind: string }).kind === 'proxy')!.payload as { proxy: { method: string } }).proxy
    t.equal(how.method, 'remux')
    // The same bytes as the separate runs would have made from this original.
    const input = s.vault.objectPath(ing.ingested.find((r) => r.id === rid)!.sha256)
    const info = { hasAudio: n === 1, width: defaultConfig().media.thumbnailWidth }
    const sep = join(tempDir(t), 'sep')
    mkdirSync(sep)
    const mi = getMediaInfo(s.db, rid)!
    const ct = mi.createdUtc ? { creationTime: mi.createdUtc } : {}
    await runFfmpeg(remuxProxyArgs(input, join(sep, 'p'), { kind: 'proxy', ...info, ...ct }), { timeoutMs: 60_000 })
    await runFfmpeg(thumbnailArgs(input, join(sep, 't'), { ...info, atSeconds: thumbnailSeek(mi.durationSec) }), { timeoutMs: 60_000 })
    t.equal(proxy.sha256, sha(join(sep, 'p')), 'the proxy is what a separate remux makes')
    t.equal(thumb.sha256, sha(join(sep, 't')), 'the thumbnail is what a separate thumbnail run makes')
  }

  // The clip that starts mid-GOP: the one run fails on its thumbnail; the proxy is made alone in the same job, the thumbnail by its own.
  const rid = id(3)
  const proxyJob = jobsOf(s.db, rid).find((j) => j.kind === 'proxy')!
  t.match(
    proxyJob.result,
    /^derivative:\d+ \(made alone: the one run with the thumbnail failed, the thumbnail is its own job again: FFMPEG_FAILED: ffmpeg exited 0 but wrote no output/,
    `the proxy job says so: ${proxyJob.result}`,
  )
  const thumbJob = jobsOf(s.db, rid).find((j) => j.kind === 'thumbnail')!
  t.strictSame([thumbJob.state, thumbJob.attempts], ['done', 1], 'the thumbnail ran as its own job, its attempt in the one run refunded')
  const ds = derivativesOf(s.db, rid)
  t.strictSame(ds.map((d) => d.kind).sort(), ['proxy', 'thumbnail'], 'both derivatives all the same')
  const proxy = ds.find((d) => d.kind === 'proxy')!
  t.ok(proxy.args.includes('copy') && !proxy.args.includes('file:{thumbnail}'), 'the proxy: a remux of its own')
  t.notOk(ds.find((d) => d.kind === 'thumbnail')!.args.includes('-ss'), 'the thumbnail: its own job, from the first frame (its seek found no key frame)')
  const v = await verifyVault(s.db, s.vault)
  t.strictSame([v.problems, v.notes], [[], []], 'verify is clean')
})
