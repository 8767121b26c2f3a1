import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import t from 'tap'

import { probeArgs } from '../src/media/args.js'
import { runFfmpeg } from '../src/media/ffmpeg.js'
import { interpretCreationTime, ProbeOptionsError } from '../src/media/creation-time.js'
import { initialProgressState, leanBuildState, parseEncoderList, parseFfmpegVersion, parseProgress, type ProgressEvent } from '../src/media/ffmpeg-output.js'
import { parseGpsText, parseIso6709, parseSrtGps } from '../src/media/gps.js'
import { parseProbe } from '../src/media/probe.js'

const SHANGHAI_UTC = { cameraTimeZone: 'Asia/Shanghai', creationTimeIsLocal: false }
const SHANGHAI_LOCAL = { cameraTimeZone: 'Asia/Shanghai', creationTimeIsLocal: true }

// ---------------------------------------------------------------------------
// Real ffprobe output from files generated with lavfi.

const LAVFI_VIDEO = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1']
const LAVFI_AUDIO = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1']
const QUIET = ['-hide_banner', '-nostdin', '-v', 'error', '-y']

async function ffmpeg(args: string[]): Promise<void> {
  await runFfmpeg({ cmd: 'ffmpeg', args: [...QUIET, ...args] }, { timeoutMs: 30_000 })
}

async function probe(file: string): Promise<unknown> {
  const r = await runFfmpeg(probeArgs(file), { timeoutMs: 30_000 })
  return JSON.parse(r.stdout) as unknown
}

