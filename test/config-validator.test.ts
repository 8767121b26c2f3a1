// bb-startup: the config validator the build precompiles (scripts/build-validators.js,
// Ajv standalone code in dist/) is the one Ajv compiles from src/config/schema.ts: same
// digest, same verdicts and errors; a CLI run from dist/ reports a bad key as before.
// ee-suite: the same for the docking-profile validator (src/camera/profile.ts).
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import t from 'tap'
import { PROFILE_AJV_OPTIONS, profileSchema, profileSchemaDigest } from '../src/camera/profile.js'
import { CONFIG_AJV_OPTIONS, configSchemaDigest } from '../src/config/load.js'
import { configSchema } from '../src/config/schema.js'
import { cli, GAT947, ROOT } from './helpers.js'

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

t.test('the docking-profile validator: built from the schema in src/, agrees with Ajv error for error', async (t) => {
  t.ok(existsSync(BUILT_PROFILE), `${BUILT_PROFILE} exists`)
  const built = createRequire(import.meta.url)(BUILT_PROFILE) as Validator
  t.equal(built.schemaDigest, profileSchemaDigest(), 'its digest is the current schema: rebuild when they differ')
  const compiled = new Ajv(PROFILE_AJV_OPTIONS).compile(profileSchema) as Validator
  const good = JSON.parse(JSON.stringify(GAT947)) as Record<string, unknown>
  for (const c of [good, { ...good, extra: 1 }, { ...good, id: '' }, { ...good, readOnly: 'yes' }, {}, null]) {
    t.equal(built(c), compiled(c), `same verdict for ${JSON.stringify(c)?.slice(0, 60)}`)
    t.same(built.errors ?? null, compiled.errors ?? null, 'same errors')
  }
  t.equal(built(good), true, 'a shipped profile is valid')
})

t.test('a CLI run from dist/ names a bad key as before', async (t) => {
  const r = cli(['status'], { BODYVAULT_LISTEN: 'bad' })
  t.equal(r.code, 2)
  t.match(r.stderr, /CONFIG_INVALID: .*BODYVAULT_LISTEN="bad": must be host:port/)
})
