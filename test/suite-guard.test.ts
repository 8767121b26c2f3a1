// The suite never touches the host's own cameras: every bodyvault child
// process goes through test/helpers.ts (spawnCli, cli), which pins its
// configuration and refuses one that watches /media or /run/media; every
// in-process station or daemon is built from testConfig / daemonConfig,
// which refuse the same. This file proves both guards bite.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../src/config/load.js'
import { assertPinned, childEnv, cli, ROOT, tempDir, nodeCommand, testConfig, withoutTapHooks } from './helpers.js'

t.test('no test file starts bodyvault except through the pinned helpers', async (t) => {
  const offenders: string[] = []
  for (const f of readdirSync(join(ROOT, 'test')).filter((n) => n.endsWith('.ts') && n !== 'helpers.ts')) {
    const text = readFileSync(join(ROOT, 'test', f), 'utf8')
    if (/spawn(Sync)?\(\s*process\.execPath,\s*\[\s*join\(ROOT,\s*'bin\/bodyvault\.js'\)/.test(text)) offenders.push(f)
  }
  t.same(offenders, [], 'every child goes through spawnCli or cli')
})

t.test('a configuration that watches the host mount roots is refused, in process and for children', async (t) => {
  const defaults = loadConfig({ env: { BODYVAULT_SYSTEM_CONFIG: 'none' } })
  t.ok(
    defaults.docking.mountRoots.some((r) => r === '/media'),
    'the shipped defaults do watch /media (what a station wants, what a test must not)',
  )
  t.throws(() => assertPinned(defaults, 'the defaults'), /would watch the host's mount roots \(\/media, \/run\/media\)/)
  t.throws(() => assertPinned({ docking: { ...defaults.docking, mountRoots: ['/run/media/officer'] } }, 'x'), /\/run\/media\/officer/)
  const dir = tempDir(t)
  const cfgFile = join(dir, 'unpinned.json')
  writeFileSync(cfgFile, JSON.stringify({ docking: { mountRoots: ['/media'] } }))
  t.throws(() => childEnv({ BODYVAULT_CONFIG: cfgFile }, ['start']), /bodyvault start would watch the host's mount roots/)
  t.throws(() => cli(['start', '--config', cfgFile]), /would watch the host's mount roots/, 'cli() refuses before spawning')
  t.doesNotThrow(() => assertPinned(testConfig(join(dir, 'data')), 'testConfig'), 'testConfig pins its own roots')
  const env = childEnv({})
  const pinned = loadConfig({ file: env.BODYVAULT_CONFIG, env })
  t.notOk(
    pinned.docking.mountRoots.some((r) => r.startsWith('/media') || r.startsWith('/run/media')),
    'a child with no config of its own gets the pinned one',
  )
})

t.test("no test or bench reads a configuration that could pick up the host's /etc/bodyvault/config.json", async (t) => {
  const offenders: string[] = []
  for (const dir of ['test', 'bench']) {
    for (const f of readdirSync(join(ROOT, dir)).filter((n) => n.endsWith('.ts') && n !== 'helpers.ts')) {
      readFileSync(join(ROOT, dir, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // Every call names the system config (BODYVAULT_SYSTEM_CONFIG, NO_SYSTEM_CONFIG) or a config file of its own (file: ...).
          if (/\bloadConfig(WithSources)?\(/.test(line) && !/import|system_?config|\bfile\b/i.test(line)) offenders.push(`${dir}/${f}:${i + 1}`)
        })
    }
  }
  t.same(offenders, [], 'loadConfig calls with the system config pinned')
})

t.test("a child runs without tap's process-info hook (0.4 CPU-s a CLI run); other node options stay", async (t) => {
  // The suite's runner (test/runner.ts) puts no hook anywhere; `npx tap test/x.test.ts` does, in NODE_OPTIONS, and puts
  // it back at every plain spawn: then withoutTapHooks and nodeCommand keep it out of bodyvault's children.
  const underTap = /--import=\S*@tapjs\/processinfo\//.test(process.env.NODE_OPTIONS ?? '')
  if (!underTap) t.notMatch([...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '), /@tapjs/, "the suite's runner adds no tap hook")
  const hook = '--import=file:///x/node_modules/@tapjs/processinfo/dist/esm/import.mjs'
  t.equal(withoutTapHooks(`${hook} --max-old-space-size=512 --import=./mine.mjs`), '--max-old-space-size=512 --import=./mine.mjs')
  t.equal(withoutTapHooks(`--max-old-space-size=512 "${hook}"`), '--max-old-space-size=512', 'quoted, as tap writes it')
  t.equal(withoutTapHooks(`"${hook}"`), undefined, 'nothing left: no NODE_OPTIONS at all')
  t.equal(withoutTapHooks(undefined), undefined)
  const show = ['-p', "process.env.NODE_OPTIONS ?? 'unset'"]
  if (underTap) {
    const plain = spawnSync(process.execPath, show, { env: childEnv({}), encoding: 'utf8' })
    t.match(plain.stdout, /@tapjs\/processinfo/, 'a child spawned plainly gets the hook back from tap (why nodeCommand goes through env)')
  }
  const r = spawnSync(...nodeCommand(show, childEnv({})), { env: childEnv({}), encoding: 'utf8' })
  t.equal(r.stdout.trim(), 'unset', 'a child through nodeCommand (as cli and spawnCli start bodyvault) sees no NODE_OPTIONS')
  const tapped = childEnv({ NODE_OPTIONS: `--max-old-space-size=256 "${hook}"` })
  const own = spawnSync(...nodeCommand(show, tapped), { env: tapped, encoding: 'utf8' })
  t.equal(own.stdout.trim(), '--max-old-space-size=256', "a test's own node options reach the child, tap's hook does not")
})