t.test('parseProbe on real ffprobe output', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bodyvault-probe-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const f = (name: string): string => path.join(dir, name)

  await Promise.all([
    ffmpeg([
      ...LAVFI_VIDEO,
      ...LAVFI_AUDIO,
      '-shortest',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-metadata',
      'creation_time=2024-05-01T08:30:00.000000Z',
      '-metadata',
      'location=+31.2304+121.4737/',
      f('h264.mp4'),
    ]),
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=30000/1001:duration=1',
      '-c:v',
      'libx265',
      '-x265-params',
      'log-level=error',
      '-tag:v',
      'hvc1',
      '-metadata',
      'com.apple.quicktime.location.ISO6709=-33.8688+151.2093+012.500/',
      '-movflags',
      '+use_metadata_tags',
      f('hevc.mp4'),
    ]),
    ffmpeg([...LAVFI_VIDEO, '-c:v', 'mjpeg', '-q:v', '5', f('mjpeg.avi')]),
    ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1:sample_rate=44100', '-ac', '2', f('audio.wav')]),
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x480', '-frames:v', '1', f('photo.jpg')]),
  ])

  await t.test('H.264/AAC MP4 with creation_time and location', async (t) => {
    const json = await probe(f('h264.mp4'))
    const r = parseProbe(json, SHANGHAI_UTC)
    t.equal(r.kind, 'video')
    t.match(r.container, /mp4/)
    t.ok(r.durationSec !== null && Math.abs(r.durationSec - 1) < 0.1, `duration ${r.durationSec}`)
    t.equal(r.sizeBytes, (await stat(f('h264.mp4'))).size)
    t.ok(r.bitRate !== null && r.bitRate > 0)
    t.strictSame(r.video, { codec: 'h264', width: 320, height: 240, fps: 25, pixFmt: 'yuv420p', rotation: 0 })
    t.strictSame(r.audio, { codec: 'aac', sampleRate: 48000, channels: 1 })
    t.strictSame(r.creationTime, {
      utc: '2024-05-01T08:30:00.000Z',
      offset: '+08:00',
      local: '2024-05-01T16:30:00.000+08:00',
      interpretedAs: 'utc',
      raw: '2024-05-01T08:30:00.000000Z',
      source: 'format:creation_time',
    })
    t.strictSame(r.gps, { lat: 31.2304, lon: 121.4737, source: 'format:location' })
    t.equal(r.tags.format['location'], '+31.2304+121.4737/')
    t.equal(r.tags.streams.length, 2)
    t.equal(r.tags.streams[1]?.['handler_name'], 'SoundHandler')

    // The same file from a camera that writes local wall time.
    const local = parseProbe(json, SHANGHAI_LOCAL)
    t.strictSame(local.creationTime, {
      utc: '2024-05-01T00:30:00.000Z',
      offset: '+08:00',
      local: '2024-05-01T08:30:00.000+08:00',
      interpretedAs: 'camera-local',
      raw: '2024-05-01T08:30:00.000000Z',
      source: 'format:creation_time',
    })
    // parseProbe also accepts the raw JSON text.
    t.strictSame(parseProbe(JSON.stringify(json), SHANGHAI_LOCAL), local)
  })

  await t.test('HEVC MP4 with a QuickTime ISO 6709 location', async (t) => {
    const r = parseProbe(await probe(f('hevc.mp4')), SHANGHAI_UTC)
    t.equal(r.kind, 'video')
    t.equal(r.video?.codec, 'hevc')
    t.equal(r.video?.fps, 29.97)
    t.equal(r.audio, undefined)
    t.equal(r.creationTime, undefined, 'no creation_time written')
    t.strictSame(r.gps, {
      lat: -33.8688,
      lon: 151.2093,
      alt: 12.5,
      source: 'format:com.apple.quicktime.location.ISO6709',
    })
  })

  await t.test('MJPEG AVI is a video, not a photo', async (t) => {
    const r = parseProbe(await probe(f('mjpeg.avi')), SHANGHAI_UTC)
    t.equal(r.kind, 'video')
    t.equal(r.container, 'avi')
    t.equal(r.video?.codec, 'mjpeg')
    t.equal(r.video?.pixFmt, 'yuvj420p')
    t.equal(r.video?.fps, 25)
    t.ok(r.durationSec !== null && Math.abs(r.durationSec - 1) < 0.1)
  })

  await t.test('WAV is audio', async (t) => {
    const r = parseProbe(await probe(f('audio.wav')), SHANGHAI_UTC)
    t.equal(r.kind, 'audio')
    t.equal(r.container, 'wav')
    t.equal(r.video, undefined)
    t.strictSame(r.audio, { codec: 'pcm_s16le', sampleRate: 44100, channels: 2 })
    t.ok(r.durationSec !== null && Math.abs(r.durationSec - 1) < 0.1)
  })

  await t.test('JPEG is a photo', async (t) => {
    const r = parseProbe(await probe(f('photo.jpg')), SHANGHAI_UTC)
    t.equal(r.kind, 'photo')
    t.equal(r.container, 'image2')
    t.equal(r.video?.codec, 'mjpeg')
    t.equal(r.video?.width, 640)
    t.equal(r.video?.height, 480)
    t.equal(r.video?.fps, null, 'a photo has no frame rate')
    t.equal(r.durationSec, null, 'a photo has no duration')
    t.equal(r.audio, undefined)
  })
})

// ---------------------------------------------------------------------------
// Hand-written odd JSON.

