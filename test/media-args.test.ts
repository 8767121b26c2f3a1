import t from 'tap'

import {
  MediaArgsError,
  X264_PRESETS,
  audioProxyArgs,
  encodersArgs,
  probeArgs,
  proxyScaleFilter,
  remuxProxyArgs,
  thumbnailArgs,
  versionArgs,
  videoProxyArgs,
} from '../src/media/args.js'
import { encoderArgs } from '../src/media/encoders.js'

const COMMON = ['-hide_banner', '-nostdin', '-v', 'error', '-nostats']

function argsError(field: string): { name: string; code: string; field: string } {
  return { name: 'MediaArgsError', code: 'MEDIA_BAD_ARGS', field }
}

t.test('probeArgs', async (t) => {
  t.strictSame(probeArgs('/vault/objects/ab/abcdef'), {
    cmd: 'ffprobe',
    args: ['-hide_banner', '-v', 'error', '-of', 'json', '-show_format', '-show_streams', '-show_chapters', 'file:/vault/objects/ab/abcdef'],
  })
  t.equal(probeArgs('x').output, undefined, 'probe declares no output')
  // A path that looks like another protocol is still read as a file.
  t.equal(probeArgs('concat:a|b').args.at(-1), 'file:concat:a|b')
})

t.test('videoProxyArgs with defaults and audio', async (t) => {
  const spec = videoProxyArgs('/in/a.mp4', '/out/a.mp4.tmp', { hasAudio: true })
  t.strictSame(spec, {
    cmd: 'ffmpeg',
    output: '/out/a.mp4.tmp',
    args: [
      ...COMMON,
      '-progress',
      'pipe:1',
      '-y',
      '-i',
      'file:/in/a.mp4',
      '-map',
      '0:v:0',
      '-map',
      '0:a:0?',
      '-sn',
      '-dn',
      '-vf',
      "scale=-2:'min(720,trunc(ih/2)*2)',format=yuv420p",
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '28',
      '-force_key_frames',
      'expr:gte(t,n_forced*2)',
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-map_metadata',
      '-1',
      '-map_chapters',
      '-1',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      'file:/out/a.mp4.tmp',
    ],
  })
})

t.test('videoProxyArgs without audio, custom options, creation time', async (t) => {
  const spec = videoProxyArgs('in.avi', 'tmp/p.part', {
    hasAudio: false,
    maxHeight: 480,
    preset: 'medium',
    crf: 23,
    audioBitrate: '96k',
    threads: 2,
    creationTime: '2024-05-01T00:30:00.000Z',
  })
  t.strictSame(spec.args, [
    ...COMMON,
    '-progress',
    'pipe:1',
    '-y',
    '-i',
    'file:in.avi',
    '-map',
    '0:v:0',
    '-sn',
    '-dn',
    '-vf',
    "scale=-2:'min(480,trunc(ih/2)*2)',format=yuv420p",
    '-c:v',
    'libx264',
    '-preset',
    'medium',
    '-crf',
    '23',
    '-force_key_frames',
    'expr:gte(t,n_forced*2)',
    '-an',
    '-threads',
    '2',
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    '-metadata',
    'creation_time=2024-05-01T00:30:00.000Z',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    'file:tmp/p.part',
  ])
  t.notOk(spec.args.includes('0:a:0?'), 'no audio map when the original has none')
  t.equal(proxyScaleFilter(1080), "scale=-2:'min(1080,trunc(ih/2)*2)',format=yuv420p")
})

t.test('videoProxyArgs validation', async (t) => {
  const ok = { hasAudio: true }
  t.throws(() => videoProxyArgs('', 'o', ok), argsError('input'))
  t.throws(() => videoProxyArgs('-i', 'o', ok), argsError('input'))
  t.throws(() => videoProxyArgs('-evil.mp4', 'o', ok), argsError('input'))
  t.throws(() => videoProxyArgs('a\nb', 'o', ok), argsError('input'))
  t.throws(() => videoProxyArgs('a\0b', 'o', ok), argsError('input'))
  t.throws(() => videoProxyArgs('in', '', ok), argsError('output'))
  t.throws(() => videoProxyArgs('in', '-y', ok), argsError('output'))
  t.throws(() => videoProxyArgs('same', 'same', ok), argsError('output'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, crf: -1 }), argsError('crf'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, crf: 52 }), argsError('crf'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, crf: 20.5 }), argsError('crf'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, crf: Number.NaN }), argsError('crf'))
  t.doesNotThrow(() => videoProxyArgs('in', 'o', { ...ok, crf: 0 }))
  t.doesNotThrow(() => videoProxyArgs('in', 'o', { ...ok, crf: 51 }))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, preset: 'turbo' }), argsError('preset'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, preset: 'VERYFAST' }), argsError('preset'))
  for (const preset of X264_PRESETS) {
    t.doesNotThrow(() => videoProxyArgs('in', 'o', { ...ok, preset }), preset)
  }
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, maxHeight: 0 }), argsError('maxHeight'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, maxHeight: 719.5 }), argsError('maxHeight'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, audioBitrate: '128' }), argsError('audioBitrate'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, audioBitrate: '128k -y' }), argsError('audioBitrate'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, threads: 0 }), argsError('threads'))
  t.throws(() => videoProxyArgs('in', 'o', { ...ok, creationTime: '2024-05-01 08:30:00' }), argsError('creationTime'))
  const err = t.throws(() => videoProxyArgs('-x', 'o', ok))
  t.ok(err instanceof MediaArgsError, 'typed error class')
})

