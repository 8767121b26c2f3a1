// The ingest torture (issue 11): generated camera volumes (odd names in
// several encodings, nested folders, sizes from 0 up), docked at the
// station daemon while one random mutation hits the volume (rewrite a
// range, grow, truncate, delete, rename, replace by a FIFO or a symlink,
// a new file, lazy unmount, re-mount). After each round: verify is clean;
// every stored object is a complete version its file had at some moment;
// no session ended complete and no camera was safe to undock while a media
// file of the volume was missing from the vault; staging is empty after
// stop. test/ingest-torture.test.ts runs it at CI scale, scripts/torture
// at any scale.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { CameraStatus } from '../src/dock/status.js'
import { FakeUsbBackend } from '../src/dock/usb.js'
import { verifyVault } from '../src/verify/vault.js'
import { append, MP4_HEAD, rewriteRange, writeContent } from './camera-files.js'
import { daemonConfig, type InProcess, inProcessDaemon, waitFor } from './daemon-support.js'

type Teardown = { teardown: (fn: () => void | Promise<void>) => void }

export interface TortureOptions {
  rounds: number
  maxSize: number
  /** Stop starting rounds after this long (0: no limit). */
  seconds: number
  seed: number
  /** Real ext4 loop mounts (lazy unmount and re-mount mutations); else folders under the mount root. */
  mounts: boolean
  dir: string
}

export interface RoundResult {
  round: number
  files: number
  bytes: number
  mutation: string
  /** When the mutation happened relative to the first docking. */
  timing: 'mid-copy' | 'late' | 'none'
  first: string
  redock: string
  problems: string[]
  ms: number
}

const MIB = 1 << 20

/** A small deterministic PRNG (mulberry32): a round replays from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

interface ModelFile {
  raw: Buffer
  /** Media by construction (extension or leading bytes); the rest must come out `unrecognised`. */
  media: boolean
  magicOnly: boolean
}

/** Name pieces: plain, Chinese (UTF-8), GBK bytes, bytes that are no encoding, newline, bidi, spaces. */
const NAME_PARTS: Buffer[] = [
  Buffer.from('A1B2C3D_012345_20261120080000_0001'),
  Buffer.from('VID_20261120_080000'),
  Buffer.from('执法 记录'),
  Buffer.from([0xd6, 0xd8, 0xd2, 0xaa]), // 重要 (GBK)
  Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe]),
  Buffer.from('line\nbreak'),
  Buffer.from('evil\u202ekcod'),
  Buffer.from('  spaced  name '),
  Buffer.from('.hidden'),
]
const FOLDERS: Buffer[] = [
  Buffer.from('DCIM/100MEDIA'),
  Buffer.from('录像/2026年11月'),
  Buffer.from([0xd6, 0xd8, 0xd2, 0xaa]),
  Buffer.from('a/b/c'),
  Buffer.alloc(0),
]
const MEDIA_EXT = ['.MP4', '.mp4', '.JPG', '.wav', '.SRT', '.MOV']

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!
}

const cat = (...b: (Buffer | string)[]): Buffer => Buffer.concat(b.map((x) => (typeof x === 'string' ? Buffer.from(x) : x)))

/** Sizes from 0 up: most small, a few large, one near the maximum. */
function sizeOf(r: () => number, maxSize: number, i: number): number {
  if (i === 0) return Math.floor(maxSize * (0.5 + r() * 0.5))
  const x = r()
  if (x < 0.1) return 0
  if (x < 0.6) return Math.floor(r() * 256 * 1024)
  if (x < 0.9) return Math.floor(r() * Math.min(maxSize, 8 * MIB))
  return Math.floor(r() * maxSize)
}

