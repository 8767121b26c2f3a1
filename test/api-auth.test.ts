import t from 'tap'
import { parseRange } from '../src/api/range.js'
import { can, GRANTS, RIGHTS, ROLES } from '../src/api/roles.js'
import { authenticate, createToken, listTokens, revokeToken } from '../src/api/tokens.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { cli, emptyVault, station } from './helpers.js'

t.test('roles: the rights table', async (t) => {
  t.ok(can('clerk', 'media:read'))
  t.notOk(can('auditor', 'media:read'), 'auditors never see footage')
  t.ok(can('auditor', 'ledger:read'))
  t.notOk(can('clerk', 'exports:approve'))
  t.ok(can('supervisor', 'exports:approve'))
  t.ok(can('supervisor', 'holds:write'))
  t.notOk(can('admin', 'recordings:read'), 'admins manage tokens, not footage')
  t.notOk(can('officer', 'cases:write'))
  for (const r of ROLES) for (const g of GRANTS[r]) t.ok((RIGHTS as readonly string[]).includes(g), `${r}: ${g} is a known right`)
})

t.test('tokens: shown once, stored hashed, revocable, ledgered', async (t) => {
  const s = station(t)
  const { token, secret } = createToken(s.db, { name: 'clerk desk 1', role: 'clerk', actor: 'test' })
  t.match(secret, /^bv_[A-Za-z0-9_-]{43}$/)
  const stored = s.db.prepare('SELECT hash FROM tokens WHERE id = ?').get(token.id) as { hash: string }
  t.not(stored.hash, secret)
  t.notMatch(JSON.stringify(s.db.prepare('SELECT * FROM tokens').all()), secret.slice(3), 'the secret is nowhere in the table')
  t.equal(authenticate(s.db, secret)?.token.id, token.id)
  t.equal(authenticate(s.db, secret + 'x'), undefined)
  t.equal(authenticate(s.db, 'bv_' + 'A'.repeat(43)), undefined)
  t.throws(() => createToken(s.db, { name: 'x', role: 'officer', actor: 'test' }), /must name its officer/)
  revokeToken(s.db, token.id, 'test')
  t.equal(authenticate(s.db, secret), undefined, 'revoked')
  t.same(
    eventsFor(s.db, `token:${token.id}`).map((e) => e.type),
    ['token-created', 'token-revoked'],
  )
  t.notMatch(JSON.stringify(eventsFor(s.db, `token:${token.id}`)), secret.slice(3))
  t.equal(listTokens(s.db).length, 1)
})

t.test('token CLI', async (t) => {
  const env = { BODYVAULT_DATA_DIR: emptyVault(t) }
  // A token without --user goes to a service account, which may not hold a role whose acts need a person's second factor.
  t.match(cli(['token', 'create', '--role', 'supervisor', '--name', 'Sgt. Li'], env), { code: 2, stderr: /service account cannot hold the supervisor role/ })
  const c = cli(['token', 'create', '--role', 'clerk', '--name', 'Desk Li', '--json'], env)
  t.equal(c.code, 0, c.stderr)
  const tok = JSON.parse(c.stdout) as { id: number; role: string; token: string }
  t.same([tok.role, /^bv_/.test(tok.token)], ['clerk', true])
  t.match(cli(['token', 'list'], env).stdout, /clerk +Desk Li/)
  t.notMatch(cli(['token', 'list', '--json'], env).stdout, tok.token)
  t.match(cli(['token', 'create', '--role', 'janitor', '--name', 'x'], env), { code: 2, stderr: /--role, one of officer, clerk/ })
  t.match(cli(['token', 'revoke', String(tok.id)], env), { code: 0, stdout: /revoked/ })
  t.match(cli(['token', 'revoke', '99'], env), { code: 2, stderr: /no token 99/ })
})

t.test('range parsing', async (t) => {
  const size = 1000
  t.same(parseRange(undefined, size), { kind: 'full' })
  t.same(parseRange('bytes=0-99', size), { kind: 'partial', start: 0, end: 99 })
  t.same(parseRange('bytes=900-', size), { kind: 'partial', start: 900, end: 999 })
  t.same(parseRange('bytes=-100', size), { kind: 'partial', start: 900, end: 999 })
  t.same(parseRange('bytes=-5000', size), { kind: 'partial', start: 0, end: 999 })
  t.same(parseRange('bytes=990-5000', size), { kind: 'partial', start: 990, end: 999 })
  t.same(parseRange('bytes=1000-', size), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=-0', size), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=99999999999999999999-', size), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=0-1,5-6', size), { kind: 'full' })
  t.equal(parseRange('bytes=5-1', size).kind, 'invalid')
  t.equal(parseRange('bytes=a-b', size).kind, 'invalid')
  t.equal(parseRange('items=0-1', size).kind, 'invalid')
  t.equal(parseRange('bytes=-', size).kind, 'invalid')
  t.same(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' })
  t.same(parseRange(`bytes=${2 ** 32}-${2 ** 32 + 9}`, 2 ** 33), { kind: 'partial', start: 2 ** 32, end: 2 ** 32 + 9 }, 'multi-GB offsets')
  // RFC 9110 14.1.2-14.1.3: positions of any length.
  t.same(parseRange(`bytes=-${'9'.repeat(31)}`, size), { kind: 'partial', start: 0, end: 999 }, 'a suffix longer than the file: all of it')
  t.same(parseRange(`bytes=0-${'9'.repeat(31)}`, size), { kind: 'partial', start: 0, end: 999 }, 'a last-pos past the end: to the end')
  t.same(parseRange(`bytes=${'9'.repeat(31)}-`, size), { kind: 'unsatisfiable' }, 'a first-pos past the end')
  t.same(parseRange(`bytes=-${'0'.repeat(40)}`, size), { kind: 'unsatisfiable' }, 'a zero suffix, however written')
  t.same(parseRange(`bytes=0000000000000000000000005-9`, size), { kind: 'partial', start: 5, end: 9 }, 'leading zeros')
  t.same(parseRange('bytes=-5', 0), { kind: 'full' }, 'a non-empty suffix of an empty file is satisfiable: the whole (empty) body')
})
