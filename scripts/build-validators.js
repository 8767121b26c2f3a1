#!/usr/bin/env node
// Run by the build after tsc: writes the JSON-schema validators as Ajv
// standalone code next to the modules that use them (the config's in
// dist/src/config/, the docking profiles' in dist/src/camera/), so no
// process compiles a schema at start-up. Each is generated from dist/'s own
// schema and stamped with its digest: src/common/validator.ts uses a file only
// when the digest matches.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Ajv } from 'ajv'
import standaloneCode from 'ajv/dist/standalone/index.js'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const dist = (...p) => import(pathToFileURL(join(root, 'dist', 'src', ...p)).href)
const { schemaDigest } = await dist('common', 'validator.js')

function write(file, schema, options) {
  const ajv = new Ajv({ ...options, code: { source: true } })
  const code = standaloneCode.default(ajv, ajv.compile(schema))
  writeFileSync(file, `${code}\nmodule.exports.schemaDigest = ${JSON.stringify(schemaDigest(schema))};\n`)
}

const load = await dist('config', 'load.js')
const { configSchema } = await dist('config', 'schema.js')
write(load.CONFIG_VALIDATOR_FILE, configSchema, load.CONFIG_AJV_OPTIONS)

const profile = await dist('camera', 'profile.js')
write(profile.PROFILE_VALIDATOR_FILE, profile.profileSchema, profile.PROFILE_AJV_OPTIONS)