/** A generated camera: files written under `base` (a mounted image or a folder). */
function makeTree(r: () => number, base: string, maxSize: number, versions: Map<string, Set<string>>): { files: ModelFile[]; bytes: number } {
  writeFileSync(join(base, 'DEVICE.TXT'), 'DEVICE=A1B2C3D\n')
  mkdirSync(join(base, 'DCIM'), { recursive: true })
  const n = 3 + Math.floor(r() * 8)
  const out: ModelFile[] = []
  const used = new Set<string>()
  let bytes = 0
  for (let i = 0; i < n; i++) {
    const folder = pick(r, FOLDERS)
    const stem = cat(pick(r, NAME_PARTS), `_${i}`)
    // The first file is always media: a round never docks a volume with nothing to ingest.
    const kind = i === 0 ? r() * 0.8 : r()
    const magicOnly = kind > 0.8
    const media = kind < 0.9
    const ext = magicOnly ? '' : media ? pick(r, MEDIA_EXT) : pick(r, ['.txt', '.bin'])
    const rel = folder.length ? cat(folder, '/', stem, ext) : cat(stem, ext)
    if (used.has(rel.toString('base64'))) continue
    used.add(rel.toString('base64'))
    const abs = cat(base, '/', rel)
    mkdirSync(cat(base, '/', folder), { recursive: true })
    let size = sizeOf(r, maxSize, i)
    if (magicOnly) size = Math.max(size, 4096)
    // Unrecognised files must not look like media by their first bytes either.
    const head = magicOnly ? MP4_HEAD : media ? undefined : Buffer.from('plain notes, not footage\n')
    const sha = writeContent(abs, size, Math.floor(r() * 2 ** 31), head)
    versions.set(rel.toString('base64'), new Set([sha]))
    out.push({ raw: rel, media, magicOnly })
    bytes += size
  }
  return { files: out, bytes }
}

const sha256 = (p: Buffer): string => createHash('sha256').update(readFileSync(p)).digest('hex')

/** A regular file (not a link, a pipe or nothing) at p. */
function isRegular(p: Buffer): boolean {
  try {
    return lstatSync(p).isFile()
  } catch {
    return false
  }
}

const MUTATIONS_FOLDER = ['none', 'rewrite', 'rewrite-head-tail', 'grow', 'truncate', 'delete', 'rename', 'fifo', 'symlink', 'create'] as const
const MUTATIONS_MOUNT = [...MUTATIONS_FOLDER, 'unmount', 'remount'] as const