t.test('audioProxyArgs', async (t) => {
  t.strictSame(audioProxyArgs('/in/rec.wav', '/out/rec.m4a.tmp'), {
    cmd: 'ffmpeg',
    output: '/out/rec.m4a.tmp',
    args: [
      ...COMMON,
      '-progress',
      'pipe:1',
      '-y',
      '-i',
      'file:/in/rec.wav',
      '-map',
      '0:a:0',
      '-vn',
      '-sn',
      '-dn',
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-map_metadata',
      '-1',
      '-map_chapters',
      '-1',
      '-movflags',
      '+faststart',
      '-f',
      'ipod',
      'file:/out/rec.m4a.tmp',
    ],
  })
  const custom = audioProxyArgs('a.wav', 'b', { audioBitrate: '64k', threads: 1, creationTime: '2024-01-02T03:04:05Z' })
  t.strictSame(custom.args.slice(custom.args.indexOf('-b:a')), [
    '-b:a',
    '64k',
    '-threads',
    '1',
    '-map_metadata',
    '-1',
    '-map_chapters',
    '-1',
    '-metadata',
    'creation_time=2024-01-02T03:04:05Z',
    '-movflags',
    '+faststart',
    '-f',
    'ipod',
    'file:b',
  ])
  t.throws(() => audioProxyArgs('-a.wav', 'b'), argsError('input'))
  t.throws(() => audioProxyArgs('a.wav', ''), argsError('output'))
  t.throws(() => audioProxyArgs('a.wav', 'b', { audioBitrate: 'loud' }), argsError('audioBitrate'))
})

t.test('thumbnailArgs', async (t) => {
  t.strictSame(thumbnailArgs('/in/v.mp4', '/out/v.jpg.tmp', { atSeconds: 12.3456 }), {
    cmd: 'ffmpeg',
    output: '/out/v.jpg.tmp',
    args: [
      ...COMMON,
      '-y',
      // seek before decoding, decode the one key frame there
      '-skip_frame',
      'nokey',
      '-noaccurate_seek',
      '-ss',
      '12.346',
      '-i',
      'file:/in/v.mp4',
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-frames:v',
      '1',
      '-fps_mode',
      'passthrough',
      '-vf',
      "scale='min(320,iw)':-2",
      '-c:v',
      'mjpeg',
      '-q:v',
      '3',
      '-map_metadata',
      '-1',
      '-f',
      'mjpeg',
      'file:/out/v.jpg.tmp',
    ],
  })
  // Photo: no seek; custom width.
  const photo = thumbnailArgs('p.jpg', 'p.thumb', { width: 160 })
  t.notOk(photo.args.includes('-ss') || photo.args.includes('-skip_frame'), 'a photo is decoded as it is')
  t.notOk(photo.args.includes('-fps_mode'))
  t.ok(photo.args.includes("scale='min(160,iw)':-2"))
  t.strictSame(thumbnailArgs('p.jpg', 'q').args, thumbnailArgs('p.jpg', 'q', {}).args, 'opts optional')
  t.equal(thumbnailArgs('v', 'o', { atSeconds: 0 }).args[10], '0.000')
  t.equal(thumbnailArgs('v', 'o', { atSeconds: 1e-7 }).args[10], '0.000', 'never exponent notation')
  t.throws(() => thumbnailArgs('v', 'o', { atSeconds: -1 }), argsError('atSeconds'))
  t.throws(() => thumbnailArgs('v', 'o', { atSeconds: Number.POSITIVE_INFINITY }), argsError('atSeconds'))
  t.throws(() => thumbnailArgs('v', 'o', { width: 0 }), argsError('width'))
  t.throws(() => thumbnailArgs('-v', 'o'), argsError('input'))
})

