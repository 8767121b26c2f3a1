// Issue 11: "complete" must be true. Each numbered case of the issue as a
// regression test on real files (the daemon-side cases, 2 and 5, and the
// ext4 images with raw-byte names are in daemon-truth.test.ts).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import type { IngestProgress } from '../src/ingest/session.js'
import { append, MP4_HEAD, rewriteRange, sha256Of, writeContent } from './camera-files.js'
import { cannotMount, makeImage, mountImage, staging, waitFor } from './daemon-support.js'
import { cli, PROFILES, spawnCli, station, tempDir } from './helpers.js'

const MIB = 1 << 20
const DEVICE = 'A1B2C3D'
const name = (seq: number, ext = 'MP4'): string => `${DEVICE}_012345_2026112008${String(seq).padStart(4, '0')}_${String(seq).padStart(4, '0')}.${ext}`

/** A GA/T 947-style camera (DEVICE.TXT, DCIM) with `n` clips of `size` bytes. */
function gatCamera(dir: string, n: number, size = 64 * 1024): string {
  mkdirSync(join(dir, 'DCIM', '100MEDIA'), { recursive: true })
  writeFileSync(join(dir, 'DEVICE.TXT'), `DEVICE=${DEVICE}\n`)
  for (let i = 1; i <= n; i++) writeContent(join(dir, 'DCIM', '100MEDIA', name(i)), size, i, MP4_HEAD)
  return dir
}

