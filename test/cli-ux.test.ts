// Issue 15, "a CLI people enjoy": --help with examples for every command,
// "did you mean", one-line errors with stable codes and no stack trace
// unless --verbose, parseArgs' messages said our way, EPIPE ends quietly,
// status --watch on a terminal, human logs on a terminal and JSON lines
// otherwise, a backup's progress bar, Ctrl-C during ingest, the apt lock, setup rebuilding only
// what changed.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { COMMANDS, main } from '../src/cli/main.js'
import { io } from '../src/cli/common.js'
import { HELP } from '../src/cli/help.js'
import { freePort } from './daemon-support.js'
import { cli, emptyVault, makeCamera, ROOT, tempDir } from './helpers.js'
import { cliOnTty, cliPiped } from './ops-support.js'

/** main() in this process, its output captured (no station is opened by what these cases run). */
async function run(argv: string[]): Promise<{ code?: number; out: string; error?: { code: string; message: string } }> {
  let out = ''
  const saved = io.stdout
  io.stdout = (s) => {
    out += s
  }
  try {
    return { code: await main(argv), out }
  } catch (err) {
    return { out, error: err as { code: string; message: string } }
  } finally {
    io.stdout = saved
  }
}

t.test('--help for every command: usage, what it does, examples', async (t) => {
  t.same(
    COMMANDS.map((c) => c.name).filter((n) => !HELP[n]),
    [],
    'every command has its help entry',
  )
  for (const c of COMMANDS) {
    const r = await run([c.name, '--help'])
    t.equal(r.code, 0, `${c.name} --help`)
    t.match(
      r.out,
      new RegExp(`^Usage: bodyvault ${c.name}\\b[\\s\\S]*\\n\\n\\S[\\s\\S]*\\nExamples:\\n  .*bodyvault ${c.name}\\b`),
      `${c.name}: usage, summary, examples`,
    )
    t.equal((await run(['help', c.name])).out, r.out, `help ${c.name} says the same`)
  }
  t.match((await run(['case', 'list', '-h'])).out, /^Usage: bodyvault case create/, '-h after a subcommand too')
})

t.test('did you mean: commands and options', async (t) => {
  t.match((await run(['stauts'])).error, { code: 'USAGE', message: 'unknown command "stauts": did you mean "status"? (bodyvault help lists every command)' })
  t.match((await run(['recordigns'])).error, { message: /did you mean "recordings"\?/ })
  t.match((await run(['bakup'])).error, { message: /did you mean "backup"\?/ })
  t.notMatch((await run(['frobnicate'])).error?.message ?? '', /did you mean/, 'nothing near: no guess')
  t.match((await run(['ingest', '/tmp', '--jsno'])).error, {
    code: 'USAGE',
    message: 'ingest: unknown option --jsno: did you mean --json? (see bodyvault ingest --help)',
  })
  t.match((await run(['recordings', '--oficer', '012345'])).error, { message: /unknown option --oficer: did you mean --officer\?/ })
  t.match((await run(['status', '--wacth'])).error, { message: /did you mean --watch\?/ })
})

