import { spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { openCatalog } from '../src/catalog/db.js'
import { derivativesOf } from '../src/catalog/derivatives.js'
import { getJob, jobsOf, mediaStatus } from '../src/catalog/media-jobs.js'
import { Vault } from '../src/vault/store.js'
import { verifyVault } from '../src/verify/vault.js'
import { cli, makeCamera, tempDir, spawnCli } from './helpers.js'

// A kill -9 of `bodyvault media run` in the middle of a transcode leaves no
// half-written derivative; the next run kills the orphaned ffmpeg, sweeps
// its temp output and finishes the job. A SIGTERM stops cleanly. The daemon
// (`bodyvault start`) runs the queue too.

const root = tempDir(t, 'bv-mcrash-')
// One long 1080p H.264 clip (~30 MB, a transcode of several seconds), plus the usual extras.
const cam = await makeCamera(join(root, 'cam'), ['--count', '6', '--size', '30M'])

/** Pids of processes whose command line mentions `needle` (ffmpeg children we started). */
function processesMentioning(needle: string): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8')
      const state = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.[0]
      if (cmd.includes(needle) && state !== 'Z') out.push(Number(d))
    } catch {
      // gone
    }
  }
  return out
}

function killLeftovers(dataDir: string): void {
  for (const pid of processesMentioning(dataDir)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
}

function mediaRun(dataDir: string, extra: string[] = []): { child: ChildProcess; exit: Promise<number | null>; stdout: () => string } {
  const child = spawnCli(
    ['media', 'run', '--json', ...extra],
    { BODYVAULT_DATA_DIR: dataDir, BODYVAULT_LOG_LEVEL: 'silent' },
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c))
  return { child, exit: new Promise((r) => child.on('exit', (code) => r(code))), stdout: () => out }
}

async function ingested(dataDir: string, from = cam): Promise<number> {
  const r = cli(['ingest', from, '--json'], { BODYVAULT_DATA_DIR: dataDir })
  if (r.code !== 0) throw new Error(`ingest failed: ${r.stderr}`)
  const rep = JSON.parse(r.stdout) as { ingested: { id: number; sourcePath: string }[] }
  return (rep.ingested.find((i) => /_0001(_IMP)?\.MP4$/.test(i.sourcePath)) ?? rep.ingested[0]!).id
}

/** Waits until the proxy job of `id` runs and its ffmpeg has written at least `bytes` to its temp file. */
async function whenTranscoding(
  dataDir: string,
  id: number,
  bytes: number,
  give: { exit: Promise<number | null> },
): Promise<{ jobId: number; tempPath: string; ffmpegPid: number }> {
  const db = new Database(join(dataDir, 'catalog.db'), { readonly: true, fileMustExist: false })
  let exited = false
  void give.exit.then(() => (exited = true))
  try {
    for (let i = 0; i < 3000 && !exited; i++) {
      await new Promise((r) => setTimeout(r, 20))
      let row: { id: number; state: string; temp_path: string | null; ffmpeg_pid: number | null } | undefined
      try {
        row = db.prepare("SELECT id, state, temp_path, ffmpeg_pid FROM media_jobs WHERE recording_id = ? AND kind = 'proxy'").get(id) as typeof row
      } catch {
        continue // schema not there yet
      }
      if (row?.state === 'running' && row.temp_path && row.ffmpeg_pid && existsSync(row.temp_path) && statSync(row.temp_path).size >= bytes) {
        return { jobId: row.id, tempPath: row.temp_path, ffmpegPid: row.ffmpeg_pid }
      }
    }
  } finally {
    db.close()
  }
  throw new Error('the transcode never got under way')
}

