// Issue 15, "the service user owns the vault": root running the CLI against
// the service's data dir works as the service user (no root-owned file is
// left behind for the daemon to trip on); another user is refused with the
// exact command to use; doctor checks the ownership of the whole tree and
// the key; a read-only data dir exits 3.
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { cli, emptyVault, makeCamera, tempDir } from './helpers.js'
import { cannotRunAsUser, cliAs, gidOf, TEST_USER, uidOf } from './ops-support.js'

const why = cannotRunAsUser()

/** Paths under `dir` whose owner is not `uid`. */
function notOwnedBy(dir: string, uid: number): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const s = statSync(p)
      if (s.uid !== uid) out.push(p.slice(dir.length + 1))
      if (s.isDirectory()) walk(p)
    }
  }
  walk(dir)
  return out
}

t.test('root acts on the service user’s vault as the service user', { skip: why ? `needs a service user: ${why}` : false }, async (t) => {
  const dir = tempDir(t)
  chmodSync(dir, 0o755)
  const uid = uidOf(TEST_USER)
  const cam = await makeCamera(join(dir, 'cam'), ['--count', '6'])
  const cam2 = await makeCamera(join(dir, 'cam2'), ['--count', '6', '--device', 'B765432'])
  const data = join(dir, 'data')
  const env = { BODYVAULT_DATA_DIR: data }
  mkdirSync(data, { mode: 0o750 })
  chownSync(data, uid, gidOf(TEST_USER)) // as scripts/install-station leaves it
  const made = cliAs(TEST_USER, ['ingest', cam], env)
  t.equal(made.code, 0, made.stderr)
  t.same(notOwnedBy(data, uid), [], 'the service user made its vault')
  // Root, from /, with every kind of command that writes: files it makes are the service user's.
  for (const args of [
    ['ingest', cam2],
    ['token', 'create', '--role', 'clerk', '--name', 'desk'],
    ['key', 'show'],
    ['checkpoint'],
    ['verify'],
    ['recordings'],
  ]) {
    const r = cli(args, env, { cwd: '/' })
    t.equal(r.code, 0, `root: ${args.join(' ')}: ${r.stderr}`)
  }
  t.same(notOwnedBy(data, uid), [], 'no file of the vault belongs to root')
  t.equal(statSync(join(data, 'keys', 'station.ed25519')).mode & 0o777, 0o600)
  const doctor = JSON.parse(cli(['doctor', '--json'], env).stdout) as { checks: { check: string; ok: boolean; detail: string }[] }
  const check = (name: string) => doctor.checks.find((c) => c.check === name)
  t.match(check('ownership'), { ok: true, detail: new RegExp(`belong to ${TEST_USER}, the data dir's owner`) })
  t.match(check('station key'), { ok: true, detail: new RegExp(`mode 600, readable by ${TEST_USER}`) })
  t.match(check('days left'), { ok: true, detail: /about \d+ days of footage left at the last 14 days' inflow/ })
  t.match(check('listen'), { ok: true, detail: /is free for the daemon/ })

  // What the issue found: a root-owned folder in the vault (an older bodyvault run as root). doctor names it.
  mkdirSync(join(data, 'objects', 'zz'))
  chmodSync(join(data, 'keys', 'station.ed25519'), 0o640)
  const d2 = cli(['doctor', '--json'], env)
  t.equal(d2.code, 1)
  const c2 = JSON.parse(d2.stdout) as { checks: { check: string; ok: boolean; detail: string }[] }
  t.match(
    c2.checks.find((c) => c.check === 'ownership'),
    {
      ok: false,
      detail: new RegExp(`1 belong to root \\(e\\.g\\. objects/zz\\): the daemon runs as ${TEST_USER} and cannot write them: chown -R ${TEST_USER}: ${data}`),
    },
  )
  t.match(
    c2.checks.find((c) => c.check === 'station key'),
    { ok: false, detail: /mode 640: chmod 600 it/ },
  )
})

t.test('another user is refused with the exact command to run', { skip: why ? `needs a service user: ${why}` : false }, async (t) => {
  const dir = tempDir(t)
  chmodSync(dir, 0o755)
  const data = emptyVault(t, join(dir, 'data'))
  chmodSync(data, 0o755)
  const r = cliAs(TEST_USER, ['recordings', '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(r.code, 3)
  t.match(
    r.stderr,
    new RegExp(
      `^bodyvault: DATA_DIR_OWNER: the data dir ${data} belongs to root and this command runs as ${TEST_USER}: run it as the owner: sudo -u root env (BODYVAULT_CONFIG=\\S+ )?BODYVAULT_DATA_DIR=${data} ${process.execPath} \\S+/bin/bodyvault\\.js recordings --json\\n$`,
    ),
  )
})

t.test('a read-only data dir exits 3', { skip: process.getuid?.() === 0 ? false : 'a read-only bind mount needs root' }, async (t) => {
  const dir = tempDir(t)
  const data = emptyVault(t, join(dir, 'data'))
  const ro = join(dir, 'ro')
  mkdirSync(ro)
  const m = spawnSync('sh', ['-c', `mount --bind ${data} ${ro} && mount -o remount,bind,ro ${ro}`], { encoding: 'utf8' })
  if (m.status !== 0) {
    t.comment(`no read-only bind mount here: ${m.stderr.trim()}`)
    spawnSync('umount', [ro])
    return
  }
  t.teardown(() => void spawnSync('umount', ['-l', ro]))
  const r = cli(['recordings'], { BODYVAULT_DATA_DIR: ro })
  t.match(r, { code: 3, stderr: /^bodyvault: DATA_DIR_READONLY: the data dir \S+ro is on a read-only file system: mount it read-write/ })
  t.match(cli(['ingest', dir], { BODYVAULT_DATA_DIR: ro }), { code: 3, stderr: /DATA_DIR_READONLY/ })
  chownSync(data, 0, 0)
})
