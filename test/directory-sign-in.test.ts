import t from 'tap'
import { changePassword, createAccount, disableAccount } from '../src/api/accounts.js'
import { buildApi } from '../src/api/app.js'
import { authSettings } from '../src/api/auth-settings.js'
import { Directory } from '../src/api/directory-sign-in.js'
import { PEOPLE_DEFAULTS } from '../src/api/people-settings.js'
import { secondFactorKeyPath } from '../src/api/second-factor-key.js'
import { makePeople, type People, signIn } from '../src/api/sign-in.js'
import { liveSessionsOf } from '../src/catalog/auth-sessions.js'
import { userByName } from '../src/catalog/users.js'
import { silentLogger } from '../src/common/log.js'
import { loadConfig } from '../src/config/load.js'
import { retentionPolicy } from '../src/retention/config.js'
import { NO_SYSTEM_CONFIG, station } from './helpers.js'
import { httpCall } from './http-support.js'
import { useLdapServer } from './ldap-support.js'

/**
 * Directory sign-in (issue 23) against a real OpenLDAP server (Debian's
 * slapd on 127.0.0.1, its own test CA): the bind as the person over LDAPS
 * and over StartTLS, accounts made and updated from the entry, the group
 * map, a person removed from a group losing the role at the next sign-in
 * (and from every group: disabled, sessions ended), the directory's own
 * "disabled", an admin's disabling that the directory does not undo, a
 * certificate the station does not trust, and the directory down: a clear
 * error while the local break-glass admin still signs in.
 */
const SUFFIX = 'dc=station,dc=test'
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
const person = (uid: string, cn: string, no: string, unit: string, extra = '') => `dn: uid=${uid},ou=people,${SUFFIX}
objectClass: inetOrgPerson
uid: ${uid}
cn:: ${b64(cn)}
sn: ${uid}
employeeNumber: ${no}
departmentNumber: ${unit}
userPassword: pw-${uid}-directory
${extra}`
const group = (cn: string, members: string[]) => `dn: cn=${cn},ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: ${cn}
${members.map((m) => `member: uid=${m},ou=people,${SUFFIX}`).join('\n')}
`
const LDIF = [
  `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: station\ndc: station\n`,
  `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n`,
  `dn: ou=groups,${SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n`,
  person('li', '李明', '010001', 'PS-01'),
  person('wang', '王芳', '020002', 'PS-02'),
  person('zhao', '赵磊', '030003', 'PS-01'),
  person('chen', '陈军', '040004', 'PS-01', 'employeeType: disabled\n'),
  group('clerks', ['li', 'chen']),
  group('supervisors', ['wang']),
  // groupOfNames needs a member: the empty group holds only the admin.
  `dn: cn=auditors,ou=groups,${SUFFIX}\nobjectClass: groupOfNames\ncn: auditors\nmember: cn=admin,${SUFFIX}\n`,
].join('\n')

const dnOf = (uid: string) => `uid=${uid},ou=people,${SUFFIX}`
const groupDn = (cn: string) => `cn=${cn},ou=groups,${SUFFIX}`

