import { UsageError } from '../../common/errors.js'
import { cliPeople, cliSignIn, osLogin, readSessionFile, removeSessionFile, sessionFile, writeSessionFile } from '../identity.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const loginUsage = usageOf('login')
const logoutUsage = usageOf('logout')

/** Opens a CLI session for this OS user: the session's secret in a 0600 file under the user's state dir; it expires like a web session. */
async function cmdLogin(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, loginUsage)
  if (values.help) return showUsage(loginUsage)
  const [username] = positionals
  if (!username || positionals.length !== 1) throw new UsageError(`Usage: bodyvault ${loginUsage}`)
  const st = station(values)
  try {
    const s = await cliSignIn(cliPeople(st), username)
    const path = sessionFile(st.cfg.station.id)
    writeSessionFile(path, { username: s.user.username, secret: s.secret })
    io.stdout(`signed in as ${s.user.username} (${s.user.displayName}, ${s.user.roles.join(', ')}) for OS user ${osLogin()}; session in ${path}\n`)
    return EXIT.ok
  } finally {
    st.close()
  }
}

async function cmdLogout(args: string[]): Promise<number> {
  const { values } = parse(args, {}, logoutUsage)
  if (values.help) return showUsage(logoutUsage)
  const st = station(values)
  try {
    const path = sessionFile(st.cfg.station.id)
    const file = readSessionFile(path)
    if (file) {
      const p = cliPeople(st)
      const c = p.sessions.check(file.secret, 'cli')
      if (c.ok) p.sessions.close(c.open, { client: `cli:${osLogin()}`, component: 'cli' })
    }
    removeSessionFile(path)
    io.stdout(file ? `signed out (${file.username})\n` : 'not signed in\n')
    return EXIT.ok
  } finally {
    st.close()
  }
}

export const loginCommand: Command = { name: 'login', usage: loginUsage, run: cmdLogin }
export const logoutCommand: Command = { name: 'logout', usage: logoutUsage, run: cmdLogout }