t.test('parseProbe never throws on odd JSON', async (t) => {
  const odd: unknown[] = [
    null,
    undefined,
    42,
    true,
    'not json',
    '[]',
    '{}',
    [],
    {},
    { streams: 'x', format: 7 },
    { streams: [null, 1, 'a', []] },
    { format: { duration: 'N/A', size: '-1', bit_rate: 'abc', tags: { a: 1, b: null, c: { d: 1 } } } },
    { streams: [{ codec_type: 'data' }, { codec_type: 'subtitle', codec_name: 'mov_text' }] },
    { streams: [{ codec_type: 'video', width: '12', height: -5, avg_frame_rate: '0/0', r_frame_rate: 'x' }] },
    { streams: [{ codec_type: 'audio', sample_rate: 'N/A', channels: 2.5 }], format: { tags: { creation_time: 'garbage', location: 'nowhere' } } },
  ]
  for (const o of odd) {
    t.doesNotThrow(() => parseProbe(o, SHANGHAI_UTC), JSON.stringify(o) ?? 'undefined')
  }
  const empty = parseProbe(null, SHANGHAI_UTC)
  t.strictSame(empty, { kind: 'unknown', container: '', durationSec: null, bitRate: null, sizeBytes: null, tags: { format: {}, streams: [] } })
  t.equal(parseProbe('not json', SHANGHAI_UTC).kind, 'unknown')
  t.equal(parseProbe({ streams: [{ codec_type: 'data' }] }, SHANGHAI_UTC).kind, 'unknown')

  const tags = parseProbe(odd[11], SHANGHAI_UTC)
  t.strictSame(tags.tags.format, { a: '1' }, 'only scalar tags kept, as strings')
  t.equal(tags.durationSec, null)
  t.equal(tags.sizeBytes, null)

  const v = parseProbe(odd[13], SHANGHAI_UTC)
  t.equal(v.kind, 'video')
  t.strictSame(v.video, { codec: 'unknown', width: 12, height: null, fps: null, pixFmt: null, rotation: 0 })

  const a = parseProbe(odd[14], SHANGHAI_UTC)
  t.equal(a.kind, 'audio')
  t.strictSame(a.audio, { codec: 'unknown', sampleRate: null, channels: null })
  t.equal(a.creationTime, undefined)
  t.equal(a.gps, undefined)
})

t.test('parseProbe kinds from hand-written streams', async (t) => {
  // Cover art in an audio file is not a video.
  const m4a = parseProbe(
    {
      format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2' },
      streams: [
        { codec_type: 'audio', codec_name: 'aac', sample_rate: '44100', channels: 2 },
        { codec_type: 'video', codec_name: 'mjpeg', width: 500, height: 500, disposition: { attached_pic: 1 } },
      ],
    },
    SHANGHAI_UTC,
  )
  t.equal(m4a.kind, 'audio')
  t.equal(m4a.video, undefined)

  // A JPEG without a file extension is probed as jpeg_pipe.
  t.equal(
    parseProbe(
      {
        format: { format_name: 'jpeg_pipe' },
        streams: [{ codec_type: 'video', codec_name: 'mjpeg', width: 10, height: 10 }],
      },
      SHANGHAI_UTC,
    ).kind,
    'photo',
  )
  t.equal(
    parseProbe(
      {
        format: { format_name: 'png_pipe' },
        streams: [{ codec_type: 'video', codec_name: 'png', width: 10, height: 10 }],
      },
      SHANGHAI_UTC,
    ).kind,
    'photo',
  )

  // Rotation from the display matrix (portrait phone clip) and the legacy tag.
  const rot = parseProbe(
    {
      streams: [{ codec_type: 'video', codec_name: 'h264', side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] }],
    },
    SHANGHAI_UTC,
  )
  t.equal(rot.video?.rotation, 270)
  const legacy = parseProbe({ streams: [{ codec_type: 'video', codec_name: 'h264', tags: { rotate: '90' } }] }, SHANGHAI_UTC)
  t.equal(legacy.video?.rotation, 270)

  // creation_time only on a stream; location on a stream.
  const s = parseProbe(
    {
      streams: [
        { codec_type: 'data', tags: {} },
        { codec_type: 'video', codec_name: 'h264', tags: { creation_time: '2024-01-15T09:00:00Z', 'location-eng': '+3113.824+12128.422/' } },
      ],
    },
    SHANGHAI_LOCAL,
  )
  t.equal(s.creationTime?.source, 'stream1:creation_time')
  t.equal(s.creationTime?.utc, '2024-01-15T01:00:00.000Z')
  t.equal(s.gps?.source, 'stream1:location-eng')
  t.ok(s.gps && Math.abs(s.gps.lat - 31.2304) < 1e-9 && Math.abs(s.gps.lon - 121.4737) < 1e-9)
})

