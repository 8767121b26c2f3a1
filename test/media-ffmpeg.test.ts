import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { getPriority, tmpdir } from 'node:os'
import path from 'node:path'

import t from 'tap'

import { audioProxyArgs, probeArgs, thumbnailArgs, videoProxyArgs, type CommandSpec } from '../src/media/args.js'
import { FfmpegError, ffmpegInfo, locateFfmpeg, locateFfprobe, runFfmpeg } from '../src/media/ffmpeg.js'
import type { ProgressEvent } from '../src/media/ffmpeg-output.js'
import { parseProbe, type ProbeResult } from '../src/media/probe.js'

const PROBE_OPTS = { cameraTimeZone: 'Asia/Shanghai', creationTimeIsLocal: false }
const NOT_FOUND_MESSAGE = "ffmpeg not found: install it (scripts/ensure-system-deps installs Debian's ffmpeg) or set media.ffmpegPath"

const dir = await mkdtemp(path.join(tmpdir(), 'bodyvault-ffmpeg-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const f = (name: string): string => path.join(dir, name)

async function exists(p: string): Promise<boolean> {
  try {
    await access(p)
    return true
  } catch {
    return false
  }
}

async function probe(file: string): Promise<ProbeResult> {
  const r = await runFfmpeg(probeArgs(file), { timeoutMs: 30_000 })
  return parseProbe(r.stdout, PROBE_OPTS)
}

/** Top-level ISO BMFF box types, in file order. */
async function topLevelBoxes(file: string): Promise<string[]> {
  const buf = await readFile(file)
  const types: string[] = []
  let off = 0
  while (off + 8 <= buf.length) {
    let size = buf.readUInt32BE(off)
    const type = buf.toString('latin1', off + 4, off + 8)
    if (size === 1) size = Number(buf.readBigUInt64BE(off + 8))
    else if (size === 0) size = buf.length - off
    if (size < 8) break
    types.push(type)
    off += size
  }
  return types
}

/**
 * True when no live process of the group led by `pid` exists any more.
 * Zombies do not count: a killed grandchild is re-parented to PID 1, which in
 * some containers reaps late.
 */
function groupGone(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      let stat: string
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      } catch {
        continue // exited meanwhile
      }
      // Fields after the parenthesised command name: state, ppid, pgrp, ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if ((Number(entry) === pid || Number(pgrp) === pid) && state !== 'Z') return false
    }
    return true
  }
  for (const target of [pid, -pid]) {
    try {
      process.kill(target, 0)
      return false
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') return false
    }
  }
  return true
}

/** An endless 1080p encode: only a timeout or an abort ends it. */
function endlessSpec(output: string): CommandSpec {
  return {
    cmd: 'ffmpeg',
    output,
    args: [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-nostats',
      '-progress',
      'pipe:1',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1920x1080:rate=30',
      '-c:v',
      'libx264',
      '-preset',
      'medium',
      '-f',
      'mp4',
      `file:${output}`,
    ],
  }
}

// Source material: a 3 s 1080p H.264/AAC clip (moov at the end, like most
// cameras), a WAV and a JPEG.
await runFfmpeg(
  {
    cmd: 'ffmpeg',
    args: [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1920x1080:rate=30:duration=3',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000:duration=3',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-metadata',
      'creation_time=2024-05-01T08:30:00Z',
      '-metadata',
      'location=+31.2304+121.4737/',
      f('clip.mp4'),
    ],
  },
  { timeoutMs: 60_000 },
)
await runFfmpeg(
  {
    cmd: 'ffmpeg',
    args: ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=2', f('rec.wav')],
  },
  { timeoutMs: 30_000 },
)
await runFfmpeg(
  {
    cmd: 'ffmpeg',
    args: ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1000x750', '-frames:v', '1', f('photo.jpg')],
  },
  { timeoutMs: 30_000 },
)

