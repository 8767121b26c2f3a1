// One writer at a time, nobody errs; verify reads one snapshot (issue 12).
// A real `bodyvault start` child process serves while other processes write
// to the same catalog: a connection that holds the write lock for 5 s, a CLI
// ingest, a token create, a retention purge. The API's range reads of an
// original (each one a ledger event) and the daemon's media jobs wait for
// the lock instead of failing. Then `bodyvault verify` runs again and again
// beside the daemon while it ingests a docked camera: no false problem.
// Both print their figures.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { httpCall } from './http-support.js'
import { placeFolder, renameDevice, startDaemon, waitFor } from './daemon-support.js'
import { cli, makeCamera, spawnCli, tempDir } from './helpers.js'

const READS = 500
const HOLD_MS = 5_000

t.setTimeout(1_800_000)

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawnCli(args, env, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    p.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The media queue as the catalog holds it (read-only: the daemon owns it). */
function mediaJobs(data: string): Record<string, number> {
  const db = new Database(join(data, 'catalog.db'), { readonly: true })
  try {
    db.pragma('busy_timeout = 10000')
    const rows = db.prepare('SELECT state, count(*) AS n FROM media_jobs GROUP BY state').all() as { state: string; n: number }[]
    return Object.fromEntries(rows.map((r) => [r.state, r.n]))
  } finally {
    db.close()
  }
}

const locked = (lines: string[]): string[] => lines.filter((l) => /database is locked|SQLITE_BUSY/.test(l))

// One generated camera for both tests.
const camDir = tempDir(t)
let camera: Promise<string> | undefined
const cameraOnce = (): Promise<string> => {
  camera ??= makeCamera(join(camDir, 'cam'), ['--count', '6'])
  return camera
}

t.test(
  `a writer holds the lock ${HOLD_MS / 1000} s while ${READS} range reads, media jobs, an ingest, a token create and a purge run: 0 5xx, 0 failed jobs`,
  async (t) => {
    const cam = await cameraOnce()
    const dir = tempDir(t)
    const data = join(dir, 'data')
    const env = { BODYVAULT_DATA_DIR: data }
    // Footage and queued media jobs before the daemon starts: its media worker runs them while the lock is held.
    t.equal(cli(['ingest', cam], env).code, 0)
    const token = (JSON.parse(cli(['token', 'create', '--role', 'clerk', '--name', 'desk', '--json'], env).stdout) as { token: string }).token
    const d = await startDaemon(t, { dataDir: data, roots: [join(dir, 'no-cameras')], configDir: dir, listenMs: 180_000 })
    const list = await httpCall(`${d.url}/v1/recordings?kind=video&limit=10`, { token })
    t.equal(list.status, 200)
    const video = list.json.items[0] as { id: number; size: number }
    t.ok(video, 'a video to read')

    // The other writer: a second connection to the catalog, as another process would hold it.
    const other = new Database(join(data, 'catalog.db'))
    t.teardown(() => other.close())
    other.pragma('busy_timeout = 10000')
    const second = renameDevice(cam, join(dir, 'cam-2'), 'A1B2C3D', 'B2C3D4E')
    other.prepare('BEGIN IMMEDIATE').run()
    const lockedAt = Date.now()
    const release = new Promise<number>((resolve) =>
      setTimeout(() => {
        other.prepare('COMMIT').run()
        resolve(Date.now() - lockedAt)
      }, HOLD_MS),
    )
    // Second processes writing meanwhile: they wait for the lock too.
    const writers = Promise.all([
      runCli(['ingest', second], env),
      runCli(['token', 'create', '--role', 'officer', '--officer', '012345', '--name', 'patrol'], env),
      runCli(['retention', 'purge'], env),
    ])
    const statuses = new Map<number, number>()
    const slowest = { ms: 0 }
    let next = 0
    const reader = async (): Promise<void> => {
      for (let i = next++; i < READS; i = next++) {
        const from = (i * 997) % Math.max(1, video.size - 100)
        const t0 = Date.now()
        const r = await httpCall(`${d.url}/v1/recordings/${video.id}/original?reason=lock%20test`, { token, headers: { range: `bytes=${from}-${from + 99}` } })
        slowest.ms = Math.max(slowest.ms, Date.now() - t0)
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
        if (r.status !== 206) t.fail(`read ${i}: ${r.status} ${r.buf.toString('utf8').slice(0, 200)}`)
      }
    }
    await Promise.all(Array.from({ length: 20 }, reader))
    const held = await release
    const w = await writers
    for (const [i, r] of w.entries()) t.equal(r.code, 0, `second writer ${i}: ${r.stderr.slice(0, 300)}`)
    const fivexx = [...statuses].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0)
    t.equal(fivexx, 0, '0 5xx')
    t.equal(statuses.get(206), READS, `all ${READS} reads answered 206`)
    // The media jobs of both ingests run to their end.
    const jobs = await waitFor(
      () => {
        const j = mediaJobs(data)
        return (j.queued ?? 0) + (j.running ?? 0) === 0 ? j : undefined
      },
      'the media queue to drain',
      600_000,
      500,
    )
    t.equal(jobs.failed ?? 0, 0, `0 failed media jobs (${JSON.stringify(jobs)})`)
    t.ok((jobs.done ?? 0) > 0, 'media jobs ran')
    t.same(locked(d.lines), [], 'the daemon never met "database is locked"')
    const v = cli(['verify'], env)
    t.equal(v.code, 0, v.stdout)
    t.comment(
      `lock held ${held} ms; ${READS} range reads: ${JSON.stringify(Object.fromEntries(statuses))}, 5xx ${fivexx}, slowest ${slowest.ms} ms; ` +
        `second writers (ingest, token create, retention purge) exit ${w.map((r) => r.code).join('/')}; media jobs ${JSON.stringify(jobs)}`,
    )
    t.equal(await d.stop(), 0)
  },
)