t.test('creation time: local vs UTC', async (t) => {
  const raw = '2024-05-01T08:30:00.000000Z'
  t.equal(interpretCreationTime(raw, SHANGHAI_UTC)?.utc, '2024-05-01T08:30:00.000Z', 'UTC by spec')
  t.equal(interpretCreationTime(raw, SHANGHAI_LOCAL)?.utc, '2024-05-01T00:30:00.000Z', 'Z ignored for local cameras')

  // A zone with DST: the offset follows the date.
  const ny = { cameraTimeZone: 'America/New_York', creationTimeIsLocal: true }
  const summer = interpretCreationTime('2024-07-04 12:00:00', ny)
  t.strictSame(summer && { utc: summer.utc, offset: summer.offset, interpretedAs: summer.interpretedAs }, {
    utc: '2024-07-04T16:00:00.000Z',
    offset: '-04:00',
    interpretedAs: 'camera-local',
  })
  t.equal(interpretCreationTime('2024-01-04 12:00:00', ny)?.utc, '2024-01-04T17:00:00.000Z')
  t.equal(
    interpretCreationTime('2024-01-04 12:00:00', { ...ny, creationTimeIsLocal: false })?.offset,
    '-05:00',
    'UTC interpretation still reports the camera zone offset',
  )

  // An explicit non-zero offset (QuickTime creationdate) is trusted either way.
  for (const o of [SHANGHAI_UTC, SHANGHAI_LOCAL]) {
    const e = interpretCreationTime('2024-05-01T08:30:00+0800', o)
    t.equal(e?.utc, '2024-05-01T00:30:00.000Z')
    t.equal(e?.interpretedAs, 'explicit-offset')
    t.equal(e?.offset, '+08:00')
  }
  const apple = parseProbe({ format: { tags: { 'com.apple.quicktime.creationdate': '2024-05-01T08:30:00-0530' } } }, SHANGHAI_LOCAL)
  t.equal(apple.creationTime?.utc, '2024-05-01T14:00:00.000Z')
  t.equal(apple.creationTime?.offset, '-05:30')

  // Fractions are kept to the millisecond; placeholders and garbage are dropped.
  t.equal(interpretCreationTime('2024-05-01T08:30:00.123456Z', SHANGHAI_UTC)?.utc, '2024-05-01T08:30:00.123Z')
  t.equal(interpretCreationTime('1970-01-01T00:00:00.000000Z', SHANGHAI_UTC), undefined)
  t.equal(interpretCreationTime('1904-01-01T00:00:00Z', SHANGHAI_LOCAL), undefined)
  t.equal(interpretCreationTime('2024-13-45T99:00:00Z', SHANGHAI_UTC), undefined)
  t.equal(interpretCreationTime('yesterday', SHANGHAI_UTC), undefined)

  t.throws(() => parseProbe({}, { cameraTimeZone: 'Mars/Olympus', creationTimeIsLocal: true }), ProbeOptionsError)
  t.throws(() => interpretCreationTime(raw, { cameraTimeZone: 'nope', creationTimeIsLocal: false }), {
    code: 'MEDIA_BAD_TIMEZONE',
  })
})

t.test('ISO 6709', async (t) => {
  t.strictSame(parseIso6709('+31.2304+121.4737/'), { lat: 31.2304, lon: 121.4737 })
  t.strictSame(parseIso6709('+31.2304+121.4737+010.000/'), { lat: 31.2304, lon: 121.4737, alt: 10 })
  t.strictSame(parseIso6709('-33.8688-070.6693-005.5/'), { lat: -33.8688, lon: -70.6693, alt: -5.5 })
  t.strictSame(parseIso6709('+40.7128-074.0060'), { lat: 40.7128, lon: -74.006 }, 'trailing slash optional')
  const dms = parseIso6709('+311349.44+1212825.32/')
  t.ok(dms && Math.abs(dms.lat - 31.2304) < 1e-4 && Math.abs(dms.lon - 121.4737) < 1e-4, 'DDMMSS form')
  t.equal(parseIso6709('+00.0000+000.0000/'), undefined, '0,0 means no fix')
  t.equal(parseIso6709('+91.0+000.0/'), undefined)
  t.equal(parseIso6709('+3199.0+12100.0/'), undefined, 'minutes >= 60')
  t.equal(parseIso6709('31.2304,121.4737'), undefined)
  t.equal(parseIso6709(''), undefined)
})

