// bb-startup: the config and docking-profile validators the build precompiles
// (scripts/build-validators.js, Ajv standalone code in dist/) are the ones Ajv compiles
// from the schemas in src/: same digest, same verdicts and errors; a CLI run from dist/
// reports a bad key as before. The threat: a stale or different validator in dist/
// letting a bad config or profile through.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import t from 'tap'
import { PROFILE_AJV_OPTIONS, profileSchema, profileSchemaDigest } from '../src/camera/profile.js'
import { CONFIG_AJV_OPTIONS, configSchemaDigest } from '../src/config/load.js'
import { configSchema } from '../src/config/schema.js'
import { cli, ROOT } from './helpers.js'

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null; schemaDigest?: string }
const BUILT = join(ROOT, 'dist', 'src', 'config', 'config-validator.cjs')
const BUILT_PROFILE = join(ROOT, 'dist', 'src', 'camera', 'profile-validator.cjs')

t.test('the build wrote the precompiled validator from the schema in src/ (npm run build, scripts/setup)', async (t) => {
  t.ok(existsSync(BUILT), `${BUILT} exists`)
  const built = createRequire(import.meta.url)(BUILT) as Validator
  t.equal(built.schemaDigest, configSchemaDigest(), 'its digest is the current schema: rebuild when they differ')
})

t.test('precompiled and compiled agree on good and bad configurations, error for error', async (t) => {
  const built = createRequire(import.meta.url)(BUILT) as Validator
  const compiled = new Ajv(CONFIG_AJV_OPTIONS).compile(configSchema) as Validator
  const good = JSON.parse(readFileSync(join(ROOT, 'config', 'default.json'), 'utf8')) as Record<string, unknown>
  const cases: unknown[] = [
    good,
    { ...good, listen: 'bad' },
    { ...good, extra: 1 },
    { ...good, log: { level: 'loud' } },
    { ...good, station: { id: '-x', name: '' } },
    { ...good, retention: 'none' },
    {},
    null,
  ]
  for (const c of cases) {
    const a = built(c)
    const b = compiled(c)
    t.equal(a, b, `same verdict for ${JSON.stringify(c)?.slice(0, 60)}`)
    t.same(built.errors ?? null, compiled.errors ?? null, 'same errors')
  }
  t.equal(built(good), true, 'the defaults are valid')
})

t.test('a CLI run from dist/ names a bad key as before', async (t) => {
  const r = cli(['status'], { BODYVAULT_LISTEN: 'bad' })
  t.equal(r.code, 2)
  t.match(r.stderr, /CONFIG_INVALID: .*BODYVAULT_LISTEN="bad": must be host:port/)
})

t.test('the profile validator: built from the schema in src/, agrees with Ajv error for error', async (t) => {
  t.ok(existsSync(BUILT_PROFILE), `${BUILT_PROFILE} exists`)
  const built = createRequire(import.meta.url)(BUILT_PROFILE) as Validator
  t.equal(built.schemaDigest, profileSchemaDigest(), 'its digest is the current schema: rebuild when they differ')
  const compiled = new Ajv(PROFILE_AJV_OPTIONS).compile(profileSchema) as Validator
  const good = JSON.parse(readFileSync(join(ROOT, 'docking', 'gat947.json'), 'utf8')) as Record<string, unknown>
  const cases: unknown[] = [good, { ...good, extra: 1 }, { ...good, timezone: 5 }, { ...good, id: '' }, {}, null]
  for (const c of cases) {
    t.equal(built(c), compiled(c), `same verdict for ${JSON.stringify(c)?.slice(0, 60)}`)
    t.same(built.errors ?? null, compiled.errors ?? null, 'same errors')
  }
  t.equal(built(good), true, 'a shipped profile is valid')
})

t.test('a CLI run from dist/ names a bad profile key as before', async (t) => {
  const good = JSON.parse(readFileSync(join(ROOT, 'docking', 'gat947.json'), 'utf8')) as Record<string, unknown>
  const dir = t.testdir({ profiles: { 'bad.json': JSON.stringify({ ...good, id: 'bad', colour: 'red' }) }, camera: { DCIM: { 'a.mp4': 'x' } } })
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({ dataDir: join(dir, 'data'), docking: { profilesDir: join(dir, 'profiles'), mountRoots: [join(dir, 'mounts')] } }))
  const r = cli(['ingest', join(dir, 'camera'), '--config', config])
  t.comment(r.stderr.trim().split('\n').slice(0, 2).join(' | '))
  t.not(r.code, 0)
  t.match(r.stderr, /colour: is not a known profile key/)
})
