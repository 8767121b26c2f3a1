/**
 * Media benchmark: a generated station day, scaled down. About 70% of the
 * footage is H.264/AAC 1080p MP4 (what body cameras record), 20% HEVC
 * 1080p, 10% audio (WAV), plus a few photos. Each run ingests the mix into a
 * fresh vault and drains the media queue as the daemon does (probe, proxy,
 * thumbnail; default concurrency and nice), timing every job. Figures:
 * footage seconds per wall second overall (goal >= 10x realtime); the H.264
 * part (goal >= 100x) twice: per lane (its footage / the sum of its jobs'
 * wall times, i.e. one lane while HEVC transcodes hold the other) and
 * through the queue (the same H.264 clips alone, ingested into a separate
 * data dir and drained with the station's real concurrency: footage / the
 * wall time from the first claim to the last job done); and the CPU the
 * process tree spent (ffmpeg included) per footage minute. The transcode
 * overhead over the same ffmpeg command is bench/transcode.ts.
 *
 * Each run also prints, per part and job kind, the jobs' wall time and the
 * part of it ffmpeg/ffprobe ran (the rest is spawning, hashing, fsync and
 * the catalog), the queue order and concurrency that ran.
 *
 *   node dist/bench/media.js [--seconds 600] [--clip 120] [--runs 3] [--json] [--mix DIR] [--concurrency N] [--queue-only] [--ffmpeg-dir DIR]
 *
 * --clip S cuts each part into clips of at most S seconds. The default, 120,
 * is the clip issue 16 measured on ("a 120 s 1080p30 H.264/AAC clip at 8
 * Mbit/s: what body cameras record"); cameras cut their recordings at
 * several minutes, so it still counts each job's fixed cost (two process
 * starts) at least as often as a station pays it. Until 2026-11-30 the
 * default was 30 s clips over 180 s: a quarter of that clip, so the fixed
 * cost weighed four times as much (the H.264 part 56x through the queue
 * there, 144x at 120 s clips, same build and hour: docs/design.md).
 * `--clip 30 --seconds 180` still runs that harsher case. Beside
 * the figures: what one ffmpeg/ffprobe process costs to start here (the
 * median of `ffprobe -version`, same run), and the H.264 part's ceiling
 * that sets at this clip length with two processes per clip (the probe;
 * the remux and its thumbnail in one run).
 *
 * --queue-only runs only the H.264 clips through the queue (no mix drain,
 * no HEVC transcodes): minutes less per run when alternating builds on a
 * shared machine; it prints that figure, its CPU-s per clip and the load.
 *
 * --mix DIR keeps the generated mix in DIR and reuses it when it is there
 * (comparing builds without generating the same files again).
 *
 * --ffmpeg-dir DIR runs the station's media jobs with DIR/ffmpeg and
 * DIR/ffprobe (media.ffmpegPath and ffprobePath), e.g. the lean build of
 * scripts/lean-ffmpeg; the mix is still generated with the ffmpeg on PATH.
 * Every line then names the ffmpeg the jobs ran.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadProfiles } from '../src/camera/profile.js'
import { getMediaInfo } from '../src/catalog/media-info.js'
import { silentLogger } from '../src/common/log.js'
import { loadConfig } from '../src/config/load.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { JOB_PRIORITY, proxyRank } from '../src/media/policy.js'
import { openStation } from '../src/station/station.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    runs: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    mix: { type: 'string' },
    concurrency: { type: 'string' },
    clip: { type: 'string', default: '120' },
    'queue-only': { type: 'boolean', default: false },
    'ffmpeg-dir': { type: 'string' },
  },
})
/** The ffmpeg and ffprobe the station's jobs run (--ffmpeg-dir), or null: those on PATH. */
const tools = values['ffmpeg-dir'] ? { ffmpegPath: join(values['ffmpeg-dir'], 'ffmpeg'), ffprobePath: join(values['ffmpeg-dir'], 'ffprobe') } : null
/** Which ffmpeg the jobs ran, for every figure's line. */
const which = (): string => (tools ? ` [${tools.ffmpegPath}]` : '')
const total = Math.max(30, Number(values.seconds))
const runs = Math.max(1, Number(values.runs))
/** The longest clip, in seconds: the footage of each part is cut into clips of at most this. */
const clip = Math.max(5, Number(values.clip))
const cfg = loadConfig({ env: { BODYVAULT_SYSTEM_CONFIG: 'none' } })
const profiles = loadProfiles(cfg.docking.profilesDir)
const profile = profiles.get(cfg.docking.defaultProfile)!
const work = mkdtempSync(join(tmpdir(), 'bv-bench-media-'))
const log = (s: string): void => {
  if (!values.json) console.log(s)
}