t.test('directory sign-in against slapd', async (t) => {
  const ldap = await useLdapServer(t, LDIF)
  const s = station(t)
  const ldapSection = (over: Record<string, unknown> = {}) => ({
    url: ldap.tlsUrl,
    caFile: ldap.ca,
    bindDn: `uid={user},ou=people,${SUFFIX}`,
    userBase: `ou=people,${SUFFIX}`,
    groupBase: `ou=groups,${SUFFIX}`,
    // Spelled in another case and spacing than the server's: DNs compare normalised.
    groupRoles: { 'CN=clerks, OU=groups, DC=station, DC=test': ['clerk'], [groupDn('supervisors')]: ['supervisor'], [groupDn('auditors')]: ['auditor'] },
    disabled: { attribute: 'employeeType', values: ['disabled'] },
    ...over,
  })
  const peopleWith = (over: Record<string, unknown> = {}): People => {
    const auth = authSettings({ ldap: ldapSection(over) as never })
    return makePeople(s.db, PEOPLE_DEFAULTS, 'test-station', undefined, {
      auth,
      keyPath: secondFactorKeyPath(s.dataDir),
      issuer: 'test',
      directory: new Directory(auth.ldap!),
    })
  }
  const p = peopleWith()
  const by = { actor: 'user:os:test', component: 'cli' as const }
  // The break-glass admin: a local account, never asked of the directory.
  const adminPw = (await createAccount(s.db, { username: 'admin1', displayName: 'Admin', policeNo: '000001', kind: 'person', roles: ['admin'] }, by)).password!
  const local = await signIn(p, {
    username: 'admin1',
    password: adminPw,
    newPassword: 'Break-Glass-Passphrase-1',
    client: '127.0.0.1',
    kind: 'web',
    component: 'api',
  })
  t.equal(local.user.source, 'local')
  const go = (username: string, password = `pw-${username}-directory`, q = p) =>
    signIn(q, { username, password, client: '127.0.0.1', kind: 'web', component: 'api' })
  const events = (type: string, user: string) =>
    (
      s.db.prepare('SELECT actor, payload FROM events WHERE type = ? AND subject = ? ORDER BY seq').all(type, `user:${user}`) as {
        actor: string
        payload: string
      }[]
    ).map((e) => ({ actor: e.actor, ...JSON.parse(e.payload) }))

  // First sign-in over LDAPS: the account is made from the entry.
  const li = await go('li')
  t.match(li.user, {
    username: 'li',
    displayName: '李明',
    policeNo: '010001',
    unit: 'PS-01',
    roles: ['clerk'],
    source: 'directory',
    mustChange: false,
    enabled: true,
  })
  t.match(events('user-created', 'li'), [{ actor: 'station:test-station', source: 'directory', dn: dnOf('li'), roles: ['clerk'], policeNo: '010001' }])
  await t.rejects(go('li', 'wrong'), { code: 'SIGN_IN_FAILED' }, 'a wrong password: the directory refuses the bind')
  await t.rejects(go('li', ''), { code: 'SIGN_IN_FAILED' }, 'an empty password is never an (anonymous) bind')
  await t.rejects(go('nobody', 'x'), { code: 'SIGN_IN_FAILED' }, 'no such person')
  await t.rejects(go('li)(uid=*', 'x'), { code: 'SIGN_IN_FAILED' }, 'a filter injected in the name is not even sent')
  await t.rejects(go('zhao'), { code: 'DIRECTORY_NO_ROLE' }, 'in no mapped group: refused')
  t.equal(userByName(s.db, 'zhao'), undefined, 'and no account made')
  await t.rejects(go('chen'), { code: 'SIGN_IN_FAILED' }, 'the directory says disabled')
  t.equal(userByName(s.db, 'chen'), undefined)
  await t.rejects(changePassword(s.db, PEOPLE_DEFAULTS.password, li.user, { next: 'Another-Long-Passphrase-9' }, by), { code: 'DIRECTORY_ACCOUNT' })

  // StartTLS on the plain port works; plain LDAP without it is refused at configuration; a certificate not trusted is refused.
  t.equal((await go('wang', undefined, peopleWith({ url: ldap.url, startTls: true }))).user.roles.join(), 'supervisor', 'StartTLS')
  t.throws(() => authSettings({ ldap: ldapSection({ url: ldap.url }) as never }), { code: 'CONFIG_INVALID' }, 'ldap:// without StartTLS')
  await t.rejects(go('li', undefined, peopleWith({ caFile: null })), { code: 'DIRECTORY_UNAVAILABLE', message: /self-signed|unable to verify|certificate/i })

  // Groups change in the directory: the roles follow at the next sign-in.
  const session = await go('li')
  await ldap.modify(groupDn('supervisors'), 'add', 'member', [dnOf('li')])
  t.same((await go('li')).user.roles, ['clerk', 'supervisor'], 'added to supervisors')
  await ldap.modify(groupDn('clerks'), 'delete', 'member', [dnOf('li')])
  t.same((await go('li')).user.roles, ['supervisor'], 'removed from clerks: the clerk role is gone')
  await ldap.modify(dnOf('li'), 'replace', 'cn', ['李明华'])
  await ldap.modify(dnOf('li'), 'replace', 'departmentNumber', ['PS-03'])
  t.match((await go('li')).user, { displayName: '李明华', unit: 'PS-03' }, 'name and unit follow the directory')
  t.match(events('directory-synced', 'li'), [
    {
      dn: dnOf('li'),
      changed: [
        { field: 'displayName', from: '李明', to: '李明华' },
        { field: 'unit', from: 'PS-01', to: 'PS-03' },
      ],
    },
  ])
  t.ok(
    liveSessionsOf(s.db, li.user.id).some((x) => x.id === session.sessionId),
    'the earlier session is live',
  )
  await ldap.modify(groupDn('supervisors'), 'delete', 'member', [dnOf('li')])
  await t.rejects(go('li'), { code: 'DIRECTORY_NO_ROLE' }, 'in no group any more: refused')
  t.match(userByName(s.db, 'li'), { enabled: false, roles: [] }, 'and disabled')
  t.equal(liveSessionsOf(s.db, li.user.id).length, 0, 'its sessions ended with it')
  t.same(
    events('roles-changed', 'li').map((e) => e.to),
    [['clerk', 'supervisor'], ['supervisor'], []],
  )
  t.match(events('user-disabled', 'li'), [{ actor: 'station:test-station' }])
  await ldap.modify(groupDn('auditors'), 'add', 'member', [dnOf('li')])
  t.match((await go('li')).user, { enabled: true, roles: ['auditor'] }, 'back in a group: enabled again by the directory')
  t.match(events('user-enabled', 'li'), [{ actor: 'station:test-station' }])

  // The directory disables wang; an admin's disabling of li is not undone by the directory.
  await ldap.modify(dnOf('wang'), 'add', 'employeeType', ['disabled'])
  await t.rejects(go('wang'), { code: 'SIGN_IN_FAILED' })
  t.equal(userByName(s.db, 'wang')!.enabled, false, 'disabled when the directory says so')
  disableAccount(s.db, 'li', { actor: 'user:admin1', component: 'api' })
  await t.rejects(go('li'), { code: 'SIGN_IN_FAILED' }, "an admin's disabling holds")

  // The directory goes down: a clear error through the API (503), and the break-glass admin still signs in.
  const app = await buildApi({
    db: s.db,
    vault: s.vault,
    logger: silentLogger(),
    station: { id: 'test-station', name: 'Test station', timezone: 'Asia/Shanghai' },
    policy: retentionPolicy(loadConfig({ env: { ...NO_SYSTEM_CONFIG } })),
    openChecked: s.st.openChecked,
    rateLimitPerMinute: 100_000,
    people: p,
  })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  await ldap.stop()
  const down = await httpCall(`${base}/v1/session`, { method: 'POST', body: { username: 'wang', password: 'pw-wang-directory' } })
  t.equal(down.status, 503)
  t.match(down.json.error, { code: 'DIRECTORY_UNAVAILABLE', message: /does not answer.*local accounts \(break-glass admins\) can still sign in/ })
  const glass = await httpCall(`${base}/v1/session`, { method: 'POST', body: { username: 'admin1', password: 'Break-Glass-Passphrase-1' } })
  t.equal(glass.status, 200, 'the local admin signs in while the directory is down')
})

t.test('the auth.ldap section: defaults and refusals', async (t) => {
  const a = authSettings({ ldap: { url: 'ldaps://dc.example.local', bindDn: '{user}@example.local', userBase: 'dc=example,dc=local' } })
  t.match(a.ldap, { startTls: false, userFilter: '(uid={user})', attributes: { displayName: 'cn', policeNo: 'employeeNumber', unit: 'departmentNumber' } })
  t.same(a.secondFactor, { requiredFor: ['supervisor', 'admin'], stepUpMinutes: 5, window: 1, issuer: null, stepUp: true, graceDays: 0, strict: false })
  t.equal(authSettings(undefined).ldap, null, 'off unless configured')
})
