// Issue 15, "done when": from this checkout, as a new admin would, with the
// installation in a temporary root: scripts/install-station (twice: it is
// idempotent), the unit checked by systemd-analyze, the unit's ExecStart run
// as the service user against the installed config, a camera docked through
// it, CLI commands as root from / finding the service's vault through the
// installed config alone, a backup while another camera docks, a restore
// into an empty folder, verify on the restore: all clean. Then --uninstall.
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { StationStatus } from '../src/dock/status.js'
import { freePort, placeFolder, waitFor } from './daemon-support.js'
import { cli, makeCamera, ROOT, tempDir } from './helpers.js'
import { cannotRunAsUser, gidOf, spawnAs, TEST_USER, uidOf } from './ops-support.js'

const why = cannotRunAsUser()
// The one end-to-end run (a daemon, two dockings, a backup, a restore, three verifies): on a loaded
// 2-core machine it can outlast the suite's 300 s per file; this tells the runner (tap's root setTimeout).
t.setTimeout(600_000)

function install(args: string[]): { code: number | null; out: string } {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'install-station'), ...args], { encoding: 'utf8' })
  return { code: r.status, out: r.stdout + r.stderr }
}

/** Every path under `dir` whose owner is not `uid`. */
function strangers(dir: string, uid: number): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n)
      if (statSync(p).uid !== uid) out.push(p)
      if (statSync(p).isDirectory()) walk(p)
    }
  }
  walk(dir)
  return out
}

