// A remuxed proxy's moov written in place into a reserve (-moov_size)
// instead of +faststart's second pass (issue 16). What would make the promise
// false: a proxy whose moov is not before mdat (a browser must fetch the end
// first), one that does not decode or lost or changed a packet of the
// original, and above all ffmpeg's own failure mode: an index larger than
// the reserve is written over the start of the samples while ffmpeg exits 0,
// so an estimate that comes out too small must never reach the vault. Real
// ffmpeg, a real station catalog and vault; small generated clips.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, openSync, readFileSync, readSync, closeSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { derivativesOf } from '../src/catalog/derivatives.js'
import { getMediaInfo } from '../src/catalog/media-info.js'
import { jobsOf } from '../src/catalog/media-jobs.js'
import { silentLogger } from '../src/common/log.js'
import { remuxProxyArgs } from '../src/media/args.js'
import { runFfmpeg } from '../src/media/ffmpeg.js'
import { moovFits } from '../src/media/keep-derivative.js'
import { MOOV_FIXED_BYTES, moovInPlace, moovReserve, proxyMoovReserve } from '../src/media/moov-reserve.js'
import { MediaWorker } from '../src/media/worker.js'
import { verifyVault } from '../src/verify/vault.js'
import { defaultConfig, GAT947, station, tempDir } from './helpers.js'

const root = tempDir(t, 'bv-moov-')
const FF = ['-hide_banner', '-nostdin', '-v', 'error', '-y']

// A camera clip whose index is large for its size: 60 fps with B-frames
// (a ctts table) and 48 kHz AAC, 20 s: about 2,140 samples, an index of
// about 33 KiB, more than the reserve's fixed part alone.
const cam = join(root, 'cam')
const media = join(cam, 'DCIM', '100MEDIA')
mkdirSync(media, { recursive: true })
writeFileSync(join(cam, 'DEVICE.TXT'), 'DEVICE=A1B2C3D\nOFFICER=012345\nMODEL=FAKE-GAT947\n')
const clip = join(media, 'A1B2C3D_012345_20261120080100_0001.MP4')
execFileSync('ffmpeg', [
  ...FF,
  ...['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=60:d=20,format=yuv420p', '-f', 'lavfi', '-i', 'sine=f=440:r=48000:d=20'],
  ...['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mp4', clip],
])

/** The top-level boxes of an MP4: [type, offset, size]. */
function boxes(file: string): [string, number, number][] {
  const fd = openSync(file, 'r')
  const out: [string, number, number][] = []
  try {
    const size = statSync(file).size
    const h = Buffer.alloc(16)
    for (let at = 0; at < size; ) {
      readSync(fd, h, 0, 16, at)
      let n = h.readUInt32BE(0)
      if (n === 1) n = Number(h.readBigUInt64BE(8))
      if (n < 8) throw new Error(`box of size ${n} at ${at}`)
      out.push([h.toString('latin1', 4, 8), at, n])
      at += n
    }
  } finally {
    closeSync(fd)
  }
  return out
}

/** Each packet of the first video and audio stream: its size and MD5, in order (no time stamps). */
function packets(file: string, timing = false): string[] {
  const text = execFileSync('ffmpeg', [...FF, '-i', file, '-map', '0:v:0', '-map', '0:a:0', '-c', 'copy', '-f', 'framemd5', '-'], {
    maxBuffer: 64 << 20,
  }).toString()
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const f = l.split(',').map((x) => x.trim())
      return timing ? f.join(',') : `${f[0]},${f[4]},${f[5]}`
    })
}

/** ffmpeg decodes every frame of it without a word on stderr. */
function decodesCleanly(file: string): string {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-'])
  return r.status === 0 ? r.stderr.toString() : `exit ${r.status}: ${r.stderr.toString()}`
}

function probeFacts(file: string): { durationSec: number; fps: number; sampleRate: number; audioCodec: string } {
  const j = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_format', '-show_streams', file]).toString())
  const v = j.streams.find((s: { codec_type: string }) => s.codec_type === 'video')
  const a = j.streams.find((s: { codec_type: string }) => s.codec_type === 'audio')
  const [num, den] = String(v.avg_frame_rate).split('/').map(Number)
  return { durationSec: Number(j.format.duration), fps: num! / den!, sampleRate: Number(a.sample_rate), audioCodec: a.codec_name }
}

