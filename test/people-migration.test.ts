import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { authenticate } from '../src/api/tokens.js'
import { migrate } from '../src/catalog/db.js'
import { getExportRequest } from '../src/catalog/exports.js'
import { migrations } from '../src/catalog/migrations.js'
import { listTokens } from '../src/catalog/tokens.js'
import { userByName } from '../src/catalog/users.js'
import { tempDir } from './helpers.js'
import { createHash } from 'node:crypto'

/** Migration 016 on a catalog that has tokens and export requests from before accounts: they move to `legacy` (and `kiosk`) and keep working. */
t.test('tokens made before accounts go to the legacy and kiosk service accounts; exports keep their history', async (t) => {
  const db = new Database(join(tempDir(t), 'catalog.db'))
  t.teardown(() => db.close())
  for (const m of migrations.filter((m) => m.version <= 9)) db.exec(m.sql)
  db.pragma('user_version = 9')
  const secret = (n: number) => `bv_${String(n).repeat(43).slice(0, 43)}`
  const hash = (s: string) => createHash('sha256').update(s).digest('hex')
  const add = db.prepare("INSERT INTO tokens (name, role, officer_id, hash, created_at) VALUES (?, ?, ?, ?, '2026-01-01T00:00:00Z')")
  add.run('desk 1', 'clerk', null, hash(secret(1)))
  add.run('sgt li', 'supervisor', null, hash(secret(2)))
  add.run('dock', 'kiosk', null, hash(secret(3)))
  db.prepare(
    "INSERT INTO export_requests (recording_ids, reason, recipient, requested_by, requested_at, state, decided_by, decided_at, downloads) VALUES ('[1]', 'court', 'court', 1, '2026-01-02T00:00:00Z', 'approved', 2, '2026-01-03T00:00:00Z', 3)",
  ).run()
  migrate(db)
  const legacy = userByName(db, 'legacy')!
  const kiosk = userByName(db, 'kiosk')!
  t.match(legacy, { kind: 'service', enabled: true })
  t.same(
    listTokens(db).map((x) => [x.name, x.userId]),
    [
      ['desk 1', legacy.id],
      ['sgt li', legacy.id],
      ['dock', kiosk.id],
    ],
  )
  t.equal(authenticate(db, secret(1))?.token.role, 'clerk', 'an old token still works')
  t.equal(authenticate(db, secret(3))?.user.username, 'kiosk', 'the kiosk token belongs to the kiosk account')
  t.match(getExportRequest(db, 1), { requestedBy: 1, requestedPerson: 'token:1', decidedPerson: 'token:2', downloads: 3, allowedDownloads: 3 })
  t.same(db.pragma('foreign_key_check'), [])
})
