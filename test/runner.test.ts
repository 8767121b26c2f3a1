// The suite's runner (test/runner.ts) is what says "N passed, 0 failed": if
// it counted a failing file as passing, every other test's verdict would be
// worthless. What would make its word false: a failing assertion deep in a
// subtest not counted; a file that passes its assertions and then crashes,
// exits non-zero, is killed, or never prints its plan, called clean; a file
// that hangs holding the suite forever, or leaving its children running;
// Ctrl-C leaving test processes behind. Each is a real file run here.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT, tempDir } from './helpers.js'

const RUNNER = join(ROOT, 'dist', 'test', 'runner.js')
const TAP = JSON.stringify(import.meta.resolve('tap'))

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  out: string
  ms: number
}

function run(args: string[], onSpawn?: (c: ChildProcess) => void): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now()
    const c = spawn(process.execPath, [RUNNER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    c.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s
    })
    c.stderr.setEncoding('utf8').on('data', (s: string) => {
      out += s
    })
    onSpawn?.(c)
    c.on('close', (code, signal) => resolve({ code, signal, out, ms: Date.now() - started }))
  })
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (!alive(pid)) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return !alive(pid)
}

/** A tap test file (ES module) in `dir`. */
function file(dir: string, name: string, body: string): string {
  const p = join(dir, `${name}.test.mjs`)
  writeFileSync(p, `import t from ${TAP}\nimport { spawn } from 'node:child_process'\nimport { writeFileSync } from 'node:fs'\n${body}\n`)
  return p
}

/** A test file's lines that start `sleep 600` in the file's own process group and write its pid to `pidFile`. */
const sleeper = (pidFile: string): string =>
  `const c = spawn('sleep', ['600'], { stdio: 'ignore' })\nc.unref()\nwriteFileSync(${JSON.stringify(pidFile)}, String(c.pid))`

/** `# { total: N, pass: N, ... }` read back. */
const summary = (out: string): Record<string, number> => {
  const m = /^# \{ (.*) \}$/m.exec(out)
  return Object.fromEntries((m?.[1] ?? '').split(', ').map((kv) => [kv.split(': ')[0], Number(kv.split(': ')[1])]))
}

