// scripts/make-fake-camera: the deterministic fake body camera that tests and
// benchmarks ingest. Checks names, codecs, timestamps, determinism and --size.
import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, relative } from 'node:path'

import { makeCamera, ROOT } from './helpers.js'
const SCRIPT = join(ROOT, 'scripts/make-fake-camera')
const NAME = /^([A-Z0-9]{7})_(\d{6})_(\d{14})_(\d{4})(_IMP)?/
const GAT947 =
  /^(?<deviceId>[A-Z0-9]{7})_(?<officerId>\d{6})_(?<date>\d{8})(?<time>\d{6})_(?<seq>\d{4})(?<important>_IMP)?(?:_(?<tag>[A-Z]+))?\.(?<ext>MP4|AVI|WAV|JPG|SRT)$/
const DCIM = /^(?<kind>VID|IMG|AUD)_(?<date>\d{8})_(?<time>\d{6})(?:_(?<tag>[A-Z]+))?\.(?<ext>mp4|avi|wav|jpg|srt)$/

interface Run {
  code: number
  stdout: string
  stderr: string
}
function gen(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', [SCRIPT, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

function tmp(t: { teardown: (fn: () => void) => void }, prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

function walk(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(p))
    else if (e.isFile()) out.push(p)
  }
  return out.sort()
}

/** relative path -> "sha256 size mtime" of every file of a tree */
function fingerprint(dir: string): Record<string, string> {
  const r: Record<string, string> = {}
  for (const f of walk(dir)) {
    const st = statSync(f)
    r[relative(dir, f)] = `${createHash('sha256').update(readFileSync(f)).digest('hex')} ${st.size} ${st.mtimeMs}`
  }
  return r
}

interface Probe {
  streams?: { codec_name: string; codec_type: string }[]
  format?: { tags?: Record<string, string> }
}
function probe(file: string): { code: number; json: Probe } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' })
  let json: Probe = {}
  try {
    json = JSON.parse(r.stdout || '{}') as Probe
  } catch {
    /* reported by the caller */
  }
  return { code: r.status ?? -1, json }
}
const codecs = (p: Probe): string[] => (p.streams ?? []).map((s) => s.codec_name).sort()

/** camera local time (Asia/Shanghai, UTC+8) "YYYYMMDDHHMMSS" -> UTC epoch ms */
function localToUtcMs(ts: string): number {
  const n = (a: number, b: number) => Number(ts.slice(a, b))
  return Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10) - 8, n(10, 12), n(12, 14))
}

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0