t.test('the reserve rule: sized from the facts, null when they are missing or the reserve would be too large', async (t) => {
  const day = { durationSec: 105, fps: 30, audioSampleRate: 48000, hasAudio: true }
  // The bench's 105 s 1080p30 clip wrote a 92,350-byte index (docs/design.md): the rule leaves room for every table at its largest.
  t.ok(moovReserve(day)! > 4 * 92_350, `${moovReserve(day)} bytes for the bench's clip`)
  t.ok(moovReserve({ ...day, hasAudio: false, audioSampleRate: null })! < moovReserve(day)!, 'no audio, fewer samples')
  for (const [what, f] of [
    ['no duration', { ...day, durationSec: null }],
    ['no frame rate', { ...day, fps: null }],
    ['a frame rate of 0', { ...day, fps: 0 }],
    ['an infinite duration', { ...day, durationSec: Number.POSITIVE_INFINITY }],
    ['audio without a sample rate', { ...day, audioSampleRate: null }],
    ['10 hours: megabytes of reserve', { ...day, durationSec: 36_000 }],
  ] as const) {
    t.equal(moovReserve(f), null, `${what}: +faststart`)
  }
  t.equal(proxyMoovReserve({ durationSec: 105, fps: 30, sampleRate: 48000, audioCodec: 'aac' }), moovReserve(day), 'from a media_info row')
})

t.test('the in-place check reads the head ffmpeg writes, and nothing else passes', async (t) => {
  const head = (parts: [string, number][]): Buffer =>
    Buffer.concat(
      parts.map(([type, size]) => {
        const b = Buffer.alloc(Math.min(size, 64))
        b.writeUInt32BE(size, 0)
        b.write(type, 4, 'latin1')
        return Buffer.concat([b, Buffer.alloc(size - b.length)])
      }),
    )
  t.ok(
    moovInPlace(
      head([
        ['ftyp', 32],
        ['moov', 900],
        ['free', 100],
        ['free', 8],
        ['mdat', 64],
      ]),
      1000,
    ),
    'ftyp, moov, free to the end of the reserve',
  )
  t.ok(
    moovInPlace(
      head([
        ['ftyp', 32],
        ['moov', 992],
        ['free', 8],
      ]),
      1000,
    ),
    'the smallest free box',
  )
  t.notOk(
    moovInPlace(
      head([
        ['ftyp', 32],
        ['moov', 996],
        ['mdat', 64],
      ]),
      1000,
    ),
    'an index 4 bytes short of fitting (ffmpeg fails it)',
  )
  t.notOk(
    moovInPlace(
      head([
        ['ftyp', 32],
        ['moov', 1200],
        ['mdat', 64],
      ]),
      1000,
    ),
    'an index larger than the reserve',
  )
  t.notOk(
    moovInPlace(
      head([
        ['ftyp', 32],
        ['moov', 900],
        ['free', 60],
        ['mdat', 64],
      ]),
      1000,
    ),
    'a free box that does not end where the reserve ends',
  )
  t.notOk(
    moovInPlace(
      head([
        ['ftyp', 32],
        ['mdat', 900],
        ['moov', 100],
      ]),
      1000,
    ),
    'moov at the end (+faststart not done)',
  )
  t.notOk(
    moovInPlace(
      head([
        ['moov', 900],
        ['free', 100],
      ]),
      1000,
    ),
    'no ftyp',
  )
  t.notOk(
    moovInPlace(
      head([
        ['ftyp', 32],
        ['moov', 900],
      ]).subarray(0, 500),
      1000,
    ),
    'a head cut short',
  )
})

t.test('a proxy with its moov in the reserve: moov first, decodes, every packet of the original; a reserve too small is caught', async (t) => {
  const out = tempDir(t)
  const input = clip
  const facts = probeFacts(input)
  const reserve = proxyMoovReserve(facts)!
  t.ok(reserve > MOOV_FIXED_BYTES, `a reserve of ${reserve} bytes`)
  const inPlace = join(out, 'in-place.part')
  const faststart = join(out, 'faststart.part')
  const o = { kind: 'proxy' as const, hasAudio: true, creationTime: '2026-11-20T00:00:00Z' }
  await runFfmpeg(remuxProxyArgs(input, inPlace, { ...o, moovReserve: reserve }), { timeoutMs: 60_000 })
  await runFfmpeg(remuxProxyArgs(input, faststart, o), { timeoutMs: 60_000 })
  t.ok(await moovFits(inPlace, reserve), 'the check finds the index in place')
  const b = boxes(inPlace)
  const moov = b.find((x) => x[0] === 'moov')!
  t.strictSame(
    b.map((x) => x[0]),
    ['ftyp', 'moov', 'free', 'free', 'mdat'],
    'ftyp, moov, the rest of the reserve, mdat to the end of the file',
  )
  t.ok(moov[2] > MOOV_FIXED_BYTES, `an index of ${moov[2]} bytes, more than the fixed part alone`)
  t.equal(decodesCleanly(inPlace), '', 'ffmpeg decodes it without an error')
  t.strictSame(packets(inPlace), packets(input), 'every packet of the original, same size and MD5, in order')
  t.strictSame(packets(inPlace, true), packets(faststart, true), 'the same packets and time stamps as the +faststart proxy')
  t.equal(statSync(inPlace).size - statSync(faststart).size, reserve - moov[2], 'larger than the +faststart proxy by the unused reserve only')

  // ffmpeg 5.1's failure mode, the reason for the check: too small a reserve, exit 0, a broken file.
  const small = join(out, 'small.part')
  await runFfmpeg(remuxProxyArgs(input, small, { ...o, moovReserve: 4096 }), { timeoutMs: 60_000 })
  t.notOk(await moovFits(small, 4096), 'the check rejects it')
  t.not(decodesCleanly(small), '', 'and rightly: ffmpeg finds damaged packets in it')
})

