import { getAccount } from '../../api/accounts.js'
import { BodyvaultError, UsageError } from '../../common/errors.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'
import { recheckPassword } from '../../api/sign-in.js'
import { accountAdmin, cliPeople, osLogin, password, signedInPerson } from '../identity.js'

const usage = usageOf('2fa')

/**
 * The second factor at the terminal: the signed-in person's status, an
 * enrolment (the current password again; the QR code drawn in the terminal, the secret and its URI),
 * its confirmation with a first code (the recovery codes, shown once); an
 * admin's reset of a person's factor (a lost phone). The web page
 * /account/security does the same for the browser.
 */
async function cmd2fa(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { as: { type: 'string' } }, usage)
  if (values.help) return showUsage(usage)
  const [sub, ...rest] = positionals
  const st = station(values)
  const done: (() => void)[] = []
  try {
    const factors = cliPeople(st).secondFactor
    if (!factors) throw new BodyvaultError('USAGE', 'second factors are not set up on this station')
    const out = (obj: unknown, text: string): number => {
      io.stdout(values.json ? `${JSON.stringify(obj, null, 2)}\n` : `${text}\n`)
      return EXIT.ok
    }
    const me = async () => {
      const who = await signedInPerson(st, values.as, 'a second factor')
      done.push(who.done)
      return who
    }
    switch (sub) {
      case 'status': {
        const who = await me()
        const s = factors.status(who.user)
        const text = s.enrolled
          ? `${who.user.username}: a second factor is enrolled; ${s.recoveryCodesLeft} recovery code(s) left`
          : `${who.user.username}: no second factor${s.required ? ' (your role needs one: bodyvault 2fa enrol)' : ''}`
        return out(s, text)
      }
      case 'enrol': {
        const who = await me()
        // The password again (BODYVAULT_PASSWORD for scripts), unless --as signed in with it just now: a login session left open is not enough.
        if (values.as === undefined) await recheckPassword(cliPeople(st), who.user, await password(process.env, who.user.username), `cli:${osLogin()}`, 'cli')
        const e = await factors.begin(who.user)
        const { default: QRCode } = await import('qrcode')
        const qr = await QRCode.toString(e.uri, { type: 'terminal', small: true })
        return out(
          { secret: e.secret, uri: e.uri },
          `${qr}\nScan this with an authenticator app, or type the secret: ${e.secret}\nThen confirm with the code it shows: bodyvault 2fa confirm CODE`,
        )
      }
      case 'confirm': {
        if (rest.length !== 1) throw new UsageError(`2fa confirm takes the code the app shows\n\nUsage: bodyvault ${usage}`)
        const who = await me()
        const r = factors.confirm(who.user, rest[0]!, { actor: who.actor, component: 'cli' })
        return out(
          r,
          `second factor enrolled. Recovery codes (each works once; keep them apart from the phone; shown only now):\n  ${r.recoveryCodes.join('\n  ')}`,
        )
      }
      case 'reset': {
        if (rest.length !== 1) throw new UsageError(`2fa reset takes one user name\n\nUsage: bodyvault ${usage}`)
        const admin = await accountAdmin(st, values.as)
        done.push(admin.done)
        factors.reset(getAccount(st.db, rest[0]!), { actor: admin.actor, component: 'cli' })
        return out({ reset: rest[0] }, `second factor of ${rest[0]} removed: they sign in with their password and enrol again`)
      }
      default:
        throw new UsageError(`2fa: unknown subcommand "${sub ?? ''}"\n\nUsage: bodyvault ${usage}`)
    }
  } finally {
    for (const d of done) d()
    st.close()
  }
}

export const secondFactorCommand: Command = { name: '2fa', usage, run: cmd2fa }
