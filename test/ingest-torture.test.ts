// The randomized ingest torture (test/torture.ts) at CI scale: files up to
// 64 MiB, at least 3 rounds, then rounds until 60 s are used under CI=true
// (150 s in a developer's run: BODYVAULT_TORTURE_SECONDS sets it). Each round
// is one random mutation from a new seed, so CI runs cover the mutation kinds
// between them; scripts/torture runs it at any scale (--rounds N --max-size
// SIZE --seconds S). Each round prints its mutation and outcomes; the last
// line sums them up.
import t from 'tap'
import { cannotMount } from './daemon-support.js'
import { tempDir } from './helpers.js'
import { parseSize, type RoundResult, tortureRound } from './torture.js'

const env = process.env
const o = {
  rounds: Number(env.BODYVAULT_TORTURE_ROUNDS ?? 200),
  maxSize: parseSize(env.BODYVAULT_TORTURE_MAX_SIZE ?? '64M'),
  seconds: Number(env.BODYVAULT_TORTURE_SECONDS ?? (env.CI === 'true' ? 60 : 150)),
  seed: Number(env.BODYVAULT_TORTURE_SEED ?? Date.now() % 1_000_000),
  mounts: cannotMount() === undefined,
}
const MIN_ROUNDS = Math.min(3, o.rounds)
const say = (line: string): void => void process.stderr.write(`torture: ${line}\n`)

t.test(
  `ingest torture: up to ${o.rounds} rounds, files up to ${o.maxSize >> 20} MiB, ${o.mounts ? 'ext4 loop mounts' : 'folders (no loop mounts here)'}, seed ${o.seed}`,
  async (t) => {
    const dir = tempDir(t, 'bv-torture-')
    const started = Date.now()
    const results: RoundResult[] = []
    say(`seed ${o.seed}, max size ${o.maxSize} B, ${o.seconds ? `${o.seconds} s budget` : 'no time budget'}, ${o.mounts ? 'loop mounts' : 'folders'}`)
    for (let round = 1; round <= o.rounds; round++) {
      // Three rounds whatever the budget (a loaded machine must not end the test after one), then until the budget is used.
      if (round > MIN_ROUNDS && o.seconds && Date.now() - started > o.seconds * 1000) break
      await t.test(`round ${round}`, async (t) => {
        const r = await tortureRound(t, { ...o, dir }, round)
        results.push(r)
        const line = `round ${r.round}: ${r.files} files ${(r.bytes / (1 << 20)).toFixed(1)} MiB; ${r.mutation} (${r.timing}) -> first docking ${r.first} -> re-dock ${r.redock}; ${r.problems.length ? `PROBLEMS: ${r.problems.join(' | ')}` : 'held'} [${(r.ms / 1000).toFixed(1)} s]`
        say(line)
        t.same(r.problems, [], line)
      })
    }
    const held = results.filter((r) => r.problems.length === 0).length
    const by = new Map<string, number>()
    for (const r of results) by.set(r.first.replace(/ \(.*$/, ''), (by.get(r.first.replace(/ \(.*$/, '')) ?? 0) + 1)
    const gb = results.reduce((a, r) => a + r.bytes, 0) / (1 << 30)
    const summary = `${results.length} rounds (seed ${o.seed}) in ${((Date.now() - started) / 1000).toFixed(0)} s, ${gb.toFixed(2)} GiB of camera files: ${held} held, ${results.length - held} broke a promise; first dockings: ${[...by].map(([k, v]) => `${v} ${k}`).join(', ')}; mid-copy mutations ${results.filter((r) => r.timing === 'mid-copy').length}`
    say(summary)
    t.ok(results.length >= MIN_ROUNDS, `at least ${MIN_ROUNDS} rounds ran: ${summary}`)
  },
)
