import { UsageError } from '../../common/errors.js'
import { isRole, ROLES } from '../../api/roles.js'
import { createToken, listTokens, revokeToken } from '../../api/tokens.js'
import { table } from '../format.js'
import { daemonUrl } from '../daemon.js'
import { accountAdmin } from '../identity.js'
import { getUser } from '../../catalog/users.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('token')

/**
 * The dock screen's address with a kiosk token in the fragment: the
 * browser keeps the token (localStorage) and drops it from the address bar;
 * a fragment is never sent to a server, so it stays out of access logs.
 */
export function kioskUrl(base: string, secret: string): string {
  return `${base.replace(/\/+$/, '')}/station#token=${encodeURIComponent(secret)}`
}

async function cmdToken(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      role: { type: 'string' },
      name: { type: 'string' },
      officer: { type: 'string' },
      url: { type: 'string' },
      user: { type: 'string' },
      service: { type: 'string' },
      as: { type: 'string' },
    },
    usage,
  )
  if (values.help) return showUsage(usage)
  const [sub, arg] = positionals
  const st = station(values)
  try {
    // Tokens belong to accounts: making and revoking them is an admin's act (the OS user's, before the first admin exists).
    const admin = sub === 'create' || sub === 'revoke' ? await accountAdmin(st, values.as) : undefined
    const actor = admin?.actor ?? st.actor
    admin?.done()
    if (sub === 'create') {
      if (!values.role || !isRole(values.role)) throw new UsageError(`token create needs --role, one of ${ROLES.join(', ')}`)
      if (!values.name) throw new UsageError('token create needs --name (who or what will use the token)')
      if (values.user && values.service) throw new UsageError('a token belongs to a person (--user) or a service account (--service), not both')
      const { token, secret } = createToken(st.db, {
        name: values.name,
        role: values.role,
        officerId: values.officer ?? null,
        actor,
        ...(values.user ? { user: values.user } : {}),
        ...(values.service ? { service: values.service } : {}),
      })
      st.logger.info({ event: 'token.created', tokenId: token.id, role: token.role }, 'token created')
      // A kiosk token comes with the dock screen's address (--url: the address the kiosk PC reaches the daemon at).
      const kiosk = token.role === 'kiosk' ? kioskUrl(values.url ?? daemonUrl(st.cfg), secret) : undefined
      if (values.json) io.stdout(JSON.stringify({ ...token, token: secret, ...(kiosk ? { kioskUrl: kiosk } : {}) }, null, 2) + '\n')
      else {
        io.stdout(
          `token ${token.id} (${token.role}, ${token.name}, account ${getUser(st.db, token.userId)?.username}):\n${secret}\nIt is shown only now: store it where its user keeps secrets.\n`,
        )
        if (kiosk) io.stdout(`Dock screen: open this address once on the kiosk PC (its browser keeps the token):\n${kiosk}\n`)
      }
      return EXIT.ok
    }
    if (sub === 'list') {
      const rows = listTokens(st.db)
      if (values.json) io.stdout(JSON.stringify(rows, null, 2) + '\n')
      else
        io.stdout(
          table([
            ['ID', 'ROLE', 'NAME', 'ACCOUNT', 'OFFICER', 'CREATED', 'REVOKED'],
            ...rows.map((r) => [String(r.id), r.role, r.name, getUser(st.db, r.userId)?.username ?? '?', r.officerId ?? '-', r.createdAt, r.revokedAt ?? '-']),
          ]) + '\n',
        )
      return EXIT.ok
    }
    if (sub === 'revoke') {
      const id = Number(arg)
      if (!Number.isInteger(id) || id < 1) throw new UsageError('token revoke takes a token id (bodyvault token list)')
      const t = revokeToken(st.db, id, actor)
      io.stdout(`token ${t.id} revoked at ${t.revokedAt}\n`)
      return EXIT.ok
    }
    throw new UsageError(`Usage: bodyvault ${usage}`)
  } finally {
    st.close()
  }
}

export const tokenCommand: Command = { name: 'token', usage, run: cmdToken }