/** One mutation of the volume; every complete state a file passes through is added to `versions`. */
function mutate(r: () => number, kind: string, base: string, files: ModelFile[], versions: Map<string, Set<string>>): { what: string; files: ModelFile[] } {
  const live = files.filter((f) => isRegular(cat(base, '/', f.raw)))
  // Mostly the file the daemon has open right now: a change under a read is the case that matters.
  const reading = openUnder(base)
  const target = r() < 0.8 ? live.find((f) => reading.some((x) => x.equals(f.raw))) : undefined
  const f = target ?? (live.length ? pick(r, live) : undefined)
  if (!f) return { what: `${kind} (nothing to mutate)`, files }
  const abs = cat(base, '/', f.raw)
  const key = f.raw.toString('base64')
  const size = statSync(abs).size
  const note = (): void => void versions.get(key)!.add(sha256(abs))
  // Files recognised by their first bytes keep them: changes start past the MP4 header.
  const floor = f.magicOnly ? 64 : 0
  switch (kind) {
    case 'rewrite': {
      if (size <= floor) return { what: 'rewrite (file too small)', files }
      const at = floor + Math.floor(r() * (size - floor))
      const len = Math.max(1, Math.min(size - at, 1 + Math.floor(r() * 4 * MIB)))
      rewriteRange(abs, at, len)
      note()
      return { what: `rewrite ${len} B at ${at}${target ? ' of the file being read' : ''}`, files }
    }
    case 'rewrite-head-tail': {
      if (size <= floor + 2) return { what: 'rewrite-head-tail (file too small)', files }
      const len = Math.max(1, Math.min(MIB, Math.floor((size - floor) / 2)))
      // The two writes go back to back (as a camera rewriting its index would); the state between them is worked out after.
      const oldTail = Buffer.alloc(len)
      const fd = openSync(abs, 'r')
      readSync(fd, oldTail, 0, len, size - len)
      closeSync(fd)
      rewriteRange(abs, floor, len)
      rewriteRange(abs, size - len, len)
      const both = readFileSync(abs)
      versions.get(key)!.add(createHash('sha256').update(both).digest('hex'))
      oldTail.copy(both, size - len)
      versions.get(key)!.add(createHash('sha256').update(both).digest('hex'))
      return { what: `rewrite head and tail ${len} B${target ? ' of the file being read' : ''}`, files }
    }
    case 'grow': {
      const len = 1 + Math.floor(r() * 4 * MIB)
      append(abs, len)
      note()
      return { what: `grow by ${len} B${target ? ' the file being read' : ''}`, files }
    }
    case 'truncate': {
      const to = floor + Math.floor(r() * Math.max(1, size - floor))
      truncateSync(abs, to)
      note()
      return { what: `truncate ${size} -> ${to} B${target ? ' the file being read' : ''}`, files }
    }
    case 'delete':
      unlinkSync(abs)
      return { what: 'delete', files }
    case 'rename': {
      const to = cat(f.raw, '.renamed', f.magicOnly ? '' : '.MP4')
      renameSync(abs, cat(base, '/', to))
      versions.set(to.toString('base64'), new Set(versions.get(key)))
      const moved = { raw: to, media: f.media || !f.magicOnly, magicOnly: f.magicOnly }
      return { what: 'rename', files: [...files.filter((x) => x !== f), moved] }
    }
    case 'fifo': {
      // mkfifo takes a text path: make it under a plain name, then rename it onto the raw one.
      const tmp = join(base, `.fifo-${process.pid}`)
      execFileSync('mkfifo', [tmp])
      unlinkSync(abs)
      renameSync(tmp, abs)
      return { what: 'replace by a FIFO', files }
    }
    case 'symlink':
      unlinkSync(abs)
      symlinkSync('/etc/hostname', abs)
      return { what: 'replace by a symlink', files }
    case 'create': {
      const rel = cat('DCIM/new ', String(Math.floor(r() * 1e6)), '.MP4')
      const sha = writeContent(cat(base, '/', rel), Math.floor(r() * 2 * MIB), Math.floor(r() * 2 ** 31))
      versions.set(rel.toString('base64'), new Set([sha]))
      return { what: 'create a new file', files: [...files, { raw: rel, media: true, magicOnly: false }] }
    }
    default:
      return { what: kind, files }
  }
}

