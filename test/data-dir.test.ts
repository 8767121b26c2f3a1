// Issue 15, "where the vault is": which config and which data dir every
// command uses, and that a command that only reads never makes a vault.
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { configFile, loadConfig, loadConfigWithSources, SYSTEM_CONFIG } from '../src/config/load.js'
import { childEnv, cli, defaultConfig, emptyVault, NO_SYSTEM_CONFIG, ROOT, tempDir, testConfig } from './helpers.js'

t.test('read-only commands never make a data dir: exit 3 naming the path, how it was chosen and how to point elsewhere', async (t) => {
  const dir = tempDir(t)
  const nowhere = join(dir, 'no-vault-here')
  for (const args of [
    ['recordings'],
    ['verify'],
    ['token', 'list'],
    ['case', 'list'],
    ['key', 'show'],
    ['media', 'status'],
    ['retention', 'plan'],
    ['backup', join(dir, 'b')],
  ]) {
    const r = cli(args, { BODYVAULT_DATA_DIR: nowhere })
    t.equal(r.code, 3, `${args.join(' ')}: exit 3`)
    t.match(
      r.stderr,
      /^bodyvault: DATA_DIR_MISSING: no vault at \S*no-vault-here \(BODYVAULT_DATA_DIR\); nothing was created: use --config FILE, BODYVAULT_CONFIG or BODYVAULT_DATA_DIR/,
    )
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
  }
  t.notOk(existsSync(nowhere), 'no folder was made')
  // An existing folder without a vault (a wrong BODYVAULT_DATA_DIR, /var/lib/bodyvault before the first start) stays as it was.
  const empty = join(dir, 'empty')
  mkdirSync(empty)
  t.match(cli(['recordings'], { BODYVAULT_DATA_DIR: empty }), { code: 3, stderr: /DATA_DIR_MISSING: \S*empty \(BODYVAULT_DATA_DIR\) holds no vault/ })
  t.same(readdirSync(empty), [], 'nothing was made inside it')
  // Writers that make a vault where they are told to: ingest (start and reindex too).
  const cam = join(dir, 'cam', 'DCIM')
  mkdirSync(cam, { recursive: true })
  writeFileSync(join(cam, 'A1B2C3D_012345_20261120080000_0001.MP4'), Buffer.alloc(1000, 7))
  t.equal(cli(['ingest', join(dir, 'cam')], { BODYVAULT_DATA_DIR: empty }).code, 0)
  t.ok(existsSync(join(empty, 'catalog.db')), 'ingest made the vault')
  t.match(cli(['recordings'], { BODYVAULT_DATA_DIR: empty }), { code: 0, stdout: /1 recording\(s\)/ }, 'and now the readers find it')
})

t.test('a relative dataDir in a config file is relative to that file, whatever the current folder', async (t) => {
  const dir = tempDir(t)
  const etc = join(dir, 'etc')
  mkdirSync(etc)
  const file = join(etc, 'config.json')
  writeFileSync(file, JSON.stringify({ dataDir: '../vault', docking: { mountRoots: [join(dir, 'roots')], profilesDir: '../profiles' } }))
  for (const cwd of ['/', dir, etc]) {
    const { config, sources } = loadConfigWithSources({ file, cwd, env: { ...NO_SYSTEM_CONFIG } })
    t.equal(config.dataDir, join(dir, 'vault'), `from ${cwd}`)
    t.equal(config.docking.profilesDir, join(dir, 'profiles'))
    t.equal(sources.dataDirFrom, `dataDir in ${file}`)
  }
  // A relative --config is relative to the current folder; BODYVAULT_DATA_DIR too.
  t.equal(loadConfig({ file: 'etc/config.json', cwd: dir, env: { ...NO_SYSTEM_CONFIG } }).dataDir, join(dir, 'vault'))
  t.equal(loadConfig({ file, cwd: '/srv', env: { ...NO_SYSTEM_CONFIG, BODYVAULT_DATA_DIR: 'here' } }).dataDir, '/srv/here')
  // The same through the CLI, run from another folder.
  cpSync(join(ROOT, 'docking'), join(dir, 'profiles'), { recursive: true })
  emptyVault(t, join(dir, 'vault'))
  t.match(
    cli(['recordings'], { BODYVAULT_CONFIG: file }, { cwd: '/' }),
    { code: 0, stdout: /0 recording\(s\)/ },
    'run from / it finds the vault beside its config',
  )
})