t.test('video proxy: progress, codecs, size, duration, faststart, metadata', async (t) => {
  const source = await probe(f('clip.mp4'))
  t.equal(source.video?.height, 1080)
  t.ok(source.audio, 'source has audio')
  t.strictSame(await topLevelBoxes(f('clip.mp4')).then((b) => b.indexOf('moov') > b.indexOf('mdat')), true, 'source is not faststart')

  const out = f('clip.proxy.mp4.tmp')
  const events: ProgressEvent[] = []
  const spec = videoProxyArgs(f('clip.mp4'), out, {
    hasAudio: source.audio !== undefined,
    creationTime: source.creationTime?.utc,
  })
  const r = await runFfmpeg(spec, { timeoutMs: 60_000, nice: 10, onProgress: (e) => events.push(e) })
  t.equal(r.code, 0)
  t.equal(r.stdout, '', 'progress output is consumed, not returned')
  t.ok(r.durationMs > 0)

  t.ok(events.length >= 1, `${events.length} progress events`)
  t.equal(events.at(-1)?.done, true, 'last event is done')
  t.ok(
    events.slice(0, -1).every((e) => !e.done),
    'only the last event is done',
  )
  const last = events.at(-1)?.outTimeSec ?? 0
  t.ok(Math.abs(last - 3) < 0.5, `final out time ${last}`)

  const p = await probe(out)
  t.equal(p.kind, 'video')
  t.equal(p.video?.codec, 'h264')
  t.equal(p.video?.pixFmt, 'yuv420p')
  t.equal(p.video?.height, 720)
  t.equal(p.video?.width, 1280)
  t.equal(p.audio?.codec, 'aac')
  t.ok(p.durationSec !== null && Math.abs(p.durationSec - 3) <= 0.5, `duration ${p.durationSec}`)

  const boxes = await topLevelBoxes(out)
  t.ok(boxes.includes('moov') && boxes.includes('mdat'), boxes.join(','))
  t.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `moov before mdat (faststart): ${boxes.join(',')}`)

  t.equal(p.creationTime?.utc, '2024-05-01T08:30:00.000Z', 'normalized creation time carried over')
  t.equal(p.gps, undefined, 'camera location is not copied into the proxy')
  t.equal(p.tags.format['location'], undefined)
})

t.test('video proxy never upscales and can drop audio', async (t) => {
  const small = f('small.mp4')
  await runFfmpeg(
    {
      cmd: 'ffmpeg',
      args: [
        '-hide_banner',
        '-nostdin',
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x360:rate=25:duration=1',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        small,
      ],
    },
    { timeoutMs: 30_000 },
  )
  const out = f('small.proxy.tmp')
  await runFfmpeg(videoProxyArgs(small, out, { hasAudio: false }), { timeoutMs: 30_000 })
  const p = await probe(out)
  t.equal(p.video?.height, 360)
  t.equal(p.video?.width, 640)
  t.equal(p.audio, undefined, 'no audio track is invented')
})

t.test('audio proxy of a WAV is AAC in M4A', async (t) => {
  const out = f('rec.m4a.tmp')
  const events: ProgressEvent[] = []
  await runFfmpeg(audioProxyArgs(f('rec.wav'), out), { timeoutMs: 30_000, onProgress: (e) => events.push(e) })
  const p = await probe(out)
  t.equal(p.kind, 'audio')
  t.equal(p.audio?.codec, 'aac')
  t.equal(p.video, undefined)
  t.match(p.tags.format['major_brand'] ?? '', /M4A/)
  t.ok(p.durationSec !== null && Math.abs(p.durationSec - 2) <= 0.5)
  t.equal(events.at(-1)?.done, true)
  const boxes = await topLevelBoxes(out)
  t.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `faststart: ${boxes.join(',')}`)
})