/** Runs an in-process ingest with a deadline: a hang fails the test instead of the suite. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([p, late])
  } finally {
    clearTimeout(timer)
  }
}

t.test('1. a video outside the profile folders is ingested, wherever it sits and whatever its name says', async (t) => {
  const dir = tempDir(t)
  const cam = gatCamera(join(dir, 'cam'), 1)
  mkdirSync(join(cam, '录像', '2026年11月'), { recursive: true })
  const odd = '录像/2026年11月/执法 记录 0002.mp4'
  writeContent(join(cam, odd), 300_000, 2, MP4_HEAD)
  writeContent(join(cam, '录像', '2026年11月', '0003'), 200_000, 3, MP4_HEAD) // no extension: its first bytes say MP4
  mkdirSync(join(cam, 'MISC'))
  writeFileSync(join(cam, 'MISC', 'readme.txt'), 'not footage')
  for (const profile of ['gat947', 'generic-dcim']) {
    const env = { BODYVAULT_DATA_DIR: join(dir, `data-${profile}`) }
    const r = cli(['ingest', cam, '--profile', profile, '--json'], env)
    t.equal(r.code, 0, `${profile}: exit 0 ${r.stderr}`)
    const rep = JSON.parse(r.stdout) as { state: string; ingested: { sourcePath: string }[]; unrecognised: { sourcePath: string }[] }
    t.equal(rep.state, 'complete')
    t.same(rep.ingested.map((x) => x.sourcePath).sort(), [`DCIM/100MEDIA/${name(1)}`, '录像/2026年11月/0003', odd].sort(), `${profile}: every media file`)
    t.same(rep.unrecognised.map((x) => x.sourcePath).sort(), ['DEVICE.TXT', 'MISC/readme.txt'], `${profile}: the rest is listed`)
    const human = cli(['ingest', cam, '--profile', profile], env)
    t.match(human.stdout, /complete: 0 ingested .* 3 already in the vault, 2 unrecognised, 0 failed/)
    t.match(human.stdout, /unrecognised {2}MISC\/readme.txt/)
  }

  t.test('a profile may ingest the unrecognised files too', async (t) => {
    const s = station(t)
    const r = await s.ingest(cam, { profile: { ...PROFILES.get('gat947')!, ingestUnrecognised: true } })
    t.equal(r.state, 'complete')
    t.same(r.unrecognised, [])
    t.equal(r.ingested.length, 5)
    t.equal(r.ingested.find((x) => x.sourcePath === 'MISC/readme.txt')?.sha256, sha256Of(join(cam, 'MISC', 'readme.txt')))
  })
})

t.test('3. a file rewritten or grown while it is copied is stored as one version it had, and the report says so', async (t) => {
  const dir = tempDir(t)
  const cam = gatCamera(join(dir, 'cam'), 0)
  const big = join(cam, 'DCIM', '100MEDIA', name(1))
  const v0 = writeContent(big, 300 * MIB, 1, MP4_HEAD)
  const s = station(t)
  let touched = 0
  let oldHeadNewTail = ''
  const r = await s.ingest(cam, {
    onProgress: (p: IngestProgress) => {
      if (touched === 0 && p.current?.endsWith(name(1)) && p.bytesDone > 100 * MIB) {
        touched = 1
        rewriteRange(big, 0, MIB) // the first MiB, then the last: two writes, as a camera would
        const head = sha256Of(big)
        rewriteRange(big, 300 * MIB - MIB, MIB)
        oldHeadNewTail = head
      }
    },
  })
  const v2 = sha256Of(big)
  t.equal(touched, 1, 'the file was rewritten mid-copy')
  t.equal(r.state, 'complete')
  t.equal(r.ingested.length, 1)
  t.equal(r.ingested[0]!.sha256, v2, 'stored: the version after both writes (read again once it stood still)')
  t.not(r.ingested[0]!.sha256, v0)
  t.not(r.ingested[0]!.sha256, oldHeadNewTail)
  t.equal(r.retried.length, 1)
  t.match(r.retried[0], { sourcePath: `DCIM/100MEDIA/${name(1)}`, attempts: 2, changes: [/modified/] })
  t.equal(sha256Of(s.vault.objectPath(v2)), v2)
  unlinkSync(big)

  t.test('grown from 200 to 220 MiB during the copy: stored at 220 MiB, with a note', async (t) => {
    const grow = join(cam, 'DCIM', '100MEDIA', name(2))
    writeContent(grow, 200 * MIB, 2, MP4_HEAD)
    let grown = false
    const g = await s.ingest(cam, {
      onProgress: (p) => {
        if (!grown && p.current?.endsWith(name(2)) && p.bytesDone > 50 * MIB) {
          grown = true
          append(grow, 20 * MIB)
        }
      },
    })
    t.equal(g.state, 'complete')
    t.equal(g.ingested[0]!.size, 220 * MIB)
    t.equal(g.ingested[0]!.sha256, sha256Of(grow))
    t.match(g.retried, [{ changes: [/size 209715200 -> 230686720 bytes/] }])
    t.match(cli(['verify'], { BODYVAULT_DATA_DIR: s.dataDir }), { code: 0 })
    unlinkSync(grow)
  })

  t.test('still growing at every read (a recording the camera has not closed): incomplete, and said so', async (t) => {
    const live = join(cam, 'DCIM', '100MEDIA', name(3))
    writeContent(live, 16 * MIB, 3, MP4_HEAD)
    // Another process appends all the time, as a camera still recording would.
    const writer = spawn('sh', ['-c', `while :; do head -c 65536 /dev/urandom >> '${live}'; done`], { stdio: 'ignore' })
    t.teardown(() => void writer.kill('SIGKILL'))
    await waitFor(() => statSync(live).size > 16 * MIB, 'the writer to start')
    const g = await within(60_000, 'the session', s.ingest(cam))
    writer.kill('SIGKILL')
    t.equal(g.state, 'incomplete')
    t.match(g.failed, [{ sourcePath: `DCIM/100MEDIA/${name(3)}`, error: /^still-growing: the camera was still writing this file/ }])
    t.same(
      g.ingested.map((x) => x.sourcePath),
      [],
      'no version of it is stored: no read saw it stand still',
    )
    t.same(readdirSync(s.vault.stagingDir), [], 'staging is empty')
  })
})

t.test('4. a file replaced by a FIFO or a link after the listing: no hang, incomplete, then complete on re-dock', async (t) => {
  const dir = tempDir(t)
  const cam = gatCamera(join(dir, 'cam'), 3, 8 * MIB)
  const files = [1, 2, 3].map((i) => join(cam, 'DCIM', '100MEDIA', name(i)))
  const s = station(t)
  let swapped = false
  const r = await within(
    30_000,
    'the session with a FIFO swapped in',
    s.ingest(cam, {
      onProgress: (p) => {
        if (!swapped && p.current?.endsWith(name(1))) {
          swapped = true
          unlinkSync(files[2]!)
          execFileSync('mkfifo', [files[2]!])
          unlinkSync(files[1]!)
          symlinkSync('/etc/hostname', files[1]!)
        }
      },
    }),
  )
  t.equal(r.state, 'incomplete')
  t.match(r.failed, [
    { sourcePath: `DCIM/100MEDIA/${name(2)}`, error: /symbolic link/ },
    { sourcePath: `DCIM/100MEDIA/${name(3)}`, error: /named pipe \(FIFO\)/ },
  ])
  t.equal(r.ingested.length, 1)
  const again = await within(30_000, 're-dock', s.ingest(cam))
  t.equal(again.state, 'complete', 'what the camera holds now (one clip, a link, a pipe) is all in the vault')
  t.match(again.skipped, [{ reason: /symbolic link/ }, { reason: /named pipe/ }])

  t.test('SIGTERM and Ctrl-C end a CLI ingest within seconds, the file in flight rolled back', async (t) => {
    const big = join(dir, 'big')
    gatCamera(big, 1, 320 * MIB)
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const data = join(dir, `data-${sig}`)
      const child = spawnCli(['ingest', big, '--json'], { BODYVAULT_DATA_DIR: data }, { stdio: 'ignore' })
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
      await waitFor(() => staging(data).length > 0, 'the copy to start', 60_000, 10)
      const t0 = Date.now()
      child.kill(sig)
      const code = await exited
      const ms = Date.now() - t0
      t.equal(code, 130, `${sig}: exit 130`)
      t.ok(ms < 5000, `${sig}: ended ${ms} ms after the signal`)
      t.same(staging(data), [], `${sig}: staging empty`)
      const db = new Database(join(data, 'catalog.db'), { readonly: true })
      t.same(db.prepare('SELECT state FROM ingest_sessions').all(), [{ state: 'incomplete' }])
      db.close()
    }
  })
})

t.test('6. an empty folder or a mount root is never "complete"', async (t) => {
  const dir = tempDir(t)
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
  mkdirSync(join(dir, 'empty'))
  const empty = cli(['ingest', join(dir, 'empty')], env)
  t.equal(empty.code, 1)
  t.match(empty.stderr, /no media file on .*empty: nothing was ingested; check that this is the camera's volume/)
  t.notMatch(empty.stdout, /complete/)
  mkdirSync(join(dir, 'notes'))
  writeFileSync(join(dir, 'notes', 'todo.txt'), 'x')
  t.match(cli(['ingest', join(dir, 'notes')], env), { code: 1, stderr: /NO_MEDIA|no media file .* 1 other file\(s\), e\.g\. todo\.txt/ })

  const media = join(dir, 'media')
  gatCamera(join(media, 'CAM1'), 2)
  const root = cli(['ingest', media], env)
  t.equal(root.code, 2)
  t.match(root.stderr, new RegExp(`${media} is not a camera: it holds a camera or mount point \\(${media}/CAM1\\); did you mean ${media}/CAM1\\?`))
  t.notOk(existsSync(join(dir, 'data', 'objects')) && readdirSync(join(dir, 'data', 'objects')).length > 0, 'nothing copied')

  const why = cannotMount()
  t.test('a folder holding a mount point', { skip: why ? `needs loop mounts: ${why}` : false }, async (t) => {
    const src = gatCamera(join(dir, 'src'), 1)
    const img = makeImage(src, join(dir, 'cam.img'))
    const holder = join(dir, 'run-media')
    mountImage(t, img, join(holder, 'user', 'CAMERA'))
    const r = cli(['ingest', holder], env)
    t.equal(r.code, 2)
    t.match(r.stderr, new RegExp(`did you mean ${holder}/user/CAMERA\\?`))
  })
})

t.test('7. re-ingesting a camera under another profile reports its files present and makes no duplicates', async (t) => {
  const dir = tempDir(t)
  const cam = gatCamera(join(dir, 'cam'), 6)
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data') }
  const first = cli(['ingest', cam, '--json'], env)
  t.equal(first.code, 0, first.stderr)
  const again = cli(['ingest', cam, '--profile', 'generic-dcim'], env)
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /complete: 0 ingested .* 6 already in the vault/)
  t.match(again.stdout, /6 file\(s\) were already recorded from this camera \(session 1\): same name and SHA-256, nothing stored twice/)
  t.match(again.stdout, /volume: device:A1B2C3D/)
  const db = new Database(join(dir, 'data', 'catalog.db'), { readonly: true })
  t.teardown(() => db.close())
  const rows = db.prepare('SELECT device_id AS d, officer_id AS o FROM recordings').all()
  t.equal(rows.length, 6, 'no duplicate recordings')
  t.same(new Set(rows.map((r) => JSON.stringify(r))), new Set([JSON.stringify({ d: DEVICE, o: '012345' })]))

  const why = cannotMount()
  t.test('a mounted volume is known by its file-system UUID, whatever its names say', { skip: why ? `needs loop mounts: ${why}` : false }, async (t) => {
    const src = join(dir, 'dcim-src')
    mkdirSync(join(src, 'DCIM', '100MEDIA'), { recursive: true })
    for (let i = 1; i <= 3; i++) writeContent(join(src, 'DCIM', '100MEDIA', `VID_2026112${i}_080000.mp4`), 100_000, 10 + i, MP4_HEAD)
    const img = makeImage(src, join(dir, 'dcim.img'))
    const mp = join(dir, 'mnt', 'CAM')
    mountImage(t, img, mp)
    const envB = { BODYVAULT_DATA_DIR: join(dir, 'data-b') }
    const a = JSON.parse(cli(['ingest', mp, '--profile', 'generic-dcim', '--json'], envB).stdout) as { volume: { keys: string[] }; ingested: unknown[] }
    t.match(a.volume.keys, [/^fs:ext4:[0-9a-f-]{36}$/])
    t.equal(a.ingested.length, 3)
    const b = JSON.parse(cli(['ingest', mp, '--profile', 'gat947', '--device', 'Z9Y8X7W', '--json'], envB).stdout) as {
      volume: { keys: string[] }
      ingested: unknown[]
      present: unknown[]
    }
    t.same([b.ingested.length, b.present.length], [0, 3], 'present under another profile and another device id')
    t.equal(b.volume.keys[0], a.volume.keys[0])
  })
})