t.test('make-fake-camera', { skip: hasFfmpeg ? false : 'ffmpeg/ffprobe not installed' }, async (t) => {
  const base = tmp(t, 'bv-fakecam-')
  const a = join(base, 'a')
  const b = join(base, 'b')

  const first = await gen(['--out', a, '--broken', '--device', 'Z9Y8X7W', '--officer', '004711'])
  t.equal(first.code, 0, 'default GA/T 947 camera with --broken builds', { stderr: first.stderr })

  await t.test('GA/T 947 tree: names, kinds, codecs, times', async (t) => {
    const files = walk(a).map((f) => relative(a, f))
    const media = files.filter((f) => f !== 'DEVICE.TXT')
    t.same(readFileSync(join(a, 'DEVICE.TXT'), 'utf8').split('\n').filter(Boolean), ['DEVICE=Z9Y8X7W', 'OFFICER=004711', 'MODEL=FAKE-GAT947'], 'volume marker')
    t.ok(
      media.every((f) => f.startsWith('DCIM/100MEDIA/') || f.startsWith('AUDIO/')),
      'media under DCIM/100MEDIA and AUDIO',
    )
    t.ok(
      media.filter((f) => f.endsWith('.WAV')).every((f) => f.startsWith('AUDIO/')),
      'audio notes under AUDIO',
    )
    for (const f of media) {
      const name = basename(f)
      const m = NAME.exec(name)
      t.ok(m, `${name} matches the recorder pattern`)
      t.ok(GAT947.test(name), `${name} matches the full GA/T 947 pattern`)
      t.equal(m?.[1], 'Z9Y8X7W')
      t.equal(m?.[2], '004711')
    }
    const byExt = (ext: string) => media.filter((f) => f.endsWith(ext))
    const mp4 = byExt('.MP4').filter((f) => !/_(TRUNC|EMPTY)\.MP4$/.test(f))
    t.equal(mp4.length, 4, '3 H.264 clips + 1 H.265 clip by default (--count 8)')
    t.equal(byExt('.AVI').length, 1)
    t.equal(byExt('.WAV').length, 1)
    t.equal(byExt('.JPG').length, 2)
    t.equal(byExt('.SRT').length, 1)
    t.ok(
      media.some((f) => /_IMP\./.test(f)),
      'at least one important (_IMP) recording',
    )
    t.equal(byExt('_TRUNC.MP4').length, 1)
    t.equal(byExt('_EMPTY.MP4').length, 1)

    // seq4 runs 1..N over every media file (the sidecar shares its clip's name), time never goes backwards
    const named = media
      .filter((f) => !f.endsWith('.SRT'))
      .map((f) => NAME.exec(basename(f))!)
      .sort((x, y) => Number(x[4]) - Number(y[4]))
    t.same(
      named.map((m) => Number(m[4])),
      named.map((_, i) => i + 1),
      'seq4 increments per file',
    )
    t.ok(
      named.every((m, i) => i === 0 || m[3]! > named[i - 1]![3]!),
      'timestamps advance through the session',
    )
    t.equal(named[0]![3], '20261120080000', 'session starts at --start (local time)')

    let h264 = 0,
      hevc = 0
    for (const f of mp4) {
      const p = probe(join(a, f))
      t.equal(p.code, 0, `${f} probes`)
      const c = codecs(p.json)
      if (c.includes('h264')) {
        h264++
        t.same(c, ['aac', 'h264'], `${f} is H.264/AAC`)
      } else {
        hevc++
        t.same(c, ['aac', 'hevc'], `${f} is H.265/AAC`)
      }
      const ts = NAME.exec(basename(f))![3]!
      const ct = p.json.format?.tags?.creation_time ?? ''
      t.equal(Date.parse(ct), localToUtcMs(ts), `${f}: creation_time ${ct} = name's local time - 8 h`)
      t.equal(statSync(join(a, f)).mtimeMs, localToUtcMs(ts), `${f}: mtime = the same instant`)
    }
    t.equal(h264, 3, 'three H.264 clips')
    t.equal(hevc, 1, 'one H.265 clip')

    const avi = probe(join(a, byExt('.AVI')[0]!))
    t.same(codecs(avi.json), ['mjpeg', 'pcm_s16le'], 'AVI is MJPEG + PCM')
    t.same(codecs(probe(join(a, byExt('.WAV')[0]!)).json), ['pcm_s16le'], 'WAV is PCM s16le')
    for (const f of byExt('.JPG')) {
      t.same(codecs(probe(join(a, f)).json), ['mjpeg'], `${f} is a JPEG`)
      const fr = spawnSync('ffprobe', ['-v', 'error', '-show_frames', '-of', 'json', join(a, f)], { encoding: 'utf8' })
      const tags = (JSON.parse(fr.stdout) as { frames: { tags?: Record<string, string> }[] }).frames[0]?.tags ?? {}
      const ts = NAME.exec(basename(f))![3]!
      t.equal(
        tags.DateTimeOriginal,
        `${ts.slice(0, 4)}:${ts.slice(4, 6)}:${ts.slice(6, 8)} ${ts.slice(8, 10)}:${ts.slice(10, 12)}:${ts.slice(12, 14)}`,
        `${f}: EXIF DateTimeOriginal is the name's local time`,
      )
    }

    // GPS sidecar beside its clip, one entry per second, local time, near 31.23N 121.47E
    const srt = byExt('.SRT')[0]!
    t.ok(files.includes(srt.replace(/\.SRT$/, '.MP4')), 'the .SRT has the same base name as an MP4')
    const text = readFileSync(join(a, srt), 'utf8')
    const ts = NAME.exec(basename(srt))![3]!
    t.match(text, /^1\n00:00:00,000 --> 00:00:01,000\n/, 'SRT entry 1')
    t.ok(
      text.includes(`${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)} ${ts.slice(8, 10)}:${ts.slice(10, 12)}:${ts.slice(12, 14)}`),
      'first entry at the clip start',
    )
    const lat = [...text.matchAll(/\[latitude: ([\d.]+)\] \[longitude: ([\d.]+)\]/g)]
    t.ok(lat.length >= 2, 'an entry per second')
    t.ok(
      lat.every((m) => Math.abs(Number(m[1]) - 31.23) < 0.01 && Math.abs(Number(m[2]) - 121.47) < 0.01),
      'positions near 31.23N 121.47E',
    )

    const trunc = join(a, byExt('_TRUNC.MP4')[0]!)
    t.ok(statSync(trunc).size > 0, 'TRUNC has bytes')
    t.not(probe(trunc).code, 0, 'TRUNC does not probe')
    t.equal(statSync(join(a, byExt('_EMPTY.MP4')[0]!)).size, 0, 'EMPTY is zero bytes')

    const fp = fingerprint(a)
    const sums = media.filter((f) => !f.endsWith('_EMPTY.MP4')).map((f) => fp[f]!.split(' ')[0])
    t.equal(new Set(sums).size, sums.length, 'no two files are byte-identical')

    const lines = first.stdout.trim().split('\n')
    const total = files.reduce((s, f) => s + statSync(join(a, f)).size, 0)
    t.equal(lines.length, files.length + 1, 'one line per file + a summary')
    t.equal(lines.at(-1), `files=${files.length} bytes=${total} dir=${a}`, 'summary line')
  })

  await t.test('same options, byte-identical tree (sha256, names, mtimes)', async (t) => {
    const again = await gen(['--out', b, '--broken', '--device', 'Z9Y8X7W', '--officer', '004711', '--quiet'])
    t.equal(again.code, 0, 'second run', { stderr: again.stderr })
    t.equal(again.stdout, '', '--quiet prints nothing')
    t.same(fingerprint(b), fingerprint(a), 'identical trees')
  })

  await t.test("makeCamera's cached copy is the generator's tree: bytes, names, mtimes and modes of files and folders", async (t) => {
    // Every file and folder with its mode (another user must read a camera as the generator leaves it), folders with their mtimes.
    const folders = (dir: string): string[] =>
      ['', ...readdirSync(dir, { recursive: true, encoding: 'utf8' })].sort().map((d) => {
        const st = statSync(join(dir, d))
        return `${d} ${st.mode.toString(8)}${st.isDirectory() ? ` ${st.mtimeMs}` : ''}`
      })
    // The first may generate into the cache or copy from it; the second copies.
    for (const out of [join(base, 'c1'), join(base, 'c2')]) {
      await makeCamera(out, ['--broken', '--device', 'Z9Y8X7W', '--officer', '004711'])
      t.same(fingerprint(out), fingerprint(a), 'identical files')
      t.same(folders(out), folders(a), 'identical modes, identical folders')
    }
  })

  await t.test('--size 64M: at least 64 MiB, within 5%, still valid media', async (t) => {
    const dir = join(base, 'size')
    const r = await gen(['--out', dir, '--size', '64M', '--quiet'])
    t.equal(r.code, 0, 'builds', { stderr: r.stderr })
    const files = walk(dir)
    const total = files.reduce((s, f) => s + statSync(f).size, 0)
    const target = 64 * 1024 * 1024
    t.ok(total >= target && total <= target * 1.05, `total ${total} in [64 MiB, 64 MiB + 5%]`)
    for (const f of files.filter((f) => f.endsWith('.MP4'))) {
      const p = probe(f)
      t.equal(p.code, 0, `${basename(f)} probes after growth`)
      t.ok(codecs(p.json).includes('aac'), `${basename(f)} keeps its audio`)
    }
    // the sidecar grows with its (now longer) clip: one entry per second
    const srt = files.find((f) => f.endsWith('.SRT'))!
    const clip = probe(srt.replace(/\.SRT$/, '.MP4')).json as { format?: { duration?: string } }
    const entries = readFileSync(srt, 'utf8')
      .split('\n\n')
      .filter((s) => s.trim()).length
    t.ok(Math.abs(entries - Number(clip.format?.duration)) <= 1, `${entries} SRT entries for a ${clip.format?.duration} s clip`)
  })

  await t.test('dcim layout', async (t) => {
    const dir = join(base, 'dcim')
    const r = await gen(['--out', dir, '--layout', 'dcim', '--count', '6', '--quiet'])
    t.equal(r.code, 0, 'builds', { stderr: r.stderr })
    const files = walk(dir).map((f) => relative(dir, f))
    t.ok(files.includes('MISC/readme.txt'), 'non-media file')
    t.ok(
      files.some((f) => f.startsWith('DCIM/.thumbnails/')),
      'hidden thumbnail junk',
    )
    const media = files.filter((f) => f.startsWith('DCIM/100MEDIA/'))
    t.equal(media.length, 7, '1 VID mp4 + HEVC mp4 + avi + wav + 2 jpg + srt')
    t.ok(
      media.every((f) => DCIM.test(basename(f))),
      'VID_/IMG_/AUD_YYYYMMDD_HHMMSS names',
    )
    const vid = media.find((f) => /^VID_20261120_080000\.mp4$/.test(basename(f)))!
    t.same(codecs(probe(join(dir, vid)).json), ['aac', 'h264'])
    t.equal(probe(join(dir, vid)).json.format?.tags?.creation_time, '2026-11-20T00:00:00.000000Z')
  })

  await t.test('refusals', async (t) => {
    const full = join(base, 'full')
    rmSync(full, { recursive: true, force: true })
    spawnSync('mkdir', ['-p', full])
    writeFileSync(join(full, 'x'), 'x')
    const r = await gen(['--out', full])
    t.equal(r.code, 2, 'non-empty --out: exit 2')
    t.match(r.stderr, /not empty/)
    const nf = await gen(['--out', join(base, 'nf')], { FFMPEG: '/nonexistent/ffmpeg' })
    t.equal(nf.code, 3, 'no ffmpeg: exit 3')
    t.match(nf.stderr, "ffmpeg not found: run scripts/ensure-system-deps (installs Debian's ffmpeg)")
    t.equal((await gen(['--out', join(base, 'bad'), '--device', 'abc'])).code, 2, 'bad --device: exit 2')
  })
})
