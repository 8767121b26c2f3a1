import t from 'tap'
import { factsFromSidecar } from '../src/media/facts.js'
import { FfmpegError } from '../src/media/ffmpeg.js'
import {
  afterFailure,
  autoConcurrency,
  proxyRank,
  baseKey,
  classifyFailure,
  describeFailure,
  firstSrtTimestamp,
  jobsFor,
  PermanentMediaError,
  proxyKindFor,
  recordedArgs,
  retryDelaySeconds,
  runTimeoutMs,
  thumbnailSeek,
} from '../src/media/policy.js'
import { PROXY_DEFAULTS, proxyPlan, type ProxyFacts, type ProxySettings } from '../src/media/proxy-policy.js'

t.test('jobs per recording kind', async (t) => {
  t.strictSame(jobsFor('video'), ['probe', 'proxy', 'thumbnail'])
  t.strictSame(jobsFor('audio'), ['probe', 'proxy'])
  t.strictSame(jobsFor('photo'), ['probe', 'thumbnail'])
  t.strictSame(jobsFor('sidecar'), ['probe'])
  t.equal(proxyKindFor({ hasVideo: true, hasAudio: true, mediaKind: 'video' }), 'proxy')
  t.equal(proxyKindFor({ hasVideo: false, hasAudio: true, mediaKind: 'audio' }), 'audio-proxy')
  t.equal(proxyKindFor({ hasVideo: true, hasAudio: false, mediaKind: 'photo' }), null, 'a photo gets no proxy')
  t.equal(proxyKindFor({ hasVideo: false, hasAudio: false, mediaKind: 'unknown' }), null)
})

t.test('failure classes', async (t) => {
  const refused = new FfmpegError('FFMPEG_FAILED', 'ffprobe exited with code 1: x: Invalid data found when processing input', {
    exitCode: 1,
    stderrTail: 'moov atom not found\nx: Invalid data found when processing input',
  })
  t.equal(classifyFailure(refused), 'permanent', 'ffmpeg refusing the bytes fails for good')
  t.equal(
    classifyFailure(
      new FfmpegError('FFMPEG_FAILED', 'ffmpeg exited with code 1', { exitCode: 1, stderrTail: 'Error writing trailer: No space left on device' }),
    ),
    'transient',
    'a full disk is retried',
  )
  t.equal(classifyFailure(new FfmpegError('FFMPEG_FAILED', 'ffmpeg was killed by SIGKILL', { exitCode: null, signal: 'SIGKILL' })), 'transient')
  t.equal(classifyFailure(new FfmpegError('FFMPEG_FAILED', 'exited 0 but wrote no output', { exitCode: 0 })), 'transient')
  t.equal(classifyFailure(new FfmpegError('FFMPEG_NOT_FOUND', 'ffmpeg not found')), 'transient')
  t.equal(classifyFailure(new FfmpegError('FFMPEG_TIMEOUT', 'timed out')), 'transient')
  t.equal(classifyFailure(new PermanentMediaError('MEDIA_NO_STREAMS', 'none')), 'permanent')
  t.equal(classifyFailure(Object.assign(new Error('disk'), { code: 'ENOSPC' })), 'transient')
  const text = describeFailure(refused)
  t.equal(
    text,
    'FFMPEG_FAILED: ffprobe exited with code 1\nmoov atom not found\nx: Invalid data found when processing input',
    'code, message and the whole stderr tail, each line once',
  )
  t.equal(describeFailure(new Error('x'.repeat(5000)), 100).length, 100, 'bounded')
})