t.test('thumbnails', async (t) => {
  const source = await probe(f('clip.mp4'))
  const out = f('clip.thumb.tmp')
  await runFfmpeg(thumbnailArgs(f('clip.mp4'), out, { atSeconds: (source.durationSec ?? 0) * 0.1 }), { timeoutMs: 30_000 })
  const p = await probe(out)
  t.equal(p.kind, 'photo')
  t.equal(p.video?.codec, 'mjpeg')
  t.equal(p.video?.width, 320)
  t.equal(p.video?.height, 180)
  const head = (await readFile(out)).subarray(0, 3)
  t.strictSame([...head], [0xff, 0xd8, 0xff], 'JPEG SOI marker')

  const photoOut = f('photo.thumb.tmp')
  await runFfmpeg(thumbnailArgs(f('photo.jpg'), photoOut), { timeoutMs: 30_000 })
  const pp = await probe(photoOut)
  t.equal(pp.video?.codec, 'mjpeg')
  t.equal(pp.video?.width, 320)
  t.equal(pp.video?.height, 240)

  // A seek past the end (a duration that overstates the file) still gives the last key frame.
  const last = f('last.thumb.tmp')
  await runFfmpeg(thumbnailArgs(f('clip.mp4'), last, { atSeconds: 60 }), { timeoutMs: 30_000 })
  t.equal((await probe(last)).video?.codec, 'mjpeg', 'past the end: the last key frame')

  // A frame-accurate seek past the end encodes nothing: ffmpeg exits 0, the adapter fails, and no empty file is left.
  const late = f('late.thumb.tmp')
  const keyOnly = new Set(['-skip_frame', 'nokey', '-noaccurate_seek', '-fps_mode', 'passthrough'])
  const spec = thumbnailArgs(f('clip.mp4'), late, { atSeconds: 60 })
  const accurate = { ...spec, args: spec.args.filter((a) => !keyOnly.has(a)) }
  const err = await t.rejects(runFfmpeg(accurate, { timeoutMs: 30_000 }), {
    code: 'FFMPEG_FAILED',
  })
  t.ok(err)
  t.notOk(await exists(late), 'empty output removed')
})

t.test('a truncated MP4 fails with FFMPEG_FAILED and a stderr tail', async (t) => {
  const whole = await readFile(f('clip.mp4'))
  const truncated = f('truncated.mp4')
  await writeFile(truncated, whole.subarray(0, Math.floor(whole.length / 2)))
  const out = f('truncated.proxy.tmp')
  await writeFile(out, 'stale temp file from an earlier attempt')
  const err = await runFfmpeg(videoProxyArgs(truncated, out, { hasAudio: true }), { timeoutMs: 30_000 }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof FfmpegError, 'typed error')
  if (!(err instanceof FfmpegError)) return
  t.equal(err.code, 'FFMPEG_FAILED')
  t.not(err.exitCode, 0)
  t.ok(err.exitCode !== null)
  t.ok(err.stderrTail.length > 0, 'stderr tail present')
  t.match(err.stderrTail, /moov atom not found|Invalid data/)
  t.match(err.message, /exited with code/)
  t.notOk(await exists(out), 'declared output removed')

  // ffprobe on the same file fails the same way.
  await t.rejects(runFfmpeg(probeArgs(truncated), { timeoutMs: 30_000 }), { code: 'FFMPEG_FAILED' })
})

t.test('timeout kills the process group and removes the output', async (t) => {
  for (const [label, timeoutMs, nice] of [
    ['1 ms', 1, undefined],
    ['500 ms under nice', 500, 5],
  ] as const) {
    const out = f(`endless-${timeoutMs}.tmp`)
    let pid: number | undefined
    const started = Date.now()
    const err = await runFfmpeg(endlessSpec(out), {
      timeoutMs,
      killGraceMs: 1000,
      onSpawn: (p) => {
        pid = p
      },
      ...(nice !== undefined ? { nice } : {}),
    }).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(err instanceof FfmpegError, label)
    t.equal((err as FfmpegError).code, 'FFMPEG_TIMEOUT', label)
    t.ok(Date.now() - started < 10_000, `${label}: settled promptly`)
    t.ok(pid !== undefined && groupGone(pid), `${label}: no process left behind`)
    t.notOk(await exists(out), `${label}: output removed`)
  }
})

