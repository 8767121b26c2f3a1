import t from 'tap'
import { createAccount } from '../src/api/accounts.js'
import { type RegistryCtx, saveOfficerEntry, saveUnitEntry } from '../src/registry/manage.js'
import { station } from './helpers.js'

/**
 * What would make an account's unit false: a unit code nobody keeps (a typo
 * hides the person from their unit's statistics), or an officer's account
 * made without the unit the roster already has them in.
 */
const by = { actor: 'user:os:test', component: 'cli' as const }

t.test('before the station keeps a roster, a unit is taken as given', async (t) => {
  const s = station(t)
  const made = await createAccount(s.db, { username: 'li.na', displayName: '李娜', policeNo: '010001', kind: 'person', roles: ['clerk'], unit: 'X9' }, by)
  t.equal(made.user.unit, 'X9')
})

t.test('with a roster: an unknown unit is refused, a known one kept, none given: the roster says', async (t) => {
  const s = station(t)
  const c: RegistryCtx = { db: s.db, actor: 'user:os:test', via: 'cli', zone: 'Asia/Shanghai', now: new Date() }
  saveUnitEntry(c, { code: '110105', name: '朝阳分局', level: 'bureau' }, 'add')
  saveUnitEntry(c, { code: '110105001', name: '一所', level: 'station', parent: '110105' }, 'add')
  saveOfficerEntry(c, { police_number: '012345', name: '张伟', unit: '110105001' }, 'add')
  await t.rejects(
    createAccount(s.db, { username: 'li.na', displayName: '李娜', policeNo: '010001', kind: 'person', roles: ['clerk'], unit: '110105009' }, by),
    { code: 'USER_INVALID', message: /no unit 110105009 in the registry/ },
  )
  const known = await createAccount(s.db, { username: 'li.na', displayName: '李娜', policeNo: '010001', kind: 'person', roles: ['clerk'], unit: '110105' }, by)
  t.equal(known.user.unit, '110105')
  const officer = await createAccount(s.db, { username: 'zhang.wei', displayName: '张伟', policeNo: '012345', kind: 'person', roles: ['officer'] }, by)
  t.equal(officer.user.unit, '110105001', "the roster's unit of the officer")
  const stranger = await createAccount(s.db, { username: 'wang.fang', displayName: '王芳', policeNo: '020002', kind: 'person', roles: ['clerk'] }, by)
  t.equal(stranger.user.unit, null, 'not on the roster, none given: none')
})
