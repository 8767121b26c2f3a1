// The lazy command table (src/cli/table.ts): main.ts prints the usage text,
// --help and "did you mean" from it without loading a command, and each
// command takes its usage from it by name (usageOf). What would make it lie:
// a loader that returns another command, a command that looks up another's
// usage, a usage that names another command (--help and the usage errors
// find the command by the usage's first word), a usage that lists roles the
// API does not know, a command file with no line.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { HUMAN_ROLES } from '../src/api/accounts.js'
import { ROLES } from '../src/api/roles.js'
import { COMMANDS, usageOf } from '../src/cli/table.js'
import { ROOT } from './helpers.js'

t.test("every line loads its command, and the command's usage is the line's", async (t) => {
  for (const entry of COMMANDS) {
    const command = await entry.load()
    t.equal(command.name, entry.name, `${entry.name}: the loader returns the command of that name`)
    t.equal(command.usage, entry.usage, `${entry.name}: the command took its own line's usage`)
    t.equal(entry.usage.split(/\s/, 1)[0], entry.name, `${entry.name}: the usage starts with the command's name`)
  }
  t.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length, 'no name twice')
  t.throws(() => usageOf('no-such-command'), /no command "no-such-command"/, 'a name not in the table fails loudly, never an empty usage')
})

t.test('the roles a usage lists are the roles the API knows', async (t) => {
  t.match(usageOf('token'), `--role ${ROLES.join('|')} `, 'token create: every token role')
  t.match(usageOf('user'), `--role ${HUMAN_ROLES.join('|')}[,...]`, 'user create: every role of a person')
})

t.test('every command a file in commands/ exports has its line', async (t) => {
  const dir = join(ROOT, 'src/cli/commands')
  const exported: string[] = []
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const mod = (await import(`../src/cli/commands/${f.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>
    for (const v of Object.values(mod)) if (v && typeof v === 'object' && 'name' in v && 'usage' in v && 'run' in v) exported.push((v as { name: string }).name)
  }
  t.ok(exported.length > 0, `${exported.length} commands exported`)
  t.same(exported.filter((n) => !COMMANDS.some((c) => c.name === n)).sort(), [], 'none without a line in the table')
})

t.test('main.ts imports no command and no station: only the one that runs is loaded', async (t) => {
  // The static imports of main.ts, common.ts and table.ts, followed down: none may reach commands/ or the station.
  const seen = new Set<string>()
  const walk = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^\s*(?:import|export)(?!\s+type\b)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) walk(join(file, '..', m[1]!.replace(/\.js$/, '.ts')))
  }
  walk(join(ROOT, 'src/cli/main.ts'))
  const reached = [...seen].map((f) => f.slice(ROOT.length + 1))
  t.same(
    reached.filter((f) => f.startsWith('src/cli/commands/') || f.startsWith('src/station/')),
    [],
    `main.ts loads ${reached.length} of our modules before a command runs`,
  )
})