t.test('SIGKILL follows SIGTERM after the grace period, for the whole group', async (t) => {
  // A fake "ffmpeg" that ignores SIGTERM and has a child of its own (which
  // inherits the ignored signal and keeps stdout open).
  const stubborn = f('stubborn-ffmpeg')
  await writeFile(stubborn, "#!/bin/sh\ntrap '' TERM\nsleep 30 &\nwait\n", { mode: 0o755 })
  let pid: number | undefined
  const started = Date.now()
  const err = await runFfmpeg(endlessSpec(f('stubborn.tmp')), {
    timeoutMs: 200,
    killGraceMs: 300,
    ffmpegPath: stubborn,
    onSpawn: (p) => {
      pid = p
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.equal((err as FfmpegError).code, 'FFMPEG_TIMEOUT')
  t.equal((err as FfmpegError).signal, 'SIGKILL', 'needed SIGKILL')
  t.ok(Date.now() - started < 5_000, 'did not wait for the 30 s sleep')
  t.ok(pid !== undefined && groupGone(pid), 'grandchild killed too')
})

t.test('abort via AbortSignal', async (t) => {
  const out = f('aborted.tmp')
  const ac = new AbortController()
  let pid: number | undefined
  let progressSeen = 0
  let niceSeen: number | undefined
  let threadNices: number[] = []
  let firstReport: number | undefined
  const procStat = existsSync('/proc/self/stat')
  // Field 19 of /proc/<pid>/stat is the nice value (fields after the parenthesised command name start at 3).
  const niceOf = (statFile: string): number => {
    const stat = readFileSync(statFile, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
  }
  const err = await runFfmpeg(endlessSpec(out), {
    timeoutMs: 30_000,
    signal: ac.signal,
    onSpawn: (p) => {
      pid = p
    },
    nice: 7,
    onProgress: () => {
      progressSeen++
      // Reports still buffered when it was aborted arrive while its threads exit: the sample taken before the abort stands.
      if (ac.signal.aborted) return
      if (pid !== undefined && procStat) {
        niceSeen = niceOf(`/proc/${pid}/stat`)
        // Each thread has its own niceness on Linux: libx264's threads, started by ffmpeg
        // after the spawn, must run lowered too, not only the process's main thread.
        // On a loaded machine the first reports can come before the encoder has started its threads:
        // wait for them (up to 15 s of reports: one report is one key of a block, a dozen a block,
        // so a count of reports bounded only one or two blocks), so the check below sees them, not a race.
        threadNices = readdirSync(`/proc/${pid}/task`).map((tid) => niceOf(`/proc/${pid}/task/${tid}/stat`))
        firstReport ??= Date.now()
        if (threadNices.length < 2 && Date.now() - firstReport < 15_000) return
      }
      ac.abort()
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  )
  // `nice -n 7` adds 7 to the niceness this test runs at (a suite started under nice or renice), up to 19.
  if (procStat) {
    t.equal(niceSeen, Math.min(19, getPriority() + 7), 'ran under nice -n 7')
    t.ok(threadNices.length > 1, `its encoder's threads were running (${threadNices.length} threads)`)
    t.same(new Set(threadNices), new Set([Math.min(19, getPriority() + 7)]), 'every thread ran under nice -n 7')
  }
  t.ok(err instanceof FfmpegError)
  t.equal((err as FfmpegError).code, 'FFMPEG_ABORTED')
  t.ok(progressSeen >= 1, 'it was running when aborted')
  t.ok(pid !== undefined && groupGone(pid), 'no process left behind')
  t.notOk(await exists(out), 'output removed')

  // Already aborted: nothing is spawned.
  let spawned = false
  await t.rejects(
    runFfmpeg(endlessSpec(out), {
      timeoutMs: 30_000,
      signal: AbortSignal.abort(),
      onSpawn: () => {
        spawned = true
      },
    }),
    { code: 'FFMPEG_ABORTED' },
  )
  t.notOk(spawned)
})

t.test('missing binaries give FFMPEG_NOT_FOUND', async (t) => {
  const bogus = f('no-such-dir/ffmpeg')
  for (const nice of [undefined, 10]) {
    await t.rejects(runFfmpeg(probeArgs(f('clip.mp4')), { timeoutMs: 5_000, ffprobePath: bogus, ...(nice !== undefined ? { nice } : {}) }), {
      name: 'FfmpegError',
      code: 'FFMPEG_NOT_FOUND',
      exitCode: null,
    })
    await t.rejects(runFfmpeg(thumbnailArgs(f('photo.jpg'), f('x.tmp')), { timeoutMs: 5_000, ffmpegPath: bogus, ...(nice !== undefined ? { nice } : {}) }), {
      code: 'FFMPEG_NOT_FOUND',
      message: NOT_FOUND_MESSAGE,
    })
  }
  // A directory or a non-executable file is not an ffmpeg either.
  await t.rejects(runFfmpeg(probeArgs('x'), { timeoutMs: 5_000, ffprobePath: dir }), { code: 'FFMPEG_NOT_FOUND' })
  await t.rejects(runFfmpeg(probeArgs('x'), { timeoutMs: 5_000, ffprobePath: f('rec.wav') }), { code: 'FFMPEG_NOT_FOUND' })

  await t.rejects(locateFfmpeg(bogus), { code: 'FFMPEG_NOT_FOUND', message: NOT_FOUND_MESSAGE })
  t.equal(await locateFfmpeg(), '/usr/bin/ffmpeg', 'found on PATH')
  t.equal(await locateFfmpeg('/usr/bin/ffmpeg'), '/usr/bin/ffmpeg')
  t.equal(await locateFfprobe(), '/usr/bin/ffprobe')
  await t.rejects(locateFfprobe(bogus), { message: /^ffprobe not found: .* or set media\.ffprobePath$/ })
  await t.rejects(ffmpegInfo({ ffmpegPath: bogus }), { code: 'FFMPEG_NOT_FOUND' })
})

t.test('ffmpegInfo for doctor', async (t) => {
  const info = await ffmpegInfo()
  t.equal(info.ffmpegPath, '/usr/bin/ffmpeg')
  t.equal(info.ffprobePath, '/usr/bin/ffprobe')
  t.match(info.version ?? '', /^\d+\.\d+/)
  t.equal(info.ffprobeVersion, info.version)
  t.strictSame(info.encoders, { libx264: true, aac: true, mjpeg: true })
})

t.test('option validation', async (t) => {
  await t.rejects(runFfmpeg(probeArgs('x'), { timeoutMs: 0 }), RangeError)
  await t.rejects(runFfmpeg(probeArgs('x'), { timeoutMs: 1000, nice: -5 }), RangeError)
  await t.rejects(runFfmpeg(probeArgs('x'), { timeoutMs: 1000, nice: 1.5 }), RangeError)
})

t.test('ffprobe stdout limit', async (t) => {
  const err = await t.rejects(runFfmpeg(probeArgs(f('clip.mp4')), { timeoutMs: 30_000, maxStdoutBytes: 100 }), {
    code: 'FFMPEG_FAILED',
    message: /more than 100 bytes/,
  })
  t.ok(err)
  const st = await stat(f('clip.mp4'))
  t.ok(st.size > 0, 'input untouched')
})

t.test("doctor's one-second test encode on each encoder: libx264 works, the hardware ones fail here with ffmpeg's reason", async (t) => {
  const { testEncoders } = await import('../src/media/encoder-check.js')
  const r = await testEncoders({ device: '/dev/dri/renderD199' })
  t.strictSame(
    r.map((x) => [x.kind, x.name]),
    [
      ['software', 'libx264'],
      ['vaapi', 'h264_vaapi'],
      ['qsv', 'h264_qsv'],
      ['nvenc', 'h264_nvenc'],
    ],
  )
  t.match(r[0], { ok: true, detail: /^1 s of 720p in [\d.]+ s$/ })
  // No GPU on these machines (the docs say no hardware encoder was verified on real hardware yet).
  for (const x of r.slice(1)) t.match(x, { ok: false, detail: x.kind === 'nvenc' ? /libcuda/ : /renderD199/ }, `${x.name}: ${x.detail.slice(-120)}`)
})
