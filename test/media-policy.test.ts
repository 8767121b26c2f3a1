import t from 'tap'
import { factsFromSidecar } from '../src/media/facts.js'
import { FfmpegError } from '../src/media/ffmpeg.js'
import {
  afterFailure,
  autoConcurrency,
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
  t.equal(autoConcurrency(2), 1)
  t.equal(autoConcurrency(1), 1)
  t.equal(autoConcurrency(8), 4)
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