t.test('retry schedule', async (t) => {
  t.strictSame(
    [1, 2, 3, 4, 5].map((a) => retryDelaySeconds(a, 30)),
    [30, 60, 120, 240, 480],
  )
  t.equal(retryDelaySeconds(40, 30), 3600, 'capped')
  const now = new Date('2026-11-20T00:00:00.000Z')
  t.strictSame(afterFailure('transient', 1, 4, 30, now), { state: 'queued', nextAttemptAt: '2026-11-20T00:00:30.000Z' })
  t.strictSame(afterFailure('transient', 2, 4, 30, now), { state: 'queued', nextAttemptAt: '2026-11-20T00:01:00.000Z' })
  t.strictSame(afterFailure('transient', 4, 4, 30, now), { state: 'failed' }, 'no attempts left')
  t.strictSame(afterFailure('permanent', 1, 4, 30, now), { state: 'failed' }, 'permanent: at once')
})

t.test('limits and small rules', async (t) => {
  t.equal(runTimeoutMs('probe', 60, 1000), 60_000)
  t.equal(runTimeoutMs('proxy', 60, 7200), 60_000 + 7200 * 4 * 1000, 'transcodes scale with the media duration')
  t.equal(runTimeoutMs('proxy', 60, null), 60_000)
  t.equal(autoConcurrency(1), 1, 'one core: one job')
  t.equal(autoConcurrency(2), 2, 'a 2-core station PC: two jobs (one left a third of it idle)')
  t.equal(autoConcurrency(3), 2)
  t.equal(autoConcurrency(8), 4, 'half the cores beyond')
  t.equal(proxyRank('proxy', 'remux'), 0, 'a stream copy first')
  t.equal(proxyRank('audio-proxy', 'remux'), 0)
  t.equal(proxyRank('audio-proxy', 'transcode'), 1, 'then an audio transcode')
  t.equal(proxyRank('proxy', 'transcode'), 2, 'video transcodes last')
  t.equal(proxyRank(null, 'transcode'), 0, 'nothing to make: no wait')
  t.equal(thumbnailSeek(30), 3)
  t.equal(thumbnailSeek(null), 0)
  t.equal(baseKey('DCIM/100MEDIA/A_0001.MP4'), 'DCIM/100MEDIA/A_0001')
  t.equal(baseKey('DCIM/v1.0/NOEXT'), 'DCIM/v1.0/NOEXT', 'a dot in a folder name is not an extension')
  t.equal(baseKey('.hidden'), '.hidden')
  t.strictSame(recordedArgs(['-i', 'file:/d/objects/ab/abc', '-y', 'file:/d/staging/1-x.part'], '/d/objects/ab/abc', '/d/staging/1-x.part'), [
    '-i',
    'file:{input}',
    '-y',
    'file:{output}',
  ])
  t.equal(firstSrtTimestamp('1\n00:00:00,000 --> 00:00:01,000\n2026-11-20 08:00:00.000\n'), '2026-11-20 08:00:00.000')
  t.equal(firstSrtTimestamp('no time here'), undefined)
})

t.test('sidecar facts from an SRT', async (t) => {
  const srt =
    '1\r\n00:00:00,000 --> 00:00:01,000\r\n2026-11-20 08:00:00.000\r\n[latitude: 31.230416] [longitude: 121.473701]\r\n\r\n2\r\n00:00:01,000 --> 00:00:02,000\r\n2026-11-20 08:00:01.000\r\n[latitude: 31.230426] [longitude: 121.473712]\r\n'
  const { facts, gpsTrack } = factsFromSidecar(srt, '.SRT', { profileId: 'gat947', timeZone: 'Asia/Shanghai', creationTimeIsLocal: false })
  t.equal(facts.mediaKind, 'sidecar')
  t.equal(facts.container, 'srt')
  t.equal(facts.gpsLat, 31.230416)
  t.equal(facts.gpsLon, 121.473701)
  t.equal(facts.gpsPoints, 2)
  t.equal(facts.createdUtc, '2026-11-20T00:00:00.000Z', 'SRT wall time is camera-local whatever the MP4 flag says')
  t.equal(facts.createdInterpretation, 'camera-local')
  t.equal(gpsTrack, '[[0,31.230416,121.473701],[1,31.230426,121.473712]]')
  const nmea = factsFromSidecar('$GPGGA,...', '.nmea', { profileId: null, timeZone: 'UTC', creationTimeIsLocal: false })
  t.equal(nmea.facts.container, 'nmea')
  t.equal(nmea.facts.gpsLat, null, 'kept and linked, not parsed')
})