t.test('kill -9 of media run during a transcode, then a restart', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  t.teardown(() => killLeftovers(dataDir))
  const id = await ingested(dataDir)
  const run1 = mediaRun(dataDir)
  const at = await whenTranscoding(dataDir, id, 256 << 10, run1)
  run1.child.kill('SIGKILL')
  t.equal(await run1.exit, null, 'killed')

  const vault = new Vault(dataDir)
  {
    const db = openCatalog(vault.catalogPath)
    t.equal(getJob(db, at.jobId)?.state, 'running', 'the job is left running by the dead process')
    t.strictSame(
      derivativesOf(db, id).filter((d) => d.kind === 'proxy'),
      [],
      'no proxy recorded',
    )
    const v = await verifyVault(db, vault)
    t.strictSame(v.problems, [], 'verify is clean')
    // Media jobs run two at once: the kill may also land between another
    // job storing its (whole) derivative and recording it. Such an object
    // is whole and the restart adopts it (verify is clean at the end); a
    // half-written object, or the transcode's own output, must never be there.
    const unreferenced = v.notes.map((n) => /^object ([0-9a-f]{64}) is in the vault but no recording refers to it/.exec(n)?.[1] ?? n)
    for (const sha of unreferenced) {
      t.match(sha, /^[0-9a-f]{64}$/, 'any note is only an unreferenced object')
      t.equal(
        createHash('sha256')
          .update(readFileSync(vault.objectPath(sha)))
          .digest('hex'),
        sha,
        'and it is whole, not half-written',
      )
    }
    t.comment(`unreferenced objects right after the kill (another job's, adopted after the restart): ${unreferenced.length}`)
    t.ok(at.tempPath.startsWith(vault.stagingDir + '/'), 'the partial output is only in staging')
    db.close()
  }
  const orphanAlive = processesMentioning(at.tempPath).length > 0
  t.comment(`orphaned ffmpeg ${at.ffmpegPid} still running after the kill: ${orphanAlive}`)

  const r = cli(['media', 'run', '--json'], { BODYVAULT_DATA_DIR: dataDir })
  t.equal(r.code, 0, r.stderr)
  const rep = JSON.parse(r.stdout) as {
    recovered: { requeued: number[]; killed: number[]; stagingCleaned: number }
    outcomes: { jobId: number; outcome: string }[]
  }
  t.ok(rep.recovered.requeued.includes(at.jobId), 'the interrupted job went back to the queue')
  if (orphanAlive) t.ok(rep.recovered.killed.includes(at.ffmpegPid), 'the orphaned ffmpeg was killed')
  t.ok(
    rep.outcomes.some((o) => o.jobId === at.jobId && o.outcome === 'done'),
    'and finished after the restart',
  )
  t.strictSame(processesMentioning(at.tempPath), [], 'no ffmpeg of the dead run is left')
  t.strictSame(readdirSync(vault.stagingDir), [], 'staging is empty')

  const db = openCatalog(vault.catalogPath)
  t.teardown(() => db.close())
  const job = getJob(db, at.jobId)!
  t.equal(job.state, 'done')
  t.equal(job.attempts, 2, 'the interrupted attempt counts')
  t.match(job.result, /^derivative:\d+$/)
  const st = mediaStatus(db)
  t.equal(st.byState.failed + st.byState.queued + st.byState.running, 0, 'every job done')
  const proxy = derivativesOf(db, id).find((d) => d.kind === 'proxy')!
  const p = JSON.parse(
    spawnSync('ffprobe', ['-v', 'error', '-of', 'json', '-show_format', '-show_streams', `file:${vault.objectPath(proxy.sha256)}`], { encoding: 'utf8' })
      .stdout,
  ) as { streams: { codec_name: string }[]; format: { duration: string } }
  t.strictSame(
    p.streams.map((s) => s.codec_name),
    ['h264', 'aac'],
    'the finished proxy is whole',
  )
  const v = await verifyVault(db, vault)
  t.strictSame(v.problems, [])
  t.strictSame(v.notes, [])
})

t.test('kill -9 at points of the one run that makes a remux proxy and its thumbnail, then a restart: both or neither, never half', async (t) => {
  // What would make it false: a thumbnail job done without its derivative
  // (or the proxy's), one of the two recorded and the other lost, a second
  // derivative of a kind after the restart, a half-written object, an
  // ffmpeg or a temp file of the dead run left over.
  const one = join(tempDir(t), 'cam')
  mkdirSync(join(one, 'DCIM', '100MEDIA'), { recursive: true })
  copyFileSync(join(cam, 'DEVICE.TXT'), join(one, 'DEVICE.TXT'))
  const clip = readdirSync(join(cam, 'DCIM', '100MEDIA')).find((f) => /_0001(_IMP)?\.MP4$/.test(f))!
  copyFileSync(join(cam, 'DCIM', '100MEDIA', clip), join(one, 'DCIM', '100MEDIA', clip))
  const landed: string[] = []
  for (const delayMs of [0, 250, 450, 700]) {
    const dataDir = join(tempDir(t), 'data')
    t.teardown(() => killLeftovers(dataDir))
    const id = await ingested(dataDir, one)
    const run = mediaRun(dataDir)
    // The one run has started when the proxy job and the thumbnail job it carries are both running under one claim, with its ffmpeg.
    const ro = new Database(join(dataDir, 'catalog.db'), { readonly: true })
    let started = false
    for (let i = 0; i < 6000 && !started; i++) {
      const rows = ro
        .prepare("SELECT kind, state, started_at AS s, ffmpeg_pid AS pid FROM media_jobs WHERE recording_id = ? AND kind IN ('proxy', 'thumbnail')")
        .all(id) as { kind: string; state: string; s: string | null; pid: number | null }[]
      started = rows.length === 2 && rows.every((r) => r.state === 'running' && r.pid !== null && r.s === rows[0]!.s)
      if (!started) await new Promise((r) => setTimeout(r, 5))
    }
    ro.close()
    t.ok(started, `round ${delayMs} ms: the one run started (both jobs running under one claim, one ffmpeg)`)
    await new Promise((r) => setTimeout(r, delayMs))
    run.child.kill('SIGKILL')
    await run.exit
    const vault = new Vault(dataDir)
    {
      const db = openCatalog(vault.catalogPath)
      const jobs = jobsOf(db, id).filter((j) => j.kind !== 'probe')
      const ds = derivativesOf(db, id)
      for (const j of jobs) {
        if (j.state === 'done') t.equal(ds.filter((d) => d.kind === j.kind).length, 1, `a ${j.kind} job done has its derivative`)
        else t.equal(ds.filter((d) => d.kind === j.kind).length, 0, `a ${j.kind} job not done has none`)
      }
      t.equal(new Set(jobs.map((j) => j.state)).size, 1, `both jobs in one state (${jobs.map((j) => `${j.kind} ${j.state}`).join(', ')})`)
      const v = await verifyVault(db, vault)
      t.strictSame(v.problems, [], 'verify is clean right after the kill')
      for (const n of v.notes) {
        const sha = /^object ([0-9a-f]{64}) is in the vault but no recording refers to it/.exec(n)?.[1]
        t.ok(
          sha &&
            createHash('sha256')
              .update(readFileSync(vault.objectPath(sha)))
              .digest('hex') === sha,
          `only a whole unreferenced object: ${n.slice(0, 90)}`,
        )
      }
      landed.push(`${delayMs} ms: ${jobs.map((j) => `${j.kind} ${j.state}`).join(', ')}; ${ds.length} derivatives, ${v.notes.length} unreferenced objects`)
      db.close()
    }
    const r = cli(['media', 'run', '--json'], { BODYVAULT_DATA_DIR: dataDir })
    t.equal(r.code, 0, r.stderr)
    const db = openCatalog(vault.catalogPath)
    const ds = derivativesOf(db, id)
    t.strictSame(ds.map((d) => d.kind).sort(), ['proxy', 'thumbnail'], 'after the restart: one proxy and one thumbnail')
    t.ok(
      jobsOf(db, id).every((j) => j.state === 'done'),
      'every job done',
    )
    const v = await verifyVault(db, vault)
    t.strictSame([v.problems, v.notes], [[], []], 'verify clean')
    t.strictSame(readdirSync(vault.stagingDir), [], 'staging is empty')
    t.strictSame(processesMentioning(dataDir), [], 'no ffmpeg of the dead run is left')
    db.close()
  }
  t.comment(`where the kills landed: ${landed.join(' | ')}`)
})

