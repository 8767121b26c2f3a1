import {
  createAccount,
  disableAccount,
  enableAccount,
  getAccount,
  HUMAN_ROLES,
  listAccounts,
  resetPassword,
  setRoles,
  type UserRow,
} from '../../api/accounts.js'
import { UsageError } from '../../common/errors.js'
import { table } from '../format.js'
import { setPin } from '../../api/pins.js'
import { accountAdmin, promptHidden } from '../identity.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('user')

const row = (u: UserRow): string[] => [
  u.username,
  u.kind,
  u.displayName,
  u.policeNo ?? '-',
  u.unit ?? '-',
  u.roles.join(','),
  u.enabled ? (u.mustChange && u.kind === 'person' ? 'password to change' : 'enabled') : 'disabled',
]

/**
 * Accounts from the station's command line. Changes need an admin signed
 * in (bodyvault login, or --as ADMIN); the station's OS user creates the
 * first admin. A new person, and a reset, get a one-time password shown
 * once: they choose their own at the first sign-in.
 */
async function cmdUser(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      display: { type: 'string' },
      'police-no': { type: 'string' },
      service: { type: 'boolean', default: false },
      unit: { type: 'string' },
      role: { type: 'string', multiple: true },
      as: { type: 'string' },
      clear: { type: 'boolean', default: false },
    },
    usage,
  )
  if (values.help) return showUsage(usage)
  const [sub, name, rolesArg] = positionals
  const st = station(values)
  const print = (obj: unknown, text: string): number => {
    io.stdout(values.json ? `${JSON.stringify(obj, null, 2)}\n` : `${text}\n`)
    return EXIT.ok
  }
  try {
    if (sub === 'list')
      return print(listAccounts(st.db), table([['USER', 'KIND', 'NAME', 'POLICE NO', 'UNIT', 'ROLES', 'STATE'], ...listAccounts(st.db).map(row)]))
    if (!name) throw new UsageError(`Usage: bodyvault ${usage}`)
    if (sub === 'show') {
      const u = getAccount(st.db, name)
      return print(u, table([['USER', 'KIND', 'NAME', 'POLICE NO', 'UNIT', 'ROLES', 'STATE'], row(u)]))
    }
    const admin = await accountAdmin(st, values.as)
    const by = { actor: admin.actor, component: 'cli' as const }
    try {
      switch (sub) {
        case 'create': {
          const roles = (values.role ?? []).flatMap((r) => r.split(',')).filter(Boolean)
          if (!values.display) throw new UsageError('user create needs --display TEXT (the name people see)')
          if (roles.length === 0) throw new UsageError(`user create needs --role, one or more of ${HUMAN_ROLES.join(', ')}`)
          const r = await createAccount(
            st.db,
            {
              username: name,
              displayName: values.display,
              kind: values.service ? 'service' : 'person',
              policeNo: values['police-no'] ?? null,
              unit: values.unit ?? null,
              roles,
            },
            by,
          )
          const same = r.samePerson.length
            ? `\nPolice number ${r.user.policeNo} also has the account(s) ${r.samePerson.map((u) => u.username).join(', ')}: one person, who cannot approve their own exports under either.`
            : ''
          return print(
            { user: r.user, oneTimePassword: r.password },
            r.password
              ? `account ${r.user.username} created (${r.user.roles.join(', ')}). One-time password, shown only now: ${r.password}\nThey choose their own at the first sign-in.${same}`
              : `service account ${r.user.username} created (${r.user.roles.join(', ')}): give it tokens with bodyvault token create --service ${r.user.username}`,
          )
        }
        case 'disable': {
          const u = disableAccount(st.db, name, by)
          return print(u, `account ${u.username} disabled: its tokens are revoked and its sessions ended`)
        }
        case 'enable': {
          const u = enableAccount(st.db, name, by)
          return print(u, `account ${u.username} enabled (revoked tokens stay revoked)`)
        }
        case 'reset-password': {
          const r = await resetPassword(st.db, name, by)
          return print(
            { user: r.user, oneTimePassword: r.password },
            `one-time password for ${r.user.username}, shown only now: ${r.password}\nThey choose their own at the next sign-in.`,
          )
        }
        case 'set-pin': {
          getAccount(st.db, name)
          const pin = values.clear ? null : (process.env.BODYVAULT_PIN ?? (await promptHidden(`PIN for ${name} (4-8 digits): `)))
          const u = await setPin(st.db, name, pin, by)
          return print(u, pin === null ? `account ${u.username}: PIN cleared (no signing at the dock)` : `account ${u.username}: PIN set for the dock screen`)
        }
        case 'set-roles': {
          const roles = (rolesArg ?? '').split(',').filter(Boolean)
          const u = setRoles(st.db, name, roles, by)
          return print(u, `account ${u.username}: ${u.roles.join(', ')}`)
        }
        default:
          throw new UsageError(`Usage: bodyvault ${usage}`)
      }
    } finally {
      admin.done()
    }
  } finally {
    st.close()
  }
}

export const userCommand: Command = { name: 'user', usage, run: cmdUser }