t.test(
  'install, start as the service user, dock, CLI as root from anywhere, back up while docking, restore, verify',
  { skip: why ? `the install test needs ${why}` : false },
  async (t) => {
    const root = tempDir(t, 'bv-root-')
    chmodSync(root, 0o755)
    const media = join(root, 'media')
    mkdirSync(media, { mode: 0o755 })
    const port = await freePort()
    const args = ['--root', root, '--user', TEST_USER, '--listen', `127.0.0.1:${port}`, '--mount-root', media]
    const first = install(args)
    t.equal(first.code, 0, first.out)
    t.match(first.out, /wrote .*etc\/bodyvault\/config\.json/)
    const unitPath = join(root, 'etc', 'systemd', 'system', 'bodyvault.service')
    const configPath = join(root, 'etc', 'bodyvault', 'config.json')
    const data = join(root, 'var', 'lib', 'bodyvault')
    const unitBefore = statSync(unitPath).mtimeMs
    const again = install(args)
    t.equal(again.code, 0, again.out)
    t.match(again.out, /kept .*config\.json/)
    t.notMatch(again.out, /installed|wrote|created/, 'a second run changes nothing')
    t.equal(statSync(unitPath).mtimeMs, unitBefore)
    t.ok(existsSync(join(root, 'etc', 'udev', 'rules.d', '99-bodyvault-camera.rules')), 'the udev rule')
    const uid = uidOf(TEST_USER)
    t.match(statSync(data), { uid, mode: 0o40750 }, 'the data dir is the service user’s, 0750')
    t.match(statSync(configPath), { uid: 0, gid: gidOf(TEST_USER), mode: 0o100640 }, 'the config: root’s, readable by the service group')
    const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as { dataDir: string; listen: string; docking: { mountRoots: string[] } }
    t.match(cfg, { dataDir: data, listen: `127.0.0.1:${port}`, docking: { mountRoots: [media] } })

    // The unit, as systemd would read it.
    if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0) {
      const v = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' })
      t.equal(v.status, 0, `systemd-analyze verify: ${v.stderr}`)
    } else t.comment('systemd-analyze is not installed here: the unit was not checked by systemd (Debian package systemd)')
    const unit = readFileSync(unitPath, 'utf8')
    const user = /^User=(.*)$/m.exec(unit)?.[1]
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]
    const environment = Object.fromEntries([...unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]))
    t.equal(user, TEST_USER)
    t.same(environment, { BODYVAULT_CONFIG: configPath }, 'the unit names the one config, nothing else')
    t.notMatch(unit, /BODYVAULT_DATA_DIR/, 'the data dir comes from the config, as for every CLI command')

    // ExecStart, as the service user, against the installed config.
    const daemon = spawnAs(user!, exec!.split(' '), { ...environment, BODYVAULT_LOG_LEVEL: 'info' })
    let log = ''
    daemon.stderr!.on('data', (b: Buffer) => {
      log += b.toString('utf8')
    })
    daemon.stdout!.resume()
    const exited = new Promise<number | null>((r) => daemon.on('exit', (c) => r(c)))
    t.teardown(async () => {
      if (daemon.exitCode === null) {
        daemon.kill('SIGTERM')
        await exited
      }
    })
    const url = `http://127.0.0.1:${port}`
    await waitFor(async () => (await fetch(`${url}/healthz`)).ok, `the installed daemon to listen (${log.slice(-400)})`, 60_000)

    // Every CLI command as root, from /, with nothing but the installed config (found as /etc/bodyvault/config.json would be).
    const asInstalled = { BODYVAULT_CONFIG: '', BODYVAULT_SYSTEM_CONFIG: configPath }
    const root$ = (a: string[]) => cli(a, asInstalled, { cwd: '/' })
    // Waits poll the daemon over HTTP with its station-local credential (a `bodyvault status` run per poll costs a CLI
    // start, about a CPU-second); `bodyvault status` itself, as root from /, is checked once each camera is in.
    const status = async (): Promise<StationStatus> =>
      (await (
        await fetch(`${url}/v1/station`, { headers: { authorization: `Bearer ${readFileSync(join(data, 'run', 'status.secret'), 'utf8').trim()}` } })
      ).json()) as StationStatus
    const statusCli = (volume: string): string | undefined => {
      const r = root$(['status', '--json'])
      t.equal(r.code, 0, r.stderr)
      return (JSON.parse(r.stdout) as StationStatus).cameras.find((c) => c.volume?.endsWith(volume))?.state
    }
    const cam1 = await makeCamera(join(root, 'gen', 'cam1'), ['--count', '6'])
    placeFolder(cam1, join(media, 'CAM1'))
    await waitFor(
      async () => (await status()).cameras.find((c) => c.id === 'cam-1' || c.volume?.endsWith('CAM1'))?.state === 'safe-to-undock',
      'the first camera to dock',
      90_000,
    )
    t.equal(statusCli('CAM1'), 'safe-to-undock', '`bodyvault status` as root from / finds the daemon through the installed config alone')
    const recs = root$(['recordings', '--json'])
    t.equal(recs.code, 0, recs.stderr)
    t.ok((JSON.parse(recs.stdout) as unknown[]).length >= 6, 'root sees the service’s recordings')
    for (const a of [['token', 'create', '--role', 'clerk', '--name', 'desk 1'], ['key', 'show'], ['checkpoint'], ['media', 'status'], ['retention', 'plan']]) {
      const r = root$(a)
      t.equal(r.code, 0, `${a.join(' ')}: ${r.stderr}`)
    }
    const doc = JSON.parse(root$(['doctor', '--json']).stdout) as { checks: { check: string; ok: boolean; detail: string }[] }
    t.same(
      doc.checks.filter((c) => !c.ok),
      [],
      'doctor: all clean',
    )
    t.match(
      doc.checks.find((c) => c.check === 'listen'),
      { detail: new RegExp(`holds the data dir and answers at ${url}`) },
    )

    // A backup while another camera docks.
    const backupDir = join(root, 'backup')
    mkdirSync(backupDir, { mode: 0o750 })
    chownSync(backupDir, uid, gidOf(TEST_USER)) // a backup target the service user may write (a NAS mount, say)
    const cam2 = await makeCamera(join(root, 'gen', 'cam2'), ['--count', '6', '--device', 'B765432', '--size', '40M'])
    placeFolder(cam2, join(media, 'CAM2'))
    await waitFor(async () => (await status()).cameras.some((c) => c.volume?.endsWith('CAM2') && c.state !== 'detected'), 'the second camera to start docking')
    const b = root$(['backup', backupDir, '--json'])
    t.equal(b.code, 0, b.stderr)
    t.match(JSON.parse(b.stdout), { full: true, objects: { corrupt: [] } })
    await waitFor(
      async () => (await status()).cameras.find((c) => c.volume?.endsWith('CAM2'))?.state === 'safe-to-undock',
      'the second camera to dock',
      120_000,
    )
    t.equal(statusCli('CAM2'), 'safe-to-undock', '`bodyvault status` says so too')
    t.same(strangers(data, uid), [], 'nothing in the vault belongs to root after all that')

    // Restore into an empty folder and verify it.
    const restored = join(root, 'restored')
    const r = root$(['restore', backupDir, '--to', restored])
    t.equal(r.code, 0, r.stderr)
    const v = cli(['verify'], { BODYVAULT_DATA_DIR: restored }, { cwd: '/' })
    t.equal(v.code, 0, v.stdout + v.stderr)
    t.match(v.stdout, /^ok: /m)
    const vb = cli(['verify'], { BODYVAULT_DATA_DIR: backupDir }, { cwd: '/' })
    t.equal(vb.code, 0, `the backup itself verifies: ${vb.stdout}`)
    t.equal(root$(['verify']).code, 0, 'and the live vault')

    // As systemd stops it: SIGTERM to the daemon itself (runuser, between us and it, would die of the signal instead of exiting with its code).
    const pid = (JSON.parse(readFileSync(join(data, 'run', 'daemon.json'), 'utf8')) as { pid: number }).pid
    process.kill(pid, 'SIGTERM')
    t.equal(await exited, 0, 'SIGTERM stops the installed daemon cleanly')
    t.notMatch(log, /EACCES|checkpoint_failed/, 'the daemon never met a file it could not write')

    const un = install(['--root', root, '--user', TEST_USER, '--uninstall'])
    t.equal(un.code, 0, un.out)
    t.notOk(existsSync(unitPath), 'the unit is gone')
    t.notOk(existsSync(join(root, 'etc', 'udev', 'rules.d', '99-bodyvault-camera.rules')), 'the udev rule is gone')
    t.ok(existsSync(configPath) && existsSync(join(data, 'catalog.db')), 'the config and the vault stay')
  },
)
