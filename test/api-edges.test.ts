// The API's edges, each from the attack that found it: a purged recording
// that answered two ways.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { type ApiDeps, buildApi } from '../src/api/app.js'
import type { Role } from '../src/api/roles.js'
import { createToken } from '../src/api/tokens.js'
import { silentLogger } from '../src/common/log.js'
import { runPurge } from '../src/retention/purge.js'
import { setCategory } from '../src/retention/store.js'
import { station, tempDir } from './helpers.js'
import { type HttpResult, httpCall } from './http-support.js'

const s = station(t)
// Three recordings: two of officer 012345 (the first is purged below), one of officer 999999.
const cam = join(tempDir(t), 'cam')
mkdirSync(join(cam, 'DCIM'), { recursive: true })
// The first is recorded in January (its patrol period ends in July), the others in June (not due then).
for (const [officer, seq, time] of [
  ['012345', 1, '20260115080000'],
  ['012345', 2, '20260601080000'],
  ['999999', 3, '20260601080000'],
] as const)
  writeFileSync(join(cam, 'DCIM', `A1B2C3D_${officer}_${time}_000${seq}.MP4`), Buffer.alloc(70_000 + seq, seq))
const [purged, mine, theirs] = (await s.ingest(cam)).ingested
if (!purged || !mine || !theirs) throw new Error('ingest failed')

async function api(over: Partial<ApiDeps> = {}, register?: Parameters<typeof buildApi>[1]): Promise<string> {
  const app = await buildApi(
    {
      db: s.db,
      vault: s.vault,
      logger: silentLogger(),
      station: s.st.cfg.station,
      policy: s.st.policy,
      openObject: s.st.openObject,
      rateLimitPerMinute: 100_000,
      ...over,
    },
    register,
  )
  t.teardown(() => app.close())
  return app.listen({ host: '127.0.0.1', port: 0 })
}
const base = await api()

const tokens: Record<string, string> = {}
for (const role of ['clerk', 'supervisor', 'admin', 'auditor'] as Role[]) tokens[role] = createToken(s.db, { name: role, role, actor: 'test' }).secret
tokens.supervisor2 = createToken(s.db, { name: 'second supervisor', role: 'supervisor', actor: 'test' }).secret
tokens.officer = createToken(s.db, { name: 'PC 012345', role: 'officer', officerId: '012345', actor: 'test' }).secret

type Res = HttpResult
const call = (url: string, o: Parameters<typeof httpCall>[1] = {}): Promise<Res> => httpCall(url.startsWith('http') ? url : base + url, o)

t.test('a purged recording answers 410 RECORDING_PURGED everywhere', async (t) => {
  const req = await call('/v1/exports', {
    token: tokens.clerk,
    method: 'POST',
    body: { recordingIds: [purged.id, mine.id], reason: 'before the purge', recipient: 'court' },
  })
  t.equal(req.status, 201)
  t.equal((await call(`/v1/exports/${req.json.id}/approve`, { token: tokens.supervisor, method: 'POST', body: {} })).status, 200)
  setCategory({ db: s.db, policy: s.st.policy, actor: 'user:clerk', now: new Date('2026-01-16T09:00:00+08:00') }, purged.id, 'patrol', 'routine patrol')
  const rep = await runPurge({
    db: s.db,
    vault: s.vault,
    policy: s.st.policy,
    now: new Date('2026-07-24T00:00:00+08:00'),
    dryRun: false,
    actor: 'station:test',
    logger: silentLogger(),
  })
  t.same(
    rep.purged.map((p) => p.recordingId),
    [purged.id],
  )
  const answers: [string, Res][] = [
    ['original', await call(`/v1/recordings/${purged.id}/original?reason=court%20order`, { token: tokens.clerk })],
    ['proxy', await call(`/v1/recordings/${purged.id}/proxy`, { token: tokens.clerk })],
    ['thumbnail', await call(`/v1/recordings/${purged.id}/thumbnail`, { token: tokens.clerk })],
    [
      'export request',
      await call('/v1/exports', { token: tokens.clerk, method: 'POST', body: { recordingIds: [purged.id], reason: 'after the purge', recipient: 'court' } }),
    ],
    ['download of an export approved before the purge', await call(`/v1/exports/${req.json.id}/download`, { token: tokens.clerk })],
    [
      'category',
      await call(`/v1/recordings/${purged.id}/category`, { token: tokens.clerk, method: 'PUT', body: { category: 'evidence', reason: 'too late now' } }),
    ],
    ['legal hold', await call(`/v1/recordings/${purged.id}/holds`, { token: tokens.supervisor, method: 'POST', body: { reason: 'too late now' } })],
  ]
  for (const [what, r] of answers) t.same([r.status, r.json?.error?.code], [410, 'RECORDING_PURGED'], what)
  const meta = await call(`/v1/recordings/${purged.id}`, { token: tokens.clerk })
  t.same([meta.status, meta.json.recording.status], [200, 'purged'], 'its metadata and ledger events remain readable')
})