t.test('remuxProxyArgs: stream copy, tags dropped, faststart', async (t) => {
  t.strictSame(remuxProxyArgs('/in/a.mp4', '/out/a.part', { kind: 'proxy', hasAudio: true, creationTime: '2026-11-20T00:00:00Z' }), {
    cmd: 'ffmpeg',
    output: '/out/a.part',
    args: [
      ...COMMON,
      '-progress',
      'pipe:1',
      '-y',
      '-i',
      'file:/in/a.mp4',
      '-map',
      '0:v:0',
      '-map',
      '0:a:0?',
      '-sn',
      '-dn',
      '-c',
      'copy',
      '-map_metadata',
      '-1',
      '-map_chapters',
      '-1',
      '-metadata',
      'creation_time=2026-11-20T00:00:00Z',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      'file:/out/a.part',
    ],
  })
  const silent = remuxProxyArgs('a', 'b', { kind: 'proxy', hasAudio: false }).args
  t.notOk(silent.includes('0:a:0?'), 'no audio map without audio')
  t.notOk(silent.includes('-metadata'), 'no creation time without one')
  const audio = remuxProxyArgs('a.m4a', 'b', { kind: 'audio-proxy', hasAudio: true }).args
  t.strictSame(audio.slice(audio.indexOf('-map'), audio.indexOf('-sn')), ['-map', '0:a:0', '-vn'])
  t.equal(audio.at(-2), 'ipod', 'M4A muxer for audio')
  t.throws(() => remuxProxyArgs('a', 'a', { kind: 'proxy', hasAudio: true }), argsError('output'))
  t.throws(() => remuxProxyArgs('-a', 'b', { kind: 'proxy', hasAudio: true }), argsError('input'))
  t.throws(() => remuxProxyArgs('a', 'b', { kind: 'proxy', hasAudio: true, creationTime: '2026-11-20 08:00' }), argsError('creationTime'))
})

t.test('videoProxyArgs with a hardware encoder: its options before the input, upload after the scale, its codec', async (t) => {
  const args = (kind: 'vaapi' | 'qsv' | 'nvenc', device: string | null = null): string[] =>
    videoProxyArgs('/in/a.mp4', '/out/a.part', { hasAudio: false, encoder: encoderArgs(kind, { device, preset: 'veryfast', crf: 28 }) }).args
  const v = args('vaapi')
  t.strictSame(v.slice(v.indexOf('-vaapi_device'), v.indexOf('-i')), ['-vaapi_device', '/dev/dri/renderD128'], 'the default render node')
  t.equal(v[v.indexOf('-vf') + 1], `${proxyScaleFilter(720)},format=nv12,hwupload`)
  t.strictSame(v.slice(v.indexOf('-c:v'), v.indexOf('-c:v') + 4), ['-c:v', 'h264_vaapi', '-qp', '28'])
  t.notOk(v.includes('libx264') || v.includes('-preset'), 'no libx264 options')
  const q = args('qsv', '/dev/dri/renderD129')
  t.strictSame(q.slice(q.indexOf('-init_hw_device'), q.indexOf('-i')), [
    '-init_hw_device',
    'vaapi=va:/dev/dri/renderD129',
    '-init_hw_device',
    'qsv=hw@va',
    '-filter_hw_device',
    'hw',
  ])
  t.ok(q.includes('h264_qsv'))
  const n = args('nvenc', '1')
  t.strictSame(n.slice(n.indexOf('-c:v'), n.indexOf('-c:v') + 4), ['-c:v', 'h264_nvenc', '-gpu', '1'])
  t.equal(n[n.indexOf('-vf') + 1], proxyScaleFilter(720), 'scaled in software, no upload')
  // software is the default and the same as no encoder given
  t.strictSame(
    videoProxyArgs('a', 'b', { hasAudio: false, encoder: encoderArgs('software', { device: null, preset: 'veryfast', crf: 28 }) }).args,
    videoProxyArgs('a', 'b', { hasAudio: false }).args,
  )
})

t.test('doctor specs', async (t) => {
  t.strictSame(versionArgs(), { cmd: 'ffmpeg', args: ['-hide_banner', '-version'] })
  t.strictSame(versionArgs('ffprobe'), { cmd: 'ffprobe', args: ['-hide_banner', '-version'] })
  t.strictSame(encodersArgs(), { cmd: 'ffmpeg', args: ['-hide_banner', '-encoders'] })
})