const FF = ['-hide_banner', '-nostdin', '-v', 'error', '-y']
/** A 1080p30 picture with moving detail and grain (so encoders work as on camera footage), and a tone. */
const picture = (d: number): string[] => ['-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=30:d=${d},noise=alls=6:allf=t+u,format=yuv420p`]
const tone = (d: number): string[] => ['-f', 'lavfi', '-i', `sine=f=440:beep_factor=3:r=48000:d=${d}`]

type Part = 'h264' | 'hevc' | 'audio' | 'photo'
interface Item {
  name: string
  part: Part
  seconds: number
}

/** The station-day mix: clips of at most `clip` seconds, shares of `total` seconds of footage. */
function plan(): Item[] {
  const items: Item[] = []
  let seq = 1
  const stamp = (): string => {
    const t = new Date(Date.UTC(2026, 10, 20, 8, 0, 0) + seq * 60_000)
    return t.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  }
  const add = (part: Part, share: number, ext: string): void => {
    const secs = total * share
    const n = Math.max(1, Math.ceil(secs / clip))
    for (let i = 0; i < n; i++) {
      items.push({ name: `A1B2C3D_012345_${stamp()}_${String(seq).padStart(4, '0')}.${ext}`, part, seconds: Math.round((secs / n) * 10) / 10 })
      seq++
    }
  }
  add('h264', 0.7, 'MP4')
  add('hevc', 0.2, 'MP4')
  add('audio', 0.1, 'WAV')
  for (let i = 0; i < 3; i++) {
    items.push({ name: `A1B2C3D_012345_${stamp()}_${String(seq).padStart(4, '0')}.JPG`, part: 'photo', seconds: 0 })
    seq++
  }
  return items
}

function generate(cam: string, it: Item): void {
  const dir = it.part === 'audio' ? join(cam, 'AUDIO') : join(cam, 'DCIM', '100MEDIA')
  const final = join(dir, it.name)
  if (existsSync(final)) return // --mix: made by an earlier run
  // Written beside and renamed, so an interrupted run never leaves a short clip for the next to reuse.
  const out = join(work, `gen-${it.name}`)
  const d = it.seconds
  const meta = ['-metadata', 'creation_time=2026-11-20T00:00:00Z']
  if (it.part === 'h264')
    execFileSync('ffmpeg', [
      ...FF,
      ...picture(d),
      ...tone(d),
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'high', '-b:v', '8M', '-maxrate', '10M', '-bufsize', '10M'],
      ...['-g', '30', '-c:a', 'aac', '-b:a', '64k', '-ac', '1', ...meta, '-f', 'mp4', out],
    ])
  else if (it.part === 'hevc')
    execFileSync('ffmpeg', [
      ...FF,
      ...picture(d),
      ...tone(d),
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx265', '-preset', 'ultrafast', '-b:v', '5M', '-tag:v', 'hvc1'],
      ...['-x265-params', 'log-level=error:keyint=30', '-c:a', 'aac', '-b:a', '64k', '-ac', '1', ...meta, '-f', 'mp4', out],
    ])
  else if (it.part === 'audio') execFileSync('ffmpeg', [...FF, ...tone(d), '-c:a', 'pcm_s16le', '-ac', '1', '-f', 'wav', out])
  else execFileSync('ffmpeg', [...FF, '-f', 'lavfi', '-i', 'testsrc2=s=4000x3000:d=1', '-frames:v', '1', '-q:v', '3', '-f', 'mjpeg', out])
  renameSync(out, final)
}

