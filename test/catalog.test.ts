import { join } from 'node:path'
import t from 'tap'
import { openCatalog } from '../src/catalog/db.js'
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
  const codes = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<number | null>((resolve) => {
          const c = spawnCli(['recordings', '--json'], env, { stdio: 'ignore' })
          c.on('exit', resolve)
        }),
    ),
  )
  t.same(codes, [0, 0, 0, 0])
  const db = openCatalog(join(dir, 'data', 'catalog.db'))
  t.equal(db.pragma('user_version', { simple: true }), versions[versions.length - 1])
  db.close()
})
