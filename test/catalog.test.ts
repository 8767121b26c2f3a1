import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { commitWithoutFsync, openCatalog } from '../src/catalog/db.js'
import { migrations } from '../src/catalog/migrations.js'
import { tempDir, spawnCli } from './helpers.js'

t.test('migrations are numbered in order, and four processes opening one new catalog at once all succeed', async (t) => {
  const versions = migrations.map((m) => m.version)
  t.same(
    versions,
    [...versions].sort((a, b) => a - b),
    'listed in version order',
  )
  t.equal(new Set(versions).size, versions.length, 'no version twice')
  const dir = tempDir(t)
  const env = { BODYVAULT_DATA_DIR: join(dir, 'data'), BODYVAULT_LOG_LEVEL: 'silent' }
  // Read-only commands never make a vault (DATA_DIR_MISSING): four ingests, each of its own small camera, make it at once.
  const cams = [1, 2, 3, 4].map((n) => {
    const cam = join(dir, `cam${n}`, 'DCIM')
    mkdirSync(cam, { recursive: true })
    writeFileSync(join(cam, `clip${n}.mp4`), `not really a video ${n}`)
    return join(dir, `cam${n}`)
  })
  const codes = await Promise.all(
    cams.map(
      (cam) =>
        new Promise<number | null>((resolve) => {
          const c = spawnCli(['ingest', cam, '--json'], env, { stdio: 'ignore' })
          c.on('exit', resolve)
        }),
    ),
  )
  t.same(codes, [0, 0, 0, 0])
  const db = openCatalog(join(dir, 'data', 'catalog.db'))
  t.equal(db.pragma('user_version', { simple: true }), versions[versions.length - 1])
  t.equal(db.prepare('SELECT count(*) FROM recordings').pluck().get(), 4, 'each ingest committed its file')
  db.close()
})

t.test('commitWithoutFsync: one transaction, rolled back on a throw, and the connection back at synchronous FULL either way', async (t) => {
  const db = openCatalog(join(tempDir(t), 'catalog.db'))
  t.teardown(() => db.close())
  const FULL = 2
  t.equal(db.pragma('synchronous', { simple: true }), FULL, 'the catalog commits with FULL')
  db.exec('CREATE TABLE scratch (x INTEGER)')
  const count = (): number => (db.prepare('SELECT count(*) AS n FROM scratch').get() as { n: number }).n
  t.equal(
    commitWithoutFsync(db, () => {
      db.prepare('INSERT INTO scratch VALUES (1)').run()
      db.prepare('INSERT INTO scratch VALUES (2)').run()
      return 'ok'
    }),
    'ok',
    'returns what it ran',
  )
  t.equal(count(), 2, 'both writes committed')
  t.equal(db.pragma('synchronous', { simple: true }), FULL, 'FULL again after the commit: the evidence after it still waits for its fsync')
  t.throws(() =>
    commitWithoutFsync(db, () => {
      db.prepare('INSERT INTO scratch VALUES (3)').run()
      throw new Error('boom')
    }),
  )
  t.equal(count(), 2, 'a throw rolls the whole transaction back')
  t.equal(db.pragma('synchronous', { simple: true }), FULL, 'FULL again after the throw')
  db.transaction(() => {
    commitWithoutFsync(db, () => db.prepare('INSERT INTO scratch VALUES (4)').run())
    t.equal(db.pragma('synchronous', { simple: true }), FULL, 'inside an open transaction it changes nothing: the outer commit decides')
  })()
  t.equal(count(), 3, 'and its write commits with the outer transaction')
})