t.test('SIGTERM of media run: the transcode is abandoned cleanly and the attempt refunded', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  t.teardown(() => killLeftovers(dataDir))
  const id = await ingested(dataDir)
  const run = mediaRun(dataDir)
  const at = await whenTranscoding(dataDir, id, 64 << 10, run)
  run.child.kill('SIGTERM')
  t.equal(await run.exit, 130, 'exit 130: interrupted')
  t.strictSame(processesMentioning(at.tempPath), [], 'its ffmpeg was stopped')
  t.notOk(existsSync(at.tempPath), 'its temp output was removed')
  const db = openCatalog(join(dataDir, 'catalog.db'))
  t.teardown(() => db.close())
  const job = getJob(db, at.jobId)!
  t.equal(job.state, 'queued', 'back in the queue')
  t.equal(job.attempts, 0, 'a stop is not a failed attempt')
  t.equal(jobsOf(db, id).find((j) => j.kind === 'proxy')?.lastError ?? null, null)
})

t.test('the daemon runs the media queue and stops cleanly', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  t.teardown(() => killLeftovers(dataDir))
  // A small camera: the short H.265 clip and a photo (5 jobs).
  const small = join(tempDir(t), 'cam')
  mkdirSync(join(small, 'DCIM', '100MEDIA'), { recursive: true })
  for (const n of readdirSync(join(cam, 'DCIM', '100MEDIA')).filter((f) => /_0004\.MP4$|_0006\.JPG$/.test(f))) {
    copyFileSync(join(cam, 'DCIM', '100MEDIA', n), join(small, 'DCIM', '100MEDIA', n))
  }
  await ingested(dataDir, small)
  const port = 20000 + Math.floor(Math.random() * 20000)
  const child = spawnCli(
    ['start'],
    { BODYVAULT_DATA_DIR: dataDir, BODYVAULT_LOG_LEVEL: 'warn', BODYVAULT_LISTEN: `127.0.0.1:${port}` },
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  let exited = false
  void exit.then(() => (exited = true))
  const db = new Database(join(dataDir, 'catalog.db'), { readonly: true })
  t.teardown(() => db.close())
  let left = -1
  for (let i = 0; i < 1200 && !exited; i++) {
    await new Promise((r) => setTimeout(r, 100))
    left = (db.prepare("SELECT count(*) AS n FROM media_jobs WHERE state IN ('queued', 'running')").get() as { n: number }).n
    if (left === 0) break
  }
  t.equal(left, 0, `the daemon worked through the queue ${stderr}`)
  child.kill('SIGTERM')
  t.equal(await exit, 0, 'SIGTERM: clean exit')
  t.equal((db.prepare("SELECT count(*) AS n FROM media_jobs WHERE state = 'done'").get() as { n: number }).n, 5, 'all 5 jobs done')
})