/** The queue's claim order between kinds (src/media/policy.ts), as the bench prints it. */
const ORDER = `${Object.entries(JOB_PRIORITY)
  .sort((a, b) => a[1] - b[1])
  .map(([k]) => k)
  .join(
    ' < ',
  )}, proxies by rank (${[proxyRank('proxy', 'remux'), proxyRank('audio-proxy', 'transcode'), proxyRank('proxy', 'transcode')].join(', ')}: copy, audio transcode, video transcode)`

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** CPU seconds of this process and its waited-for children (ffmpeg) so far. */
function cpuSeconds(): number {
  return ownCpuSeconds() + childCpuSeconds()
}

function ownCpuSeconds(): number {
  const self = process.cpuUsage()
  return (self.user + self.system) / 1e6
}

/** CPU seconds of the waited-for children (ffmpeg, ffprobe) so far. */
function childCpuSeconds(): number {
  const kids = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')
  // Fields 16 and 17 of /proc/PID/stat (cutime, cstime), in clock ticks; 14th and 15th after the ") ".
  return (Number(kids[13]) + Number(kids[14])) / 100
}

interface RunResult {
  wallMs: number
  /** The H.264 clips alone through the queue: footage, the wall from the first claim to the last job done, the CPU of its drain (process + ffmpeg). */
  h264Queue: { footage: number; wallMs: number; concurrency: number; load: number; clips: number; cpuSec: number; ffmpegCpuSec: number }
  byPart: Record<Part, { footage: number; jobMs: number; jobs: number }>
  /** `part kind` -> jobs, their wall ms and ffmpeg ms. */
  byKind: Record<string, { jobs: number; ms: number; ffmpegMs: number }>
  methods: Record<string, number>
  cpuSec: number
  load: number
  /** Media jobs at once, as the worker ran them. */
  concurrency: number
}

function benchStation(dir: string): ReturnType<typeof openStation> {
  return openStation({
    config: {
      ...cfg,
      dataDir: dir,
      station: { ...cfg.station, id: 'bench' },
      ingest: { ...cfg.ingest, minFreeBytes: 0 },
      media: { ...cfg.media, concurrency: values.concurrency ? Number(values.concurrency) : cfg.media.concurrency, ...(tools ?? {}) },
    },
    logger: silentLogger(),
    profiles,
  })
}

/**
 * The H.264 clips of the mix alone (`h264Cam`: the same files), ingested
 * into their own data dir and drained with the station's concurrency:
 * footage / the wall from the first claim to the last job done, from the
 * jobs' own start and finish times.
 */
