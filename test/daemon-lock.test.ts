// Issue 15, "one daemon per vault": the daemon's lock on its data dir. A
// second `start` (another port, same vault) exits 3 DATA_DIR_IN_USE naming
// the running one and changes nothing (not its status credential); CLI
// writers still work beside it; a kill -9 frees the lock.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { tryLockFile } from '../src/catalog/file-lock.js'
import { daemonLockPath, lockDataDir, readDaemonHolder } from '../src/station/lock.js'
import { freePort, placeFolder, startDaemon, waitFor } from './daemon-support.js'
import { cli, makeCamera, spawnCli, tempDir } from './helpers.js'

/** Name, size and mtime of every file of a data dir but the catalog's (the running daemon writes those). */
function fingerprint(dataDir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (!e.name.startsWith('catalog.db')) {
        const s = statSync(p)
        out.push(`${p.slice(dataDir.length)} ${s.size} ${s.mtimeMs}`)
      }
    }
  }
  walk(dataDir)
  return out.sort()
}

t.test('the lock itself: exclusive between connections and processes, held until released', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'run'))
  const a = lockDataDir(dir, '127.0.0.1:1')
  t.throws(() => lockDataDir(dir, '127.0.0.1:2'), { code: 'DATA_DIR_IN_USE', message: new RegExp(`pid ${process.pid} on .*listening on 127\\.0\\.0\\.1:1`) })
  t.equal(tryLockFile(daemonLockPath(dir)), null, 'a second connection in this process cannot take it')
  const other = cli(['start'], { BODYVAULT_DATA_DIR: dir, BODYVAULT_LISTEN: `127.0.0.1:${await freePort()}` })
  t.match(
    other,
    { code: 3, stderr: /DATA_DIR_IN_USE: the data dir .* is in use by another bodyvault daemon \(pid \d+ .*listening on 127\.0\.0\.1:1/ },
    'nor another process',
  )
  a.release()
  const b = lockDataDir(dir, '127.0.0.1:3')
  t.equal(readDaemonHolder(dir)?.listen, '127.0.0.1:3', 'the holder is rewritten by the next one')
  b.release()
  t.equal(statSync(daemonLockPath(dir)).size, 0, 'nothing is ever written into the lock file')
  t.same(readdirSync(join(dir, 'run')).sort(), ['daemon.json', 'daemon.lock'], 'and no journal beside it')
})

t.test('a second start on the same vault exits 3 naming the first and touches nothing; writers work beside the daemon', async (t) => {
  const dir = tempDir(t)
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  const first = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })
  const secret = readFileSync(join(data, 'run', 'status.secret'), 'utf8')
  const before = fingerprint(data)
  const port = await freePort()
  const second = cli(['start'], {
    BODYVAULT_DATA_DIR: data,
    BODYVAULT_LISTEN: `127.0.0.1:${port}`,
    BODYVAULT_CONFIG: join(dir, `daemon-${first.url.split(':').pop()}.json`),
  })
  t.equal(second.code, 3)
  t.match(
    second.stderr,
    new RegExp(
      `^bodyvault: DATA_DIR_IN_USE: the data dir ${data} is in use by another bodyvault daemon \\(pid ${first.child.pid}\\b.*listening on ${first.url.replace('http://', '')}`,
    ),
  )
  t.same(fingerprint(data), before, 'no file of the data dir changed')
  t.equal(readFileSync(join(data, 'run', 'status.secret'), 'utf8'), secret, 'the status credential is the first daemon’s')
  const status = cli(['status', '--json'], { BODYVAULT_DATA_DIR: data, BODYVAULT_LISTEN: first.url.replace('http://', '') })
  t.equal(status.code, 0, `status still answers: ${status.stderr}`)
  t.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'the second never listened')
  // CLI writers share the catalog with the running daemon.
  const tok = cli(['token', 'create', '--role', 'clerk', '--name', 'desk', '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(tok.code, 0, tok.stderr)
  const cam = await makeCamera(join(dir, 'cam'), ['--count', '6'])
  const ing = cli(['ingest', cam, '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(ing.code, 0, ing.stderr)
  t.ok((JSON.parse(ing.stdout) as { ingested: unknown[] }).ingested.length >= 6, 'ingest beside the daemon')
  // The daemon keeps docking.
  placeFolder(cam, join(root, 'CAM1'))
  await waitFor(async () => (await first.status()).cameras.some((c) => c.state === 'safe-to-undock'), 'the daemon to dock beside the CLI')
})

t.test('kill -9 frees the lock: the next start runs', async (t) => {
  const dir = tempDir(t)
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  const first = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })
  first.child.kill('SIGKILL')
  await first.exited
  const next = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })
  t.ok((await fetch(`${next.url}/healthz`)).ok, 'a new daemon took the vault at once')
  t.equal(readDaemonHolder(data)?.pid, next.child.pid)
  // A child that exits on its own releases it too (not only at a clean stop).
  const third = spawnCli(['start'], { BODYVAULT_DATA_DIR: data, BODYVAULT_LISTEN: `127.0.0.1:${await freePort()}` }, { stdio: 'ignore' })
  const code = await new Promise<number | null>((r) => third.on('exit', r))
  t.equal(code, 3, 'while the second runs, a third is refused')
})