/** Raw paths (under `base`) of the files this process has open: the daemon runs in it, so these are the files it is reading. */
function openUnder(base: string): Buffer[] {
  const prefix = Buffer.from(`${base}/`)
  const out: Buffer[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`, { encoding: 'buffer' })
      if (target.subarray(0, prefix.length).equals(prefix)) out.push(target.subarray(prefix.length))
    } catch {
      // closed meanwhile
    }
  }
  return out
}

/** Media files of the volume as they are now: raw name -> SHA-256 (regular files only). */
function mediaNow(base: string, files: ModelFile[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const f of files) {
    const abs = cat(base, '/', f.raw)
    if (!f.media || !isRegular(abs)) continue
    if (f.magicOnly && statSync(abs).size < 64) continue
    out.set(f.raw.toString('base64'), sha256(abs))
  }
  return out
}

/** What of `now` is not recorded from this volume under its raw name and hash. */
function missingFromVault(d: InProcess, now: Map<string, string>): string[] {
  const have = new Set(
    (d.db.prepare('SELECT raw_path AS raw, sha256 FROM volume_files').all() as { raw: string; sha256: string }[]).map((x) => `${x.raw}:${x.sha256}`),
  )
  const missing: string[] = []
  for (const [raw, sha] of now) {
    if (!have.has(`${raw}:${sha}`) || !existsSync(d.vault.objectPath(sha))) missing.push(Buffer.from(raw, 'base64').toString('utf8'))
  }
  return missing
}

function outcome(c: CameraStatus | undefined): string {
  if (!c) return 'undocked'
  if (c.state === 'error') return `error (${(c.lastError ?? '').replace(/^.*?\((first: [^:]*: )?/, '').slice(0, 60)})`
  return c.state
}

const done = (c: CameraStatus | undefined): boolean => !c || c.state === 'safe-to-undock' || c.state === 'error'

/** One round; problems are what broke a promise (empty when the round held). */
export async function tortureRound(t: Teardown, o: TortureOptions, round: number): Promise<RoundResult> {
  const t0 = Date.now()
  const r = rng(o.seed + round * 7919)
  const dir = join(o.dir, `round-${round}`)
  const root = join(dir, 'media')
  mkdirSync(root, { recursive: true })
  const mp = join(root, 'CAM')
  const versions = new Map<string, Set<string>>()
  const problems: string[] = []
  let files: ModelFile[]
  let bytes: number
  let img = ''
  const mount = (): void => {
    mkdirSync(mp, { recursive: true })
    execFileSync('mount', ['-o', 'loop,rw', img, mp], { stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const unmount = (): void => void spawnSync('umount', ['-l', mp])
  // Mounting the image again while the lazily unmounted file system is still open would mount one ext4 twice:
  // wait until the daemon let go of it (its loop device detaches), as a camera plugged in again is a new device.
  const released = (): Promise<boolean> =>
    waitFor(() => !spawnSync('losetup', ['-j', img], { encoding: 'utf8' }).stdout.trim(), 'the loop device to be released', 20_000)
  t.teardown(() => {
    unmount()
    if (img)
      for (const l of spawnSync('losetup', ['-j', img], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) spawnSync('losetup', ['-d', l.split(':')[0]!])
    rmSync(dir, { recursive: true, force: true })
  })
  if (o.mounts) {
    img = join(dir, 'cam.img')
    const side = join(dir, 'side')
    mkdirSync(side)
    const room = Math.ceil((o.maxSize * 3 + 64 * MIB) / MIB)
    execFileSync('truncate', ['-s', `${room * 2 + 64}M`, img])
    execFileSync('mkfs.ext4', ['-q', '-F', img], { stdio: ['ignore', 'ignore', 'pipe'] })
    execFileSync('mount', ['-o', 'loop,rw', img, side], { stdio: ['ignore', 'ignore', 'pipe'] })
    try {
      ;({ files, bytes } = makeTree(r, side, o.maxSize, versions))
    } finally {
      execFileSync('umount', [side])
      for (const l of spawnSync('losetup', ['-j', img], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) spawnSync('losetup', ['-d', l.split(':')[0]!])
    }
  } else {
    const stage = join(dir, 'stage')
    mkdirSync(stage)
    ;({ files, bytes } = makeTree(r, stage, o.maxSize, versions))
  }
  const data = join(dir, 'data')
  const d = await inProcessDaemon(t, { cfg: daemonConfig(data, [root], { settleMs: 300 }), usb: new FakeUsbBackend() })
  if (o.mounts) mount()
  else renameSync(join(dir, 'stage'), mp)
  const cam = (): CameraStatus | undefined => d.daemon.status().cameras.find((c) => c.volume === mp)

  // The mutation: at a random point of the copy (or after it, when the copy is faster than the poll).
  const kinds = o.mounts ? MUTATIONS_MOUNT : MUTATIONS_FOLDER
  const kind = pick(r, kinds)
  const frac = r() * 0.9
  let timing: RoundResult['timing'] = 'none'
  await waitFor(() => cam() || d.daemon.status().recent.length > 0, 'the camera to dock', 60_000, 5)
  for (;;) {
    const c = cam()
    if (!c || done(c)) {
      timing = 'late'
      break
    }
    if (c.state === 'copying' && c.bytes.done >= frac * c.bytes.total) {
      timing = 'mid-copy'
      break
    }
    await sleep(2)
  }
  // A file mutation waits (a little) for the daemon to have one of the volume's files open: then it hits a file under a read.
  if (timing === 'mid-copy' && !['none', 'unmount', 'remount', 'create'].includes(kind)) {
    const until = Date.now() + 2000
    while (Date.now() < until && !done(cam())) {
      const open = openUnder(mp)
      if (files.some((f) => open.some((x) => x.equals(f.raw)))) break
      await sleep(1)
    }
  }
  let what: string = kind
  let mutationDone = new Date().toISOString()
  if (kind === 'unmount') {
    unmount()
    what = 'lazy unmount'
  } else if (kind === 'remount') {
    unmount()
    await released()
    mount()
    what = 're-mount'
  } else if (kind !== 'none') {
    const m = mutate(r, kind, mp, files, versions)
    files = m.files
    what = m.what
  } else timing = 'none'
  mutationDone = new Date().toISOString()

  const budget = 120_000 + Math.ceil(bytes / (5 * MIB)) * 1000
  const first = await waitFor(
    () => {
      const c = cam()
      return done(c) && !(kind === 'remount' && !c) ? { c } : undefined
    },
    'the first docking to end',
    budget,
    20,
  )
  const firstOutcome = kind === 'unmount' ? 'undocked' : outcome(first.c)
  // Judge the first docking: a complete session whose last listing came after the mutation must cover the volume as it is.
  if (first.c?.state === 'safe-to-undock') {
    const end = d.logs.filter((l) => l.event === 'ingest.end' && l.sessionId === first.c!.sessionId).pop()
    const listedAt = String(end?.listedAt ?? '')
    if (listedAt >= mutationDone || timing === 'none') {
      const missing = missingFromVault(d, mediaNow(mp, files))
      if (missing.length) problems.push(`safe to undock while ${missing.length} media file(s) were not in the vault: ${JSON.stringify(missing.slice(0, 3))}`)
    }
  }

  // Re-dock (unplug and plug in again): with nothing changing any more, it must end safe to undock, covering every media file.
  if (o.mounts) {
    unmount()
    await waitFor(() => !cam(), 'the undock', 60_000)
    await released()
    mount()
  } else {
    renameSync(mp, join(dir, 'away'))
    await waitFor(() => !cam(), 'the undock', 60_000)
    renameSync(join(dir, 'away'), mp)
  }
  const second = await waitFor(() => (done(cam()) && cam() ? cam() : undefined), 'the re-dock to end', budget, 20)
  const redock = outcome(second)
  const noMediaLeft = mediaNow(mp, files).size === 0 && /no media file/.test(second.lastError ?? '')
  if (second.state !== 'safe-to-undock' && !noMediaLeft) problems.push(`re-dock of a volume that no longer changes ended ${redock}: ${second.lastError}`)
  else {
    const missing = missingFromVault(d, mediaNow(mp, files))
    if (missing.length)
      problems.push(`re-dock safe to undock while ${missing.length} media file(s) were not in the vault: ${JSON.stringify(missing.slice(0, 3))}`)
  }

  // Every stored object is a complete version its file had at some moment.
  const rows = d.db.prepare('SELECT r.id, r.sha256, f.raw_path AS raw FROM recordings r LEFT JOIN volume_files f ON f.recording_id = r.id').all() as {
    id: number
    sha256: string
    raw: string | null
  }[]
  for (const row of rows) {
    if (!row.raw) problems.push(`recording ${row.id} has no raw name`)
    else if (!versions.get(row.raw)?.has(row.sha256))
      problems.push(`recording ${row.id} (${Buffer.from(row.raw, 'base64').toString('utf8')}) stored ${row.sha256.slice(0, 12)}, never a version of that file`)
  }
  const sessions = d.db.prepare("SELECT count(*) AS n FROM ingest_sessions WHERE state = 'running'").get() as { n: number }
  if (sessions.n) problems.push(`${sessions.n} session(s) left running`)
  await d.daemon.stop()
  const left = readdirSync(join(data, 'staging'))
  if (left.length) problems.push(`staging not empty after stop: ${left.join(', ')}`)
  const v = await verifyVault(d.db, d.vault)
  if (!v.ok) problems.push(`verify: ${JSON.stringify(v.problems.slice(0, 3))}`)
  if (o.mounts) unmount()
  return { round, files: files.length, bytes, mutation: what, timing, first: firstOutcome, redock, problems, ms: Date.now() - t0 }
}

/** `64M`, `300MiB`, `1G`, `4096` -> bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(s.trim())
  if (!m) throw new Error(`not a size: ${s} (e.g. 64M, 500M, 2G)`)
  const mult = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't']
  return Number(m[1]) * mult
}
