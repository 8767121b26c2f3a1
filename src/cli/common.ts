import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError, errorMessage } from '../common/errors.js'
import { HELP } from './help.js'

/** Exit codes (docs/install.md, "Exit codes"). */
export const EXIT = { ok: 0, problems: 1, usage: 2, environment: 3, interrupted: 130 } as const

export interface Command {
  name: string
  /** One or two lines for the usage text. */
  usage: string
  run(args: string[]): Promise<number>
}

/** A reader that has gone away (`bodyvault status | head -1`) ends the command quietly: main.ts handles EPIPE. */
export const io = { stdout: (s: string): void => void process.stdout.write(s), stderr: (s: string): void => void process.stderr.write(s) }

/** The command a usage text belongs to: its first word. */
function commandOf(usage: string): string {
  return usage.split(/\s/, 1)[0] ?? ''
}

/** A command's --help: its usage, what it does, examples; returns the ok exit code. */
export function showUsage(usage: string): number {
  const help = HELP[commandOf(usage)]
  const lines = [`Usage: bodyvault ${usage}`]
  if (help) lines.push('', help.summary, '', 'Examples:', ...help.examples.map((e) => `  ${e}`))
  lines.push('', 'Every command also takes --config FILE, --verbose and --help; see bodyvault help.')
  io.stdout(`${lines.join('\n')}\n`)
  return EXIT.ok
}

/**
 * Edit distance counting a swap of two neighbouring letters as one edit
 * (optimal string alignment): "stauts" is one edit from "status" and two
 * from "start". Plain Levenshtein (what the common packages compute) calls
 * both two, and typing is mostly swaps.
 */
export function typoDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  return d[a.length]![b.length]!
}

/** The nearest of `candidates` to a mistyped `word`, when it is near enough to be what was meant. */
export function didYouMean(word: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const dist = typoDistance(word.toLowerCase(), c)
    if (dist < bestD) [best, bestD] = [c, dist]
  }
  return best !== undefined && bestD <= Math.max(1, Math.min(3, Math.floor(best.length / 3))) ? best : undefined
}

export const globalOptions = {
  config: { type: 'string' },
  verbose: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options']

/** parseArgs' messages, said the way the rest of the CLI speaks, with a "did you mean". */
function usageMessage(err: unknown, known: string[], command: string): string {
  const code = (err as { code?: string }).code
  const msg = errorMessage(err)
  const see = `see bodyvault ${command} --help`
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const opt = /'(-[^']*)'/.exec(msg)?.[1] ?? msg
    const name = opt.replace(/^-+/, '').split('=')[0] ?? ''
    const near = didYouMean(name, known)
    return `${command}: unknown option ${opt}${near ? `: did you mean --${near}?` : ''} (${see})`
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const opt = /'(--?[A-Za-z0-9-]+)/.exec(msg)?.[1]
    if (opt && /argument missing/.test(msg)) return `${command}: ${opt} needs a value (${see})`
    if (opt && /does not take an argument/.test(msg)) return `${command}: ${opt} takes no value (${see})`
    return `${command}: ${msg} (${see})`
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `${command}: unexpected argument ${/'([^']*)'/.exec(msg)?.[1] ?? ''} (${see})`
  return `${command}: ${msg} (${see})`
}

/** Parses a command's options (plus the global ones); unknown options are a usage error, with the nearest known one. */
export function parse<O extends ParseArgsConfig['options']>(args: string[], options: O, usage: string) {
  const all = { ...globalOptions, ...options }
  try {
    return parseArgs({ args, options: all, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(usageMessage(err, Object.keys(all), commandOf(usage)))
  }
}
