import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, userInfo } from 'node:os'
import { dirname, join } from 'node:path'
import { hasEnabledAdmin } from '../api/accounts.js'
import { can, type Right } from '../api/roles.js'
import { type People, signIn } from '../api/sign-in.js'
import { STEP_UP_RIGHTS, stepUpError, stepUpFor } from '../api/step-up.js'
import type { OpenSession } from '../api/sessions.js'
import type { UserRow } from '../catalog/users.js'
import { BodyvaultError, UsageError } from '../common/errors.js'
import { actors } from '../ledger/events.js'
import type { Station } from '../station/station.js'

/**
 * The person at the CLI. `bodyvault login` signs in (the password from a
 * TTY, or BODYVAULT_PASSWORD for scripts) and keeps the session's secret in
 * a file only this OS user can read (0600, under $XDG_STATE_HOME or
 * ~/.local/state, one per station); the session expires as a web one does.
 * `--as USER` signs in for one command (and out after it). Commands that
 * change evidence state, and the account commands, record that person.
 */
export function sessionFile(stationId: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state')
  return join(base, 'bodyvault', `session-${stationId}.json`)
}

export function osLogin(): string {
  try {
    return userInfo().username
  } catch {
    return 'unknown' // no passwd entry (containers)
  }
}

export function cliPeople(st: Station): People {
  return st.people()
}

/** Reads a line from the terminal without echoing it. */
export async function promptHidden(question: string): Promise<string> {
  const input = process.stdin
  if (!input.isTTY) throw new UsageError('no terminal to ask for the password: set BODYVAULT_PASSWORD (scripts), or run this in a terminal')
  process.stderr.write(question)
  input.setRawMode(true)
  input.resume()
  input.setEncoding('utf8')
  return new Promise((resolve, reject) => {
    let s = ''
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(null)
        if (ch === '\u0003') return done(new BodyvaultError('USAGE', 'interrupted'))
        if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1)
        else s += ch
      }
    }
    const done = (err: Error | null) => {
      input.setRawMode(false)
      input.pause()
      input.off('data', onData)
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(s)
    }
    input.on('data', onData)
  })
}

/** The password for a sign-in: BODYVAULT_PASSWORD, else asked on the terminal. */
export async function password(env: NodeJS.ProcessEnv, username: string): Promise<string> {
  return env.BODYVAULT_PASSWORD ?? promptHidden(`password for ${username}: `)
}

/** A new password when one must be chosen: BODYVAULT_NEW_PASSWORD, else asked twice on the terminal. */
async function newPassword(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.BODYVAULT_NEW_PASSWORD !== undefined) return env.BODYVAULT_NEW_PASSWORD
  const a = await promptHidden('this password must be changed: new password: ')
  if ((await promptHidden('new password again: ')) !== a) throw new UsageError('the two new passwords differ')
  return a
}

/** The second factor: BODYVAULT_TOTP (scripts, tests: a code or a recovery code), else asked on the terminal. */
async function factorCode(env: NodeJS.ProcessEnv, why: string): Promise<string> {
  if (env.BODYVAULT_TOTP !== undefined) return env.BODYVAULT_TOTP
  if (!process.stdin.isTTY) throw new BodyvaultError('SECOND_FACTOR_REQUIRED', `${why}: no terminal to ask the code: set BODYVAULT_TOTP`)
  return promptHidden(`${why}: code from your authenticator (or a recovery code): `)
}

/** Signs in from the CLI (a forced password change asks for the new one, a second factor its code); returns the session's secret. */
export async function cliSignIn(p: People, username: string, env: NodeJS.ProcessEnv = process.env) {
  const base: Parameters<typeof signIn>[1] = {
    username,
    password: await password(env, username),
    client: `cli:${osLogin()}`,
    kind: 'cli' as const,
    component: 'cli' as const,
  }
  for (;;) {
    try {
      return await signIn(p, base)
    } catch (err) {
      if (!(err instanceof BodyvaultError)) throw err
      if (err.code === 'PASSWORD_CHANGE_REQUIRED' && base.newPassword === undefined) base.newPassword = await newPassword(env)
      else if (err.code === 'SECOND_FACTOR_REQUIRED' && base.secondFactor === undefined)
        base.secondFactor = await factorCode(env, `${username} has a second factor`)
      else throw err
    }
  }
}

/** A step-up at the CLI: the rule of the API (stepUpFor), the code from BODYVAULT_TOTP or the terminal when the session's is too old. */
async function cliStepUp(p: People, open: OpenSession, env: NodeJS.ProcessEnv): Promise<void> {
  const f = p.secondFactor
  if (!f) return
  const answer = stepUpFor(f, open.user, { factorAt: open.session.factorAt })
  if (answer === 'ok') return
  if (answer !== 'step-up') throw stepUpError(answer, f.settings.stepUpMinutes)
  if (!(await f.stepUp(open, await factorCode(env, 'this act needs your second factor again'), 'cli'))) throw new BodyvaultError('SECOND_FACTOR_INVALID')
}

/** A person whose role needs a second factor and who has none (past auth.secondFactor.graceDays) may only enrol, as through the API. */
function requireEnrolled(p: People, who: CliPerson & { user: UserRow }): void {
  if (p.secondFactor?.enrolment(who.user).answer !== 'enrol') return
  who.done()
  throw new BodyvaultError('SECOND_FACTOR_ENROLMENT_REQUIRED', `${who.user.username}'s role needs a second factor: enrol one first (bodyvault 2fa enrol)`)
}