async function h264ThroughQueue(h264Cam: string, i: number): Promise<RunResult['h264Queue']> {
  const dir = join(work, `data-h264-${i}`)
  const st = benchStation(dir)
  try {
    const r = await st.ingest({ root: h264Cam, profile })
    const w = st.mediaWorker()
    await w.toolVersions()
    const load = loadavg()[0]!
    const cpu0 = cpuSeconds()
    const kids0 = childCpuSeconds()
    const rep = await w.drain()
    const cpuSec = cpuSeconds() - cpu0
    const ffmpegCpuSec = childCpuSeconds() - kids0
    const bad = rep.outcomes.filter((o) => o.outcome !== 'done')
    if (bad.length) throw new Error(`media jobs did not finish: ${JSON.stringify(bad)}`)
    const span = st.db.prepare("SELECT min(started_at) AS a, max(finished_at) AS b FROM media_jobs WHERE state = 'done'").get() as { a: string; b: string }
    const footage = r.ingested.reduce((a, rec) => a + (getMediaInfo(st.db, rec.id)?.durationSec ?? 0), 0)
    return { footage, wallMs: Date.parse(span.b) - Date.parse(span.a), concurrency: w.concurrency, load, clips: r.ingested.length, cpuSec, ffmpegCpuSec }
  } finally {
    st.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function once(cam: string, h264Cam: string, items: Item[], i: number): Promise<RunResult> {
  const dir = join(work, `data-${i}`)
  const st = benchStation(dir)
  try {
    const r = await st.ingest({ root: cam, profile })
    const partOf = new Map<number, Part>()
    for (const rec of r.ingested) {
      const it = items.find((x) => rec.sourcePath.endsWith(x.name))
      if (it) partOf.set(rec.id, it.part)
    }
    const w = st.mediaWorker()
    const concurrency = w.concurrency
    await w.toolVersions() // a daemon looked its tools up long ago
    const load = loadavg()[0]!
    const cpu0 = cpuSeconds()
    const t0 = process.hrtime.bigint()
    const rep = await w.drain()
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
    const cpuSec = cpuSeconds() - cpu0
    const bad = rep.outcomes.filter((o) => o.outcome !== 'done')
    if (bad.length) throw new Error(`media jobs did not finish: ${JSON.stringify(bad)}`)
    const byPart = {
      h264: { footage: 0, jobMs: 0, jobs: 0 },
      hevc: { footage: 0, jobMs: 0, jobs: 0 },
      audio: { footage: 0, jobMs: 0, jobs: 0 },
      photo: { footage: 0, jobMs: 0, jobs: 0 },
    }
    const byKind: RunResult['byKind'] = {}
    for (const o of rep.outcomes) {
      const part = partOf.get(o.recordingId)!
      const p = byPart[part]
      p.jobMs += o.ms
      p.jobs++
      // A remux that made its thumbnail in the same run is one job for both.
      const key = `${part} ${o.kind}${o.carried ? `+${o.carried.kind}` : ''}`
      byKind[key] ??= { jobs: 0, ms: 0, ffmpegMs: 0 }
      const k = byKind[key]
      k.jobs++
      k.ms += o.ms
      k.ffmpegMs += o.ffmpegMs ?? 0
    }
    const methods: Record<string, number> = {}
    for (const [id, part] of partOf) {
      byPart[part].footage += getMediaInfo(st.db, id)?.durationSec ?? 0
      for (const ev of eventsFor(st.db, `recording:${id}`)) {
        const how = ev.type === 'derived' ? (ev.payload as { proxy?: { method: string } }).proxy : undefined
        if (how) methods[`${part} ${how.method}`] = (methods[`${part} ${how.method}`] ?? 0) + 1
      }
    }
    st.close()
    rmSync(dir, { recursive: true, force: true })
    const h264Queue = await h264ThroughQueue(h264Cam, i)
    return { wallMs, h264Queue, byPart, byKind, methods, cpuSec, load, concurrency }
  } finally {
    if (st.db.open) st.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Wall milliseconds of starting one ffprobe process and letting it exit (`-version`): the median of 7. */
function processStartMs(): number {
  const ms: number[] = []
  for (let i = 0; i < 7; i++) {
    const t0 = process.hrtime.bigint()
    execFileSync(tools?.ffprobePath ?? 'ffprobe', ['-hide_banner', '-version'], { stdio: 'ignore' })
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return median(ms)
}

async function main(): Promise<void> {
  const cam = values.mix ? join(values.mix, `mix-${total}-${clip}`) : join(work, 'cam')
  mkdirSync(join(cam, 'DCIM', '100MEDIA'), { recursive: true })
  mkdirSync(join(cam, 'AUDIO'), { recursive: true })
  writeFileSync(join(cam, 'DEVICE.TXT'), 'DEVICE=A1B2C3D\nOFFICER=012345\nMODEL=FAKE-GAT947\n')
  const items = plan()
  log(`generating a station-day mix of ${total} s of footage: ${items.length} files ...`)
  for (const it of items) generate(cam, it)
  // The same H.264 files alone, for the through-the-queue figure (hard links: no second copy).
  const h264Cam = join(work, 'cam-h264')
  mkdirSync(join(h264Cam, 'DCIM', '100MEDIA'), { recursive: true })
  copyFileSync(join(cam, 'DEVICE.TXT'), join(h264Cam, 'DEVICE.TXT'))
  for (const it of items.filter((x) => x.part === 'h264')) {
    const from = join(cam, 'DCIM', '100MEDIA', it.name)
    const to = join(h264Cam, 'DCIM', '100MEDIA', it.name)
    try {
      linkSync(from, to)
    } catch {
      copyFileSync(from, to)
    }
  }
  if (values['queue-only']) {
    const qs: RunResult['h264Queue'][] = []
    for (let i = 0; i < runs; i++) {
      const q = await h264ThroughQueue(h264Cam, i)
      qs.push(q)
      log(
        `run ${i + 1}${which()}: H.264 alone through the queue ${(q.footage / (q.wallMs / 1000)).toFixed(0)}x (${(q.wallMs / 1000).toFixed(2)} s, ${q.concurrency} at once, ${(q.cpuSec / q.clips).toFixed(3)} CPU-s per clip of which ffmpeg ${(q.ffmpegCpuSec / q.clips).toFixed(3)}, load ${q.load.toFixed(2)})`,
      )
    }
    const x = median(qs.map((q) => q.footage / (q.wallMs / 1000)))
    const cpu = median(qs.map((q) => q.cpuSec / q.clips))
    const ffCpu = median(qs.map((q) => q.ffmpegCpuSec / q.clips))
    if (values.json)
      console.log(
        JSON.stringify(
          {
            ffmpeg: tools?.ffmpegPath ?? 'ffmpeg',
            h264QueueRealtime: x,
            h264QueueCpuSecPerClip: cpu,
            h264QueueFfmpegCpuSecPerClip: ffCpu,
            loadAverages: qs.map((q) => q.load),
            runs,
          },
          null,
          2,
        ),
      )
    else
      console.log(
        `media${which()}: H.264 clips alone through the queue ${x.toFixed(0)}x (clips of at most ${clip} s; goal >= 100x: ${x >= 100 ? 'met' : 'NOT met'}; ${cpu.toFixed(3)} CPU-s per clip, of which ffmpeg and ffprobe ${ffCpu.toFixed(3)}; loads ${qs.map((q) => q.load.toFixed(2)).join(', ')}); medians of ${runs}`,
      )
    return
  }
  const results: RunResult[] = []
  for (let i = 0; i < runs; i++) {
    const r = await once(cam, h264Cam, items, i)
    results.push(r)
    const footage = Object.values(r.byPart).reduce((a, p) => a + p.footage, 0)
    const h = r.byPart.h264
    const q = r.h264Queue
    log(
      `run ${i + 1}${which()}: ${footage.toFixed(0)} s of footage in ${(r.wallMs / 1000).toFixed(2)} s = ${(footage / (r.wallMs / 1000)).toFixed(1)}x realtime; H.264 part per lane ${(h.footage / (h.jobMs / 1000)).toFixed(0)}x (${h.jobs} jobs, ${(h.jobMs / 1000).toFixed(2)} s); H.264 alone through the queue ${(q.footage / (q.wallMs / 1000)).toFixed(0)}x (${(q.wallMs / 1000).toFixed(2)} s, ${q.concurrency} at once, ${(q.cpuSec / q.clips).toFixed(3)} CPU-s per clip, load ${q.load.toFixed(2)}); CPU ${r.cpuSec.toFixed(1)} s; load ${r.load.toFixed(2)}; ${Object.entries(
        r.methods,
      )
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}`,
    )
    log(
      `  ${r.concurrency} job${r.concurrency > 1 ? 's' : ''} at once, claimed in the order ${ORDER}; jobs: ${Object.entries(r.byKind)
        .map(([k, v]) => `${k} ${v.jobs}x ${(v.ms / v.jobs).toFixed(0)} ms (ffmpeg ${(v.ffmpegMs / v.jobs).toFixed(0)})`)
        .join('; ')}`,
    )
  }
  const footage = Object.values(results[0]!.byPart).reduce((a, p) => a + p.footage, 0)
  const startMs = processStartMs()
  const h264Clips = items.filter((x) => x.part === 'h264')
  const h264Clip = h264Clips.reduce((a, x) => a + x.seconds, 0) / Math.max(1, h264Clips.length)
  // The probe, and the remux with its thumbnail, each start one process: one lane cannot beat this however little each does.
  const h264Ceiling = h264Clip / ((2 * startMs) / 1000)
  const overall = median(results.map((r) => footage / (r.wallMs / 1000)))
  const h264 = median(results.map((r) => r.byPart.h264.footage / (r.byPart.h264.jobMs / 1000)))
  const h264Queue = median(results.map((r) => r.h264Queue.footage / (r.h264Queue.wallMs / 1000)))
  const hevc = median(results.map((r) => r.byPart.hevc.footage / (r.byPart.hevc.jobMs / 1000)))
  const cpuPerMin = median(results.map((r) => r.cpuSec / (footage / 60)))
  // What the CPU time says regardless of a shared machine's load: footage seconds per CPU second, times the cores.
  const cores = cpus().length
  const byCpu = median(results.map((r) => (footage / r.cpuSec) * cores))
  const result = {
    ffmpeg: tools?.ffmpegPath ?? 'ffmpeg',
    footageSec: footage,
    files: items.length,
    cores: cpus().length,
    concurrency: results[0]!.concurrency,
    claimOrder: ORDER,
    runs,
    overallRealtime: overall,
    /** Per lane: the H.264 part's footage / the sum of its jobs' wall times in the mix. */
    h264Realtime: h264,
    /** The same H.264 clips alone through the queue, its real concurrency: footage / first claim to last job done. */
    h264QueueRealtime: h264Queue,
    h264QueueLoadAverages: results.map((r) => r.h264Queue.load),
    /** CPU-seconds (process + ffmpeg) per H.264 clip of that drain: what the wall figures cannot say on a shared machine. */
    h264QueueCpuSecPerClip: median(results.map((r) => r.h264Queue.cpuSec / r.h264Queue.clips)),
    hevcRealtime: hevc,
    cpuSecPerFootageMinute: cpuPerMin,
    realtimeOnIdleCoresByCpu: byCpu,
    loadAverages: results.map((r) => r.load),
    clipSeconds: h264Clip,
    processStartMs: startMs,
    h264CeilingFromProcessStarts: h264Ceiling,
    goals: { overall: 10, h264: 100, h264Queue: 100 },
    ok: overall >= 10 && h264 >= 100 && h264Queue >= 100,
  }
  if (values.json) console.log(JSON.stringify(result, null, 2))
  else {
    console.log(
      `media${which()}: station-day mix (${footage.toFixed(0)} s: 70% H.264 1080p, 20% HEVC 1080p, 10% audio, photos) at ${overall.toFixed(1)}x realtime (goal >= 10x: ${overall >= 10 ? 'met' : 'NOT met'}); H.264 part per lane (footage / sum of its jobs' walls) ${h264.toFixed(0)}x (goal >= 100x: ${h264 >= 100 ? 'met' : 'NOT met'}); H.264 clips alone through the queue (${results[0]!.h264Queue.concurrency} at once, first claim to last job done) ${h264Queue.toFixed(0)}x (goal >= 100x: ${h264Queue >= 100 ? 'met' : 'NOT met'}; ${result.h264QueueCpuSecPerClip.toFixed(3)} CPU-s per clip); HEVC part ${hevc.toFixed(1)}x; medians of ${runs}`,
    )
    console.log(
      `media${which()}: H.264 clips of ${h264Clip.toFixed(1)} s (--clip ${clip}); one ffprobe process starts and exits in ${startMs.toFixed(0)} ms here (median of 7 \`ffprobe -version\`, this run), so two processes per clip (the probe; the remux and its thumbnail in one run) cap one lane at ${h264Ceiling.toFixed(0)}x before any work`,
    )
    console.log(
      `media CPU${which()}: ${cpuPerMin.toFixed(2)} CPU-s per footage minute (process + ffmpeg): ${byCpu.toFixed(1)}x realtime on ${cores} idle cores if the jobs kept them busy; load averages at the start of each run ${result.loadAverages.map((l) => l.toFixed(2)).join(', ')}`,
    )
  }
}

try {
  await main()
} finally {
  rmSync(work, { recursive: true, force: true })
}