t.test('proxy policy: remux only what a browser plays as it is, within the remux limits', async (t) => {
  // What a body camera records: 1080p30 H.264 High, yuv420p, AAC, 8 Mbit/s in MP4.
  const cam: ProxyFacts = {
    container: 'mov,mp4,m4a,3gp,3g2,mj2',
    videoCodec: 'h264',
    audioCodec: 'aac',
    pixFmt: 'yuv420p',
    width: 1920,
    height: 1080,
    bitRate: 8_000_000,
  }
  const P = PROXY_DEFAULTS
  t.strictSame(proxyPlan('proxy', cam, P), { method: 'remux', why: [] })
  t.strictSame(proxyPlan('proxy', { ...cam, audioCodec: null }, P), { method: 'remux', why: [] }, 'no audio: still playable')
  t.strictSame(proxyPlan('proxy', { ...cam, width: 1080, height: 1920 }, P), { method: 'remux', why: [] }, 'portrait 1080p')
  t.strictSame(proxyPlan('proxy', { ...cam, bitRate: 20_000_000 }, P).method, 'remux', 'at the bit-rate limit')
  const cases: [string, Partial<ProxyFacts>, RegExp][] = [
    ['HEVC', { videoCodec: 'hevc' }, /^video hevc$/],
    ['MJPEG in AVI', { container: 'avi', videoCodec: 'mjpeg', audioCodec: 'pcm_s16le' }, /container avi.*audio pcm_s16le.*video mjpeg/],
    ['odd audio', { audioCodec: 'pcm_s16le' }, /^audio pcm_s16le$/],
    ['Matroska', { container: 'matroska,webm' }, /container matroska,webm/],
    ['above 1080p', { width: 3840, height: 2160 }, /3840x2160 > 1080p/],
    ['above 20 Mbit/s', { bitRate: 20_000_001 }, /bit rate 20000001 > 20000000/],
    ['unknown bit rate', { bitRate: null }, /bit rate unknown/],
    ['10-bit', { pixFmt: 'yuv420p10le' }, /pixel format yuv420p10le/],
    ['4:2:2', { pixFmt: 'yuv422p' }, /pixel format yuv422p/],
    ['unknown size', { width: null }, /size unknown/],
  ]
  for (const [name, over, why] of cases) {
    const plan = proxyPlan('proxy', { ...cam, ...over }, P)
    t.equal(plan.method, 'transcode', name)
    t.match(plan.why.join(', '), why, `${name}: ${plan.why.join(', ')}`)
  }
  const always: ProxySettings = { ...P, policy: 'transcode' }
  t.strictSame(proxyPlan('proxy', cam, always), { method: 'transcode', why: ['policy transcode'] }, 'policy transcode re-encodes everything')
  const wider: ProxySettings = { ...P, remux: { ...P.remux, videoCodecs: ['h264', 'hevc'], maxHeight: 2160, maxBitRate: 0 } }
  t.equal(proxyPlan('proxy', { ...cam, videoCodec: 'hevc', width: 3840, height: 2160, bitRate: 60_000_000 }, wider).method, 'remux', 'limits are data')
  // Audio only: AAC in an MP4/M4A is copied; WAV is encoded.
  const m4a: ProxyFacts = { ...cam, videoCodec: null, pixFmt: null, width: null, height: null, bitRate: 128_000 }
  t.equal(proxyPlan('audio-proxy', m4a, P).method, 'remux')
  t.match(proxyPlan('audio-proxy', { ...m4a, container: 'wav', audioCodec: 'pcm_s16le' }, P), {
    method: 'transcode',
    why: ['container wav', 'audio pcm_s16le'],
  })
})