// ---------------------------------------------------------------------------
// SRT GPS sidecars.

t.test('parseSrtGps: GPS(lon,lat,alt) form', async (t) => {
  const srt = [
    '1',
    '00:00:00,000 --> 00:00:01,000',
    '2024-05-01 08:30:00 GPS(121.4737,31.2304,25.3) BAROMETER:12.1',
    '',
    '2',
    '00:00:01,000 --> 00:00:02,000',
    '2024-05-01 08:30:01 GPS(0.000000,0.000000,0)',
    '',
    '3',
    '00:00:02,500 --> 00:00:03,000',
    'GPS(121.4740,31.2310,25.0)',
    '',
  ].join('\r\n')
  t.strictSame(parseSrtGps('\uFEFF' + srt), [
    { tSec: 0, lat: 31.2304, lon: 121.4737 },
    { tSec: 2.5, lat: 31.231, lon: 121.474 },
  ])
  // Western hemisphere: (lat, lon) order is detected when only the second value can be a longitude.
  t.strictSame(parseGpsText('GPS(40.7128,-120.0060,10)'), { lat: 40.7128, lon: -120.006 })
})

t.test('parseSrtGps: [latitude: ] [longitude: ] form', async (t) => {
  const srt = `1
00:00:00,000 --> 00:00:00,033
<font size="28">FrameCnt: 1, DiffTime: 33ms
2024-05-01 08:30:00.123
[iso: 100] [shutter: 1/60.0] [latitude: 31.2304] [longitude: 121.4737] [rel_alt: 1.2 abs_alt: 20.1] </font>

2
00:00:00,033 --> 00:00:00,066
[latitude : 31.2305] [longtitude : 121.4738]

3
00:01:02,100 --> 00:01:02,133
[latitude: -33.8688] [longitude: 151.2093]
`
  t.strictSame(parseSrtGps(srt), [
    { tSec: 0, lat: 31.2304, lon: 121.4737 },
    { tSec: 0.033, lat: 31.2305, lon: 121.4738 },
    { tSec: 62.1, lat: -33.8688, lon: 151.2093 },
  ])
})

t.test('parseSrtGps: N/E hemisphere form', async (t) => {
  const srt = `1
00:00:00,000 --> 00:00:01,000
ZFY-001 0012345 2024-05-01 08:30:00 N31.2304 E121.4737 35km/h

2
00:00:01,000 --> 00:00:02,000
ZFY-001 0012345 2024-05-01 08:30:01 N:31.2306, E:121.4739

3
00:00:02,000 --> 00:00:03,000
ZFY-001 0012345 2024-05-01 08:30:02 S33.8688 W70.6693

4
00:00:03,000 --> 00:00:04,000
ZFY-001 0012345 2024-05-01 08:30:03 no signal
`
  t.strictSame(parseSrtGps(srt), [
    { tSec: 0, lat: 31.2304, lon: 121.4737 },
    { tSec: 1, lat: 31.2306, lon: 121.4739 },
    { tSec: 2, lat: -33.8688, lon: -70.6693 },
  ])
  t.strictSame(parseSrtGps(''), [])
  t.strictSame(parseSrtGps('GPS(121.4,31.2,0)'), [], 'text before any cue timing is ignored')
  t.strictSame(parseSrtGps('1\n00:00:05,000 --> 00:00:06,000\nfoo\nN31.5 E121.5\nN32.5 E122.5\n'), [{ tSec: 5, lat: 31.5, lon: 121.5 }], 'one point per cue')
})

// ---------------------------------------------------------------------------
// -progress parsing and doctor helpers.