t.test("parseArgs' messages, said our way", async (t) => {
  t.match((await run(['recordings', '--config'])).error, { code: 'USAGE', message: 'recordings: --config needs a value (see bodyvault recordings --help)' })
  t.match((await run(['status', '--watch=yes'])).error, { message: 'status: --watch takes no value (see bodyvault status --help)' })
  for (const argv of [
    ['ingest', '--x'],
    ['recordings', '--limit'],
    ['verify', '--json=1'],
  ]) {
    const m = (await run(argv)).error?.message ?? ''
    t.notMatch(m, /To specify a positional argument|Option '|argument missing/, `${argv.join(' ')}: ${m}`)
  }
})

t.test('errors are one line with a stable code; a stack trace only with --verbose', async (t) => {
  const dir = tempDir(t)
  const missing = cli(['ingest', join(dir, 'nonexistent')])
  t.match(missing, { code: 2, stderr: /^bodyvault: INGEST_SOURCE: \S+nonexistent: no such folder: give the folder of a mounted camera\n$/ })
  t.notOk(existsSync(join(ROOT, 'data', 'catalog.db')) && statSync(join(ROOT, 'data', 'catalog.db')).mtimeMs > Date.now() - 60_000, 'no vault was made for it')
  const file = join(dir, 'file')
  writeFileSync(file, 'x')
  t.match(cli(['ingest', file]), { code: 2, stderr: /^bodyvault: INGEST_SOURCE: \S+ is not a folder/ })
  t.match(cli(['frobnicate']), { code: 2, stderr: /^bodyvault: USAGE: unknown command "frobnicate" \(bodyvault help lists every command\)\n$/ })
  // A catalog that is not a database: the way out (issue 12), never a stack trace.
  const data = join(dir, 'data')
  mkdirSync(data)
  writeFileSync(join(data, 'catalog.db'), 'this is not SQLite, not at all, and long enough to have a header'.repeat(4))
  const bad = cli(['recordings'], { BODYVAULT_DATA_DIR: data })
  t.equal(bad.code, 3)
  t.match(bad.stderr, /^bodyvault: CATALOG_CORRUPT: the catalog \S+catalog\.db is damaged \(file is not a database\): .*reindex --from-s3\n$/)
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace')
  t.match(
    cli(['recordings', '--verbose'], { BODYVAULT_DATA_DIR: data }).stderr,
    /CATALOG_CORRUPT: .*\n.*file is not a database\n\s+at /,
    '--verbose: the stack of its cause',
  )
})

t.test('a reader that goes away ends the command quietly (EPIPE)', async (t) => {
  const env = { BODYVAULT_LISTEN: `127.0.0.1:${await freePort()}`, BODYVAULT_DATA_DIR: tempDir(t) }
  // --watch writes again and again: the second write meets a closed pipe.
  const r = cliPiped(['status', '--watch', '--interval', '0.2', '--json'], env, 'head -1')
  t.equal(r.code, 0)
  t.match(r.stdout, /^\{"error":\{"code":"NO_DAEMON"/)
  t.equal(r.stderr, '', 'nothing on stderr')
  const h = cliPiped(['help'], {}, 'head -1')
  t.match(h, { code: 0, stdout: 'bodyvault: body-camera ingest and evidence vault\n', stderr: '' })
})

const noScript = spawnSync('sh', ['-c', 'command -v script']).status !== 0 ? 'script(1) is not installed' : false
t.test('on a terminal: status --watch redraws until q; human log lines; Ctrl-C during ingest', { skip: noScript }, async (t) => {
  const dir = tempDir(t)
  const env = { BODYVAULT_LISTEN: `127.0.0.1:${await freePort()}`, BODYVAULT_DATA_DIR: join(dir, 'data') }
  const w = await cliOnTty(['status', '--watch', '--interval', '0.3'], env, [{ afterOutput: /(q to quit[\s\S]*){3}/, text: 'q' }], 30_000)
  t.equal(w.code, 0, 'q ends it, exit 0')
  t.ok(w.output.split('\u001b[2J').length >= 4, 'the screen is redrawn')
  t.match(
    w.output,
    /every 0\.3s, q to quit\s+NO_DAEMON: no bodyvault daemon is running at http:\/\/127\.0\.0\.1:\d+/,
    'a daemon that is not there is shown, not fatal',
  )
  const c = await cliOnTty(['status', '--watch', '--interval', '0.3'], env, [{ afterOutput: /q to quit/, text: '\u0003' }], 30_000)
  t.equal(c.code, 0, 'Ctrl-C ends it too')

  // Log lines: JSON lines into a pipe, one human line per event on a terminal.
  const cam = await makeCamera(join(dir, 'cam'), ['--count', '6'])
  const piped = cli(['ingest', cam, '--verbose'], { BODYVAULT_DATA_DIR: join(dir, 'd1') })
  t.equal(piped.code, 0)
  const lines = piped.stderr.split('\n').filter(Boolean)
  t.ok(lines.length > 3 && lines.every((l) => l.startsWith('{"level":')), 'stderr is JSON lines when it is not a terminal')
  const tty = await cliOnTty(['ingest', cam, '--verbose'], { BODYVAULT_DATA_DIR: join(dir, 'd2') })
  t.equal(tty.code, 0, tty.output)
  t.match(tty.output, /DEBUG|INFO/, 'log lines on the terminal')
  t.notMatch(tty.output, /^\{/m, 'and none of them JSON')
  // A backup on a terminal draws its progress bar (objects and bytes), then its one-line summary.
  const bk = await cliOnTty(['backup', join(dir, 'backup')], { BODYVAULT_DATA_DIR: join(dir, 'd2') })
  t.equal(bk.code, 0, bk.output)
  t.match(bk.output, /100% \| \d+\/\d+ objects \| /, 'a progress bar on the terminal')
  t.match(bk.output, /full backup of the ledger through event \d+/)

  // Ctrl-C in the middle of an ingest: the file in flight rolls back, exit 130, and no JSON among the human lines.
  const big = await makeCamera(join(dir, 'big'), ['--count', '6', '--size', '400M'])
  const i = await cliOnTty(['ingest', big], { BODYVAULT_DATA_DIR: join(dir, 'd3') }, [{ afterOutput: /\d+%/, text: '\u0003' }], 120_000)
  t.equal(i.code, 130, `interrupted: ${i.output.slice(-300)}`)
  t.notMatch(i.output, /^\s*\{/m, 'no JSON log line')
  t.match(i.output, /incomplete/)
})

t.test('the scripts: waiting for the apt lock; setup rebuilds nothing when nothing changed', async (t) => {
  const dir = tempDir(t)
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  // A stand-in apt-get (the host's real package lock is shared with everyone on it): locked twice, then it installs.
  writeFileSync(
    join(bin, 'apt-get'),
    `#!/bin/sh\nn=$(cat ${dir}/count 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/count\necho "apt-get $*" >> ${dir}/calls\nif [ "$n" -lt 2 ]; then echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2; exit 100; fi\nexit 0\n`,
  )
  chmodSync(join(bin, 'apt-get'), 0o755)
  const r = spawnSync('bash', ['-c', `SUDO=; . ${join(ROOT, 'scripts', 'lib', 'apt.sh')}; apt_install ffmpeg`], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, APT_LOCK_POLL: '1' },
  })
  t.equal(r.status, 0, r.stderr)
  t.equal((r.stderr.match(/waiting for another apt or dpkg to finish/g) ?? []).length, 2, 'it waited twice, saying so')
  t.match(r.stderr, /installing ffmpeg from Debian's packages/)

  const stamp = join(ROOT, 'dist', '.build-stamp')
  const stale = spawnSync('sh', ['-c', `[ ! -f ${stamp} ] || [ -n "$(find src bench tsconfig.json package-lock.json -newer ${stamp} -print -quit)" ]`], {
    cwd: ROOT,
  })
  if (stale.status === 0) {
    t.comment('dist/ is older than the sources here: the no-rebuild case needs scripts/setup first')
    return
  }
  const setup = spawnSync('bash', [join(ROOT, 'scripts', 'setup')], { encoding: 'utf8', cwd: '/' })
  t.equal(setup.status, 0, setup.stderr)
  t.notMatch(setup.stderr, /compiling TypeScript|installing npm dependencies/, 'nothing to rebuild, nothing rebuilt')
})

t.test('writers beside each other still find one vault: token create into an existing vault', async (t) => {
  const data = emptyVault(t)
  t.equal(cli(['token', 'create', '--role', 'clerk', '--name', 'desk'], { BODYVAULT_DATA_DIR: data }).code, 0)
})