export function writeSessionFile(path: string, s: { username: string; secret: string }): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 })
  chmodSync(tmp, 0o600) // whatever the umask
  renameSync(tmp, path)
}

export function readSessionFile(path: string): { username: string; secret: string } | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { username?: unknown; secret?: unknown }
    return typeof v.secret === 'string' && typeof v.username === 'string' ? { username: v.username, secret: v.secret } : undefined
  } catch {
    return undefined // none, or unreadable: not signed in
  }
}

/** The person acting on the CLI and how to finish (an `--as` sign-in signs out again). */
export interface CliPerson {
  /** Null only for the OS user creating the first admin. */
  user: UserRow | null
  actor: string
  done(): void
}

/**
 * Who acts: `--as USER` (signed in now, out when the command is done), else
 * the OS user's `bodyvault login` session. With neither: SESSION_REQUIRED.
 */
export async function signedInPerson(
  st: Station,
  as: string | undefined,
  what: string,
  env: NodeJS.ProcessEnv = process.env,
  stepUp = false,
): Promise<CliPerson & { user: UserRow }> {
  const p = cliPeople(st)
  if (as !== undefined) {
    const s = await cliSignIn(p, as, env)
    const open = p.sessions.check(s.secret, 'cli')
    const done = () => {
      if (open.ok) p.sessions.close(open.open, { client: `cli:${osLogin()}`, component: 'cli' })
    }
    if (stepUp && open.ok)
      await cliStepUp(p, open.open, env).catch((err) => {
        done()
        throw err
      })
    return { user: s.user, actor: actors.user(s.user.username), done }
  }
  const file = readSessionFile(sessionFile(st.cfg.station.id, env))
  const c = file ? p.sessions.check(file.secret, 'cli') : undefined
  if (!c?.ok)
    throw new BodyvaultError(
      'SESSION_REQUIRED',
      `${what} records who did it: ${c && !c.ok && c.why === 'expired' ? 'the session expired: ' : ''}sign in first (bodyvault login USER, or --as USER; BODYVAULT_PASSWORD for scripts)`,
    )
  if (stepUp) await cliStepUp(p, c.open, env)
  return { user: c.open.user, actor: actors.user(c.open.user.username), done: () => {} }
}

/**
 * Who administers accounts: a signed-in admin; before any enabled admin
 * exists, the station's OS user (who can read the catalog anyway) creates
 * the first one, recorded as `user:os:<login>`.
 */
export async function accountAdmin(st: Station, as: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<CliPerson> {
  if (as === undefined && !hasEnabledAdmin(st.db)) {
    if (!readSessionFile(sessionFile(st.cfg.station.id, env))) return { user: null, actor: actors.user(`os:${osLogin()}`), done: () => {} }
  }
  const who = await signedInPerson(st, as, 'managing accounts', env)
  requireEnrolled(cliPeople(st), who)
  if (!who.user.roles.includes('admin')) {
    who.done()
    throw new BodyvaultError('FORBIDDEN', `${who.user.username} is not an admin: account and token commands need an admin's sign-in`)
  }
  return who
}

export function removeSessionFile(path: string): void {
  rmSync(path, { force: true })
}

/**
 * The ledger actor of a command that changes evidence state: the signed-in
 * person (`--as USER`, else the `bodyvault login` session). `--by NAME`,
 * once the actor itself, is only a note now: it is said back, never recorded as who acted.
 */
export async function evidenceActor(
  st: Station,
  values: { as?: string | undefined; by?: string | undefined },
  what: string,
  right: Right,
): Promise<CliPerson & { user: UserRow }> {
  const who = await signedInPerson(st, values.as, what, process.env, STEP_UP_RIGHTS.includes(right))
  requireEnrolled(cliPeople(st), who)
  signIns.set(st, who)
  // The same rights as through the API: the person's roles.
  if (!who.user.roles.some((r) => can(r, right)))
    throw new BodyvaultError('FORBIDDEN', `the ${who.user.roles.join('+')} role may not do this (${what} needs ${right})`)
  if (values.by !== undefined && values.by !== who.user.username)
    process.stderr.write(`bodyvault: note: --by ${values.by} is not recorded as the actor: the ledger names the signed-in person, ${who.user.username}\n`)
  return who
}

/**
 * The ledger actor of a station operation at the CLI (backup, keys, the
 * roster, fetching footage back): the person of this OS user's `bodyvault
 * login` session when it is open, else the OS user at the station, recorded
 * as `user:os:<login>` (who can read the vault anyway). `--by NAME` is only
 * a note, as for evidence commands.
 */
export function operatorActor(st: Station, by: string | undefined): string {
  const file = readSessionFile(sessionFile(st.cfg.station.id))
  const c = file ? cliPeople(st).sessions.check(file.secret, 'cli') : undefined
  const actor = c?.ok ? actors.user(c.open.user.username) : actors.user(`os:${osLogin()}`)
  if (by !== undefined && actors.user(by) !== actor)
    process.stderr.write(`bodyvault: note: --by ${by} is not recorded as the actor: the ledger names ${actor.slice('user:'.length)}\n`)
  return actor
}

const signIns = new WeakMap<Station, CliPerson>()

/** Signs out an `--as` sign-in of this command (after its work is recorded); nothing for a `login` session. */
export function endSignIn(st: Station): void {
  signIns.get(st)?.done()
  signIns.delete(st)
}