t.test("with no config file at all, the vault is the installation's data folder, whatever the current folder", async (t) => {
  for (const cwd of ['/', '/tmp', ROOT]) {
    const { config, sources } = loadConfigWithSources({ cwd, env: { ...NO_SYSTEM_CONFIG } })
    t.equal(config.dataDir, join(ROOT, 'data'), `from ${cwd}`)
    t.match(sources, { file: null, dataDirFrom: /installation's data folder/ })
  }
})

t.test('the system config is found by default when it exists; --config and BODYVAULT_CONFIG win; tests turn it off', async (t) => {
  t.equal(SYSTEM_CONFIG, '/etc/bodyvault/config.json')
  const dir = tempDir(t)
  const sys = join(dir, 'etc-bodyvault-config.json')
  // BODYVAULT_SYSTEM_CONFIG stands in for /etc/bodyvault/config.json, which a test may not write.
  const systemConfig = { BODYVAULT_SYSTEM_CONFIG: sys }
  t.equal(configFile({ env: systemConfig }), null, 'absent: the defaults alone')
  writeFileSync(sys, JSON.stringify({ dataDir: '/var/lib/bodyvault', station: { id: 'installed' } }))
  const c = loadConfigWithSources({ env: systemConfig })
  t.equal(c.config.dataDir, '/var/lib/bodyvault', 'present: it names the vault')
  t.equal(c.config.station.id, 'installed')
  t.equal(c.sources.file, sys)
  const other = join(dir, 'other.json')
  writeFileSync(other, JSON.stringify({ dataDir: '/srv/other' }))
  t.equal(loadConfig({ env: { ...systemConfig, BODYVAULT_CONFIG: other } }).dataDir, '/srv/other', 'BODYVAULT_CONFIG wins')
  t.equal(loadConfig({ file: other, env: systemConfig }).dataDir, '/srv/other', '--config wins')
  t.equal(configFile({ env: { BODYVAULT_SYSTEM_CONFIG: 'none' } }), null, '"none" turns it off')
  // The suite's own configurations never read it: in process, and for every child.
  t.equal(defaultConfig().station.id, 'station-01')
  t.equal(testConfig(join(dir, 'd')).station.id, 'test-station')
  t.equal(childEnv({}).BODYVAULT_SYSTEM_CONFIG, 'none')
})

t.test('a bad environment variable is named as the variable', async (t) => {
  const noSystemConfig = { ...NO_SYSTEM_CONFIG, BODYVAULT_LISTEN: 'nonsense' }
  t.throws(() => loadConfig({ env: noSystemConfig }), /BODYVAULT_LISTEN="nonsense": must be host:port, e\.g\. 127\.0\.0\.1:8080/)
  t.throws(
    () => loadConfig({ env: { ...NO_SYSTEM_CONFIG, BODYVAULT_LISTEN: '127.0.0.1:99999' } }),
    /BODYVAULT_LISTEN="127\.0\.0\.1:99999": port 99999 is out of range/,
  )
  t.throws(() => loadConfig({ env: { ...NO_SYSTEM_CONFIG, BODYVAULT_LOG_LEVEL: 'loud' } }), /BODYVAULT_LOG_LEVEL="loud": must be one of fatal, error/)
  const r = cli(['recordings'], { BODYVAULT_LISTEN: 'nonsense' })
  t.match(r, { code: 2, stderr: /^bodyvault: CONFIG_INVALID: .*BODYVAULT_LISTEN="nonsense": must be host:port/ })
})

t.test('backup.schedule and backup.target come together, and the schedule is checked', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'c.json')
  const load = (backup: unknown) => {
    writeFileSync(file, JSON.stringify({ backup }))
    return loadConfig({ file, env: { ...NO_SYSTEM_CONFIG } })
  }
  t.throws(() => load({ schedule: '0 3 * * *' }), /set both backup\.schedule .* and backup\.target/)
  t.throws(() => load({ schedule: 'nightly', target: '/mnt/nas' }), /backup\.schedule: "nightly" is not a cron expression/)
  t.equal(load({ schedule: '0 3 * * *', target: 'nas/bodyvault' }).backup.target, join(dir, 'nas/bodyvault'), 'a relative target is relative to the file')
})