t.test('verify beside a daemon that is ingesting a docked camera: 0 false problems', async (t) => {
  const cam = await cameraOnce()
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const root = join(dir, 'media')
  const env = { BODYVAULT_DATA_DIR: data }
  mkdirSync(root)
  const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir, listenMs: 180_000 })
  placeFolder(cam, join(root, 'CAM1'))
  let done = false
  const rounds: { recordings: number; events: number; problems: string[] }[] = []
  const watch = waitFor(
    async () => {
      const s = await d.status()
      const cam1 = s.cameras.find((c) => c.state === 'safe-to-undock' || c.state === 'error')
      const j = mediaJobs(data)
      return cam1 && (j.queued ?? 0) + (j.running ?? 0) === 0 ? cam1 : undefined
    },
    'the docking and its media jobs',
    600_000,
    200,
  ).finally(() => {
    done = true
  })
  // verify after verify while the daemon copies, commits and probes; at least three rounds, one after all is done.
  while (!done || rounds.length < 3) {
    const r = await runCli(['verify', '--json'], env)
    t.ok(r.code === 0 || r.code === 1, `verify ran (${r.stderr.slice(0, 300)})`)
    const rep = JSON.parse(r.stdout) as { checked: { recordings: number; events: number }; problems: { kind: string; subject: string; detail: string }[] }
    rounds.push({ recordings: rep.checked.recordings, events: rep.checked.events, problems: rep.problems.map((p) => `${p.kind} ${p.subject} ${p.detail}`) })
  }
  const cam1 = await watch
  t.match(cam1, { state: 'safe-to-undock', lastError: null })
  const falseProblems = rounds.flatMap((r) => r.problems)
  t.same(falseProblems, [], '0 false problems')
  t.ok(rounds.length >= 3, `${rounds.length} rounds of verify`)
  t.comment(
    `verify beside an ingesting daemon: ${rounds.length} rounds (recordings/events ${rounds.map((r) => `${r.recordings}/${r.events}`).join(', ')}); false problems ${falseProblems.length}`,
  )
  t.equal(await d.stop(), 0)
})