t.test('the queue: moov in place by default; a probe that understates the samples still gives a whole proxy (+faststart, recorded)', async (t) => {
  for (const understated of [false, true]) {
    // together: the proxy job's one run with its thumbnail; alone: a worker that claims no thumbnail job makes the proxy by itself.
    for (const together of [true, false]) {
      const what = `${understated ? 'understated' : 'as probed'}, ${together ? 'one run with the thumbnail' : 'the proxy alone'}`
      const s = station(t)
      if (understated) {
        // A probe whose facts imply a hundredth of the samples (a variable frame rate read low): the reserve comes out too small.
        s.db.exec(`CREATE TRIGGER understate AFTER INSERT ON media_info BEGIN
          UPDATE media_info SET fps = fps / 100, sample_rate = sample_rate / 100 WHERE recording_id = NEW.recording_id; END`)
      }
      const ing = await s.ingest(cam)
      const worker = (kinds?: ('probe' | 'proxy')[]) =>
        new MediaWorker({
          db: s.db,
          vault: s.vault,
          settings: { ...defaultConfig().media, nice: 0 },
          profiles: new Map([[GAT947.id, GAT947]]),
          stationTimezone: 'Asia/Shanghai',
          actor: 'station:test-station',
          logger: silentLogger(),
          ...(kinds ? { kinds } : {}),
        })
      const reps = together ? [await worker().drain()] : [await worker(['probe', 'proxy']).drain(), await worker().drain()]
      t.ok(
        reps.every((r) => r.outcomes.every((o) => o.outcome === 'done')),
        `${what}: every job done`,
      )
      const rec = ing.ingested[0]!
      const mi = getMediaInfo(s.db, rec.id)!
      const reserve = proxyMoovReserve(mi)!
      const proxy = derivativesOf(s.db, rec.id).find((d) => d.kind === 'proxy')!
      t.strictSame(
        [proxy.args.includes('-moov_size'), proxy.args.includes('+faststart'), proxy.args.includes('file:{thumbnail}')],
        [!understated, understated, together],
        `${what}: the recorded command is the one that made the proxy (${proxy.args.join(' ')})`,
      )
      if (!understated) t.equal(proxy.args[proxy.args.indexOf('-moov_size') + 1], String(reserve), `${what}: the reserve from the probe`)
      const file = s.vault.objectPath(proxy.sha256)
      const b = boxes(file).map((x) => x[0])
      t.ok(b.indexOf('moov') === 1 && b.indexOf('moov') < b.indexOf('mdat'), `${what}: moov first (${b.join(' ')})`)
      t.equal(decodesCleanly(file), '', `${what}: decodes without an error`)
      const original = s.vault.objectPath(rec.sha256)
      t.strictSame(packets(file), packets(original), `${what}: every packet of the original`)
      const faststart = join(tempDir(t), 'faststart.part')
      await runFfmpeg(remuxProxyArgs(original, faststart, { kind: 'proxy', hasAudio: true, ...(mi.createdUtc ? { creationTime: mi.createdUtc } : {}) }), {
        timeoutMs: 60_000,
      })
      t.strictSame(packets(file, true), packets(faststart, true), `${what}: the same packets and time stamps as a +faststart remux`)
      t.ok(
        jobsOf(s.db, rec.id).every((j) => j.state === 'done'),
        `${what}: its jobs done`,
      )
      t.ok(
        derivativesOf(s.db, rec.id).some((d) => d.kind === 'thumbnail'),
        `${what}: its thumbnail made`,
      )
      if (!together) {
        // Reproducible: the recorded command, run again, makes the same bytes.
        const again = join(tempDir(t), 'again.part')
        execFileSync(
          'ffmpeg',
          proxy.args.map((a) => (a === 'file:{input}' ? `file:${original}` : a === 'file:{output}' ? `file:${again}` : a)),
        )
        t.ok(readFileSync(again).equals(readFileSync(file)), `${what}: the recorded command makes the same bytes`)
      }
      const v = await verifyVault(s.db, s.vault)
      // The trigger's changed facts are all verify finds there (the catalog no longer matches the probed event).
      const problems = understated ? v.problems.filter((p) => !(p.kind === 'catalog-mismatch' && /^(fps|sampleRate) is /.test(p.detail))) : v.problems
      t.strictSame([problems, v.notes], [[], []], `${what}: verify is clean`)
    }
  }
})
