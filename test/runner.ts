/**
 * The suite's runner: each compiled test file (dist/test/*.test.js) in its
 * own `node` process, `--jobs` at a time, its TAP counted by tap-parser, and
 * at the end tap's summary line (`# { total: N, pass: N, fail: N }`), which
 * scripts/test reads. The test files are tap tests and stay runnable by
 * `npx tap` one at a time.
 *
 * Why not tap's own runner: tap 21 starts every test process with
 * `--import` of @tapjs/processinfo (coverage bookkeeping: every module the
 * test loads is sent from an off-thread loader and its line lengths
 * recorded; it cannot be turned off) and of @tapjs/mock's loader. Measured
 * 2026-12-01 on api-compliance, 3 runs each: 2.8 s wall, 3.7 CPU-s run by
 * node alone; 4.1-4.4 s and 5.7-6.0 CPU-s with both hooks. No test uses
 * coverage or t.mockImport.
 *
 * What it keeps of tap's runner: files in the order given, `--jobs` at
 * once; a file's own timeout (TAP_TIMEOUT, read by tap inside the test,
 * which then prints the handles still open) and, up to a minute later,
 * the file's whole process group killed; a file whose process fails after its
 * assertions passed (a crash in teardown, a signal, no plan) counts as one
 * failure; Ctrl-C stops every file's process group. One thing more: when
 * a file's process ends, what it left running in its process group (a
 * daemon its teardown missed) is stopped, SIGTERM then SIGKILL 5 s later,
 * instead of running on beside the next files.
 *
 * Output: each file's TAP as it ends, indented under `ok N - file` or
 * `not ok N - file`; a failing file's stderr after it (a passing file's
 * stderr is dropped: daemons' warnings, ffmpeg's banners). After the last
 * file, when any failed, a recap: each failing file with its reason and its
 * failed assertions (subtests, name, the test's line), so that the tail of a
 * long log (what CI keeps) names what failed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Parser, type Result } from 'tap-parser'

interface Options {
  files: string[]
  jobs: number
  timeoutSec: number
  nodeArgs: string[]
}

interface FileResult {
  file: string
  ok: boolean
  pass: number
  fail: number
  skip: number
  todo: number
  ms: number
  /** Why the file failed when no assertion did (exit code, signal, timeout, no plan); '' otherwise. */
  why: string
  /** Each failed assertion: its full name (subtests joined by ' > ') and where, for the recap at the end. */
  failures: string[]
  tap: string
  stderr: string
}

const USAGE = 'usage: node dist/test/runner.js [--jobs N] [--timeout SECONDS] [--node-arg=ARG ...] FILE...'

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { files: [], jobs: Math.min(2, availableParallelism()), timeoutSec: 900, nodeArgs: [] }
  const int = (name: string, v: string | undefined): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a whole number above 0, got ${String(v)}\n${USAGE}`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--jobs' || a === '-j') o.jobs = int(a, argv[++i])
    else if (a.startsWith('--jobs=')) o.jobs = int('--jobs', a.slice(7))
    else if (a === '--timeout') o.timeoutSec = int(a, argv[++i])
    else if (a.startsWith('--timeout=')) o.timeoutSec = int('--timeout', a.slice(10))
    else if (a === '--node-arg') o.nodeArgs.push(argv[++i] ?? '')
    else if (a.startsWith('--node-arg=')) o.nodeArgs.push(a.slice(11))
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`)
    else o.files.push(a)
  }
  if (o.files.length === 0) throw new Error(`no test files given\n${USAGE}`)
  return o
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n')

/** Runs one file to its end; `running` holds its process while it runs (for Ctrl-C). */
function runFile(file: string, childId: number, o: Options, running: Set<ChildProcess>): Promise<FileResult> {
  return new Promise((resolve) => {
    const started = performance.now()
    const parser = new Parser()
    // tap's count: the assertions at every depth, not the points that close a subtest.
    const n = { pass: 0, fail: 0, skip: 0, todo: 0 }
    const failures: string[] = []
    const count = (p: Parser): void => {
      p.on('assert', (a: Result) => {
        if (a.closingTestPoint) return
        if (a.todo) n.todo++
        else if (a.skip) n.skip++
        else if (a.ok) n.pass++
        else {
          n.fail++
          failures.push(failureLine(a))
        }
      })
      p.on('child', count)
    }
    count(parser)
    const out: string[] = []
    const err: string[] = []
    // Its own process group (detached), so that a timeout or Ctrl-C reaches the daemons and tools it started.
    const child = spawn(process.execPath, [...o.nodeArgs, file], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TAP: '1', TAP_CHILD_ID: String(childId), TAP_TIMEOUT: String(o.timeoutSec) },
    })
    running.add(child)
    let timedOut = false
    // tap inside the file ends it at its timeout; this is for a file that does not end then.
    const grace = Math.min(60, o.timeoutSec)
    const killer = setTimeout(
      () => {
        timedOut = true
        killGroup(child, 'SIGKILL')
      },
      (o.timeoutSec + grace) * 1000,
    )
    let leftovers: NodeJS.Timeout | undefined
    child.on('exit', () => {
      clearTimeout(killer)
      // What the file left running in its group (a daemon its teardown missed): stopped now, not after the suite.
      killGroup(child, 'SIGTERM')
      leftovers = setTimeout(() => killGroup(child, 'SIGKILL'), 5000)
    })
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (s: string) => {
      out.push(s)
      parser.write(s)
    })
    child.stderr.on('data', (s: string) => err.push(s))
    child.on('error', (e) => err.push(`could not start node: ${e.message}\n`))
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      clearTimeout(leftovers)
      running.delete(child)
      parser.end()
      const r = parser.results ?? undefined
      const { pass, fail } = n
      let why = ''
      if (timedOut) why = `killed ${o.timeoutSec + grace} s after it started (its own timeout is ${o.timeoutSec} s)`
      else if (signal) why = `ended by ${signal}`
      else if (code !== 0) why = `exited with code ${String(code)}`
      else if (!r?.ok) why = r?.bailout ? `bailed out: ${String(r.bailout)}` : 'its TAP is incomplete (no plan, or a failure)'
      resolve({
        file,
        ok: why === '' && fail === 0,
        pass,
        fail,
        skip: n.skip,
        todo: n.todo,
        ms: performance.now() - started,
        why: fail > 0 ? '' : why,
        failures,
        tap: out.join(''),
        stderr: err.join(''),
      })
    })
  })
}