t.test('every assertion is counted, at any depth; a failing one deep in a subtest fails the run', async (t) => {
  const dir = tempDir(t)
  const good = file(dir, 'good', `t.test('a', async (t) => { t.pass('1'); t.test('b', async (t) => { t.ok(true); t.equal(1, 1) }) })\nt.pass('top')`)
  const bad = file(dir, 'bad', `t.test('a', async (t) => { t.test('b', async (t) => { t.pass('fine'); t.equal(1, 2, 'deep and wrong') }) })`)
  const skipped = file(dir, 'skipped', `t.pass('x')\nt.skip('not here')\nt.todo('later')`)
  const ok = await run([good, skipped])
  t.equal(ok.code, 0, 'all good: exit 0')
  t.same(summary(ok.out), { total: 7, pass: 5, skip: 1, todo: 1 }, "tap's count: assertions, not the points closing a subtest")
  const r = await run([good, bad])
  t.equal(r.code, 1, 'a failing assertion: exit 1')
  t.same(summary(r.out), { total: 6, pass: 5, fail: 1 }, 'four good, one good and one bad')
  t.match(r.out, /not ok \d+ - deep and wrong/, 'the failing assertion is shown')
  t.match(r.out, new RegExp(`not ok \\d+ - ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'and its file')
  // A CI log shows its tail: the failures are named again after the last file, before the summary.
  const tail = r.out.slice(r.out.lastIndexOf(`- ${bad} # time=`))
  t.match(tail, `# failed: 1 file(s)\n#   ${bad}\n#     not ok - a > b > deep and wrong (`, 'recapped at the end: the file, the subtests, the name')
  t.match(tail, /deep and wrong \(.*bad\.test\.mjs:\d+\)\n1\.\.2\n# \{ total/, 'and the line of the test')
  t.notMatch(ok.out, /# failed:/, 'no recap when nothing failed')
  console.log(`# runner: a failing assertion two subtests down: exit ${r.code}, ${JSON.stringify(summary(r.out))}`)
})

t.test('a file whose assertions pass but whose process fails is a failure, with the reason and its stderr', async (t) => {
  const dir = tempDir(t)
  const cases: [string, string, RegExp][] = [
    ['exits-3', `t.pass('fine')\nt.teardown(() => { console.error('teardown broke'); process.exitCode = 3 })`, /exited with code 3/],
    ['killed', `t.pass('fine')\nt.teardown(() => process.kill(process.pid, 'SIGKILL'))`, /ended by SIGKILL/],
    ['throws-late', `t.pass('fine')\nt.teardown(() => { setTimeout(() => { throw new Error('after the end') }, 10) })`, /exited with code 1/],
    ['no-plan', `process.stdout.write('TAP version 14\\nok 1 - looks fine\\n')\nprocess.exit(0)`, /incomplete/],
  ]
  for (const [name, body, why] of cases) {
    const f = file(dir, name, body)
    // Not a tap file at all: TAP without its plan.
    if (name === 'no-plan') writeFileSync(f, body)
    const r = await run([f])
    t.equal(r.code, 1, `${name}: exit 1`)
    t.equal(summary(r.out).fail, 1, `${name}: one failure`)
    t.match(r.out, why, `${name}: the reason`)
    console.log(`# runner: ${name}: exit ${r.code}, ${JSON.stringify(summary(r.out))}, ${why.exec(r.out)?.[0]}`)
  }
  const r = await run([join(dir, 'exits-3.test.mjs')])
  t.match(r.out, /# its stderr:\n\s+# teardown broke/, "a failing file's stderr is printed")
  t.match(r.out, /# failed: 1 file\(s\)\n# {3}\S+exits-3\.test\.mjs: exited with code 3\n/, 'recapped with its reason')
})

t.test('a file that hangs is stopped at its timeout, and the processes it started with it', async (t) => {
  const dir = tempDir(t)
  const pidFile = join(dir, 'child.pid')
  // Ignores SIGTERM and keeps its event loop busy: only the runner's kill of its process group ends it.
  const hang = file(
    dir,
    'hang',
    `process.on('SIGTERM', () => {})\nt.pass('started')\n${sleeper(pidFile)}\nsetInterval(() => {}, 1000)\nawait new Promise(() => {})`,
  )
  const r = await run(['--timeout', '1', hang])
  t.equal(r.code, 1, 'a hung file fails the run')
  t.ok(r.ms < 30_000, `stopped in ${r.ms} ms, not left running`)
  t.ok(existsSync(pidFile), 'it had started a child')
  const pid = Number(readFileSync(pidFile, 'utf8'))
  t.ok(await gone(pid, 5000), `its child (pid ${pid}) was killed with it`)
  console.log(`# runner: a file hung with a child, --timeout 1: exit ${r.code} after ${r.ms} ms; child ${alive(pid) ? 'ALIVE' : 'gone'}`)
})

t.test('a file that ends and leaves a process running: that process is stopped, not left beside the next files', async (t) => {
  const dir = tempDir(t)
  const pidFile = join(dir, 'left.pid')
  const leaves = file(dir, 'leaves', `t.pass('fine')\n${sleeper(pidFile)}`)
  const r = await run([leaves])
  t.equal(r.code, 0, 'the file itself passed')
  const pid = Number(readFileSync(pidFile, 'utf8'))
  t.ok(await gone(pid, 8000), `what it left (pid ${pid}) is gone`)
  console.log(`# runner: a passing file left a child running: ${alive(pid) ? 'ALIVE' : 'stopped'} after the run`)
})

t.test('Ctrl-C stops the run and every running file with the processes it started', async (t) => {
  const dir = tempDir(t)
  const pids = [join(dir, 'a.pid'), join(dir, 'b.pid')]
  const files = pids.map((p, i) => file(dir, `long${i}`, `t.pass('started')\n${sleeper(p)}\nawait new Promise(() => {})`))
  const r = await run(['--jobs', '2', ...files], (c) => {
    const wait = setInterval(() => {
      if (pids.every((p) => existsSync(p))) {
        clearInterval(wait)
        c.kill('SIGINT')
      }
    }, 25)
  })
  t.equal(r.code, 130, 'exit 130, as a shell reports Ctrl-C')
  for (const p of pids) {
    const pid = Number(readFileSync(p, 'utf8'))
    t.ok(await gone(pid, 5000), `the child a running file started (pid ${pid}) is gone`)
  }
  console.log(`# runner: Ctrl-C with 2 files running: exit ${r.code} after ${r.ms} ms`)
})

t.test('bad options are refused with the usage, before any file runs', async (t) => {
  for (const args of [['--jobs', '0', 'x.test.js'], ['--timeout', 'soon', 'x.test.js'], ['--what'], []]) {
    const r = await run(args)
    t.equal(r.code, 2, `${args.join(' ') || '(nothing)'}: exit 2`)
    t.match(r.out, /usage: node dist\/test\/runner\.js/)
  }
})