t.test('parseProgress is incremental', async (t) => {
  const stream = [
    'frame=0',
    'fps=0.00',
    'out_time_us=N/A',
    'out_time_ms=N/A',
    'out_time=N/A',
    'speed=N/A',
    'progress=continue',
    'frame=25',
    'fps=0.00',
    'bitrate= 365.2kbits/s',
    'total_size=45776',
    'out_time_us=1002667',
    'out_time_ms=1002667',
    'out_time=00:00:01.002667',
    'dup_frames=0',
    'drop_frames=0',
    'speed=11.2x',
    'progress=continue',
    'out_time_ms=2500000',
    'speed=  10x',
    'progress=continue',
    'out_time=00:01:03.500000',
    'speed=0.5x',
    'progress=end',
    '',
  ].join('\n')
  const expected: ProgressEvent[] = [
    { outTimeSec: null, speed: null, done: false },
    { outTimeSec: 1.002667, speed: 11.2, done: false },
    { outTimeSec: 2.5, speed: 10, done: false },
    { outTimeSec: 63.5, speed: 0.5, done: true },
  ]
  // Whole, and split into awkward chunk sizes.
  for (const size of [stream.length, 1, 7, 64]) {
    let state = initialProgressState()
    const events: ProgressEvent[] = []
    for (let i = 0; i < stream.length; i += size) {
      const r = parseProgress(state, stream.slice(i, i + size))
      state = r.state
      events.push(...r.events)
    }
    t.strictSame(events, expected, `chunk size ${size}`)
    t.strictSame(state, initialProgressState(), 'nothing left over')
  }
  // CRLF and garbage lines are tolerated.
  const r = parseProgress(initialProgressState(), 'junk\r\n=x\r\nout_time_us=500000\r\nprogress=end\r\n')
  t.strictSame(r.events, [{ outTimeSec: 0.5, speed: null, done: true }])
  // Pure: the input state is not mutated.
  const s0 = initialProgressState()
  parseProgress(s0, 'out_time_us=1\n')
  t.strictSame(s0, initialProgressState())
})

t.test('a lean build (scripts/lean-ffmpeg) left behind by a Debian update is found', async (t) => {
  // The threat: Debian ships a security fix to ffmpeg, the station keeps running its lean build of the old version.
  const dpkg = (v: string | null) => () => v
  t.equal(leanBuildState('5.1.9-0+deb12u1', dpkg('7:5.1.9-0+deb12u1')), null, "Debian's own build: nothing to say")
  t.equal(leanBuildState('n7.0', dpkg(null)), null, 'any other build: nothing to say')
  t.match(leanBuildState('5.1.9-0+deb12u1+bodyvault-lean', dpkg('7:5.1.9-0+deb12u1')), { current: true }, 'the version installed (epoch aside): current')
  const behind = leanBuildState('5.1.9-0+deb12u1+bodyvault-lean', dpkg('7:5.1.9-0+deb12u2'))
  t.match(behind, { current: false, detail: /5\.1\.9-0\+deb12u1.*now 5\.1\.9-0\+deb12u2.*run scripts\/lean-ffmpeg/ }, 'Debian moved on: behind, and what to do')
  t.match(
    leanBuildState('5.1.9-0+deb12u1+bodyvault-lean', dpkg(null)),
    { current: false, detail: /not installed/ },
    'nothing to compare with: said, not passed',
  )
  t.equal(
    parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1+bodyvault-lean Copyright (c) 2000-2026'),
    '5.1.9-0+deb12u1+bodyvault-lean',
    'the lean version line parses whole',
  )
})

t.test('version and encoder parsing', async (t) => {
  t.equal(parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers\n'), '5.1.9-0+deb12u1')
  t.equal(parseFfmpegVersion('ffprobe version n7.0 Copyright'), 'n7.0')
  t.equal(parseFfmpegVersion('hello'), null)
  const enc = parseEncoderList(`Encoders:
 V..... = Video
 A..... = Audio
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 VFS... mjpeg                MJPEG (Motion JPEG)
 A..... aac                  AAC (Advanced Audio Coding)
`)
  t.strictSame([...enc].sort(), ['aac', 'libx264', 'mjpeg'])
})