/** One failed assertion in a line: its subtests and name, and the test's own line when tap's diagnostic names it. */
function failureLine(a: Result): string {
  const name = a.fullname.replace(/ > $/, '') || a.name || '(no name)'
  const at = (a.diag as { at?: { fileName?: string; lineNumber?: number } } | null)?.at
  return at?.fileName ? `${name} (${at.fileName}:${String(at.lineNumber ?? '?')})` : name
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // Already gone.
  }
}

/** The failures again, a few lines a file (the first 10 assertions), as TAP comments; '' when none failed. */
function recap(failed: readonly FileResult[]): string {
  if (failed.length === 0) return ''
  const lines = [`# failed: ${failed.length} file(s)`]
  for (const r of failed) {
    lines.push(`#   ${r.file}${r.why ? `: ${r.why}` : ''}`)
    for (const f of r.failures.slice(0, 10)) lines.push(`#     not ok - ${f}`)
    if (r.failures.length > 10) lines.push(`#     and ${r.failures.length - 10} more`)
  }
  return `${lines.join('\n')}\n`
}

async function main(argv: readonly string[]): Promise<number> {
  let o: Options
  try {
    o = parseArgs(argv)
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`)
    return 2
  }
  const started = performance.now()
  const running = new Set<ChildProcess>()
  let stopping = false
  // SIGTERM to every running file's group; what is still there 5 s later, SIGKILL; no file started after.
  const stop = (signal: NodeJS.Signals): void => {
    stopping = true
    process.stdout.write(`# stopped by ${signal}\n`)
    for (const c of running) killGroup(c, 'SIGTERM')
    const end = Date.now() + 5000
    const poll = setInterval(() => {
      if (running.size > 0 && Date.now() < end) return
      for (const c of running) killGroup(c, 'SIGKILL')
      clearInterval(poll)
      process.exit(130)
    }, 50)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stdout.write(`TAP version 14\n# ${o.files.length} files, ${o.jobs} at a time, node ${process.version}\n`)
  const totals = { pass: 0, fail: 0, skip: 0, todo: 0 }
  // The failing files, in the order they ended, recapped before the summary: a CI log's tail then names them.
  const failed: FileResult[] = []
  let done = 0
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < o.files.length && !stopping) {
      const i = next++
      const r = await runFile(o.files[i]!, i + 1, o, running)
      if (stopping) return
      done++
      totals.pass += r.pass
      totals.fail += r.fail + (r.why ? 1 : 0)
      totals.skip += r.skip
      totals.todo += r.todo
      const tap = r.tap.replace(/^TAP version \d+\n/, '').trimEnd()
      let text = `${indent(tap)}\n${r.ok ? 'ok' : 'not ok'} ${done} - ${r.file} # time=${r.ms.toFixed(3)}ms\n`
      if (r.why) text += `    # ${r.why}\n`
      if (!r.ok && r.stderr.trim()) text += `    # its stderr:\n${indent(r.stderr.trimEnd().replace(/^/gm, '# '))}\n`
      process.stdout.write(`${text}\n`)
      if (!r.ok) failed.push(r)
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.jobs, o.files.length) }, worker))
  const total = totals.pass + totals.fail + totals.skip + totals.todo
  process.stdout.write(recap(failed))
  const parts = [`total: ${total}`, `pass: ${totals.pass}`]
  if (totals.fail) parts.push(`fail: ${totals.fail}`)
  if (totals.skip) parts.push(`skip: ${totals.skip}`)
  if (totals.todo) parts.push(`todo: ${totals.todo}`)
  process.stdout.write(`1..${o.files.length}\n# { ${parts.join(', ')} }\n# time=${(performance.now() - started).toFixed(3)}ms\n`)
  return totals.fail > 0 ? 1 : 0
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2))
