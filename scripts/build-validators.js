#!/usr/bin/env node
// Run by the build after tsc: writes the config and docking-profile
// validators as Ajv standalone code (dist/src/config/config-validator.cjs,
// dist/src/camera/profile-validator.cjs), so no process compiles a schema at
// start-up. Generated from dist/'s own schemas, stamped with their digests:
// src/common/validator.ts uses one only when its digest matches.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Ajv } from 'ajv'
import standaloneCode from 'ajv/dist/standalone/index.js'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const load = await import(pathToFileURL(join(root, 'dist', 'src', 'config', 'load.js')).href)
const { configSchema } = await import(pathToFileURL(join(root, 'dist', 'src', 'config', 'schema.js')).href)
const profile = await import(pathToFileURL(join(root, 'dist', 'src', 'camera', 'profile.js')).href)

function write(file, schema, options, digest) {
  const ajv = new Ajv({ ...options, code: { source: true } })
  writeFileSync(file, `${standaloneCode.default(ajv, ajv.compile(schema))}\nmodule.exports.schemaDigest = ${JSON.stringify(digest)};\n`)
}
write(load.CONFIG_VALIDATOR_FILE, configSchema, load.CONFIG_AJV_OPTIONS, load.configSchemaDigest())
write(profile.PROFILE_VALIDATOR_FILE, profile.profileSchema, profile.PROFILE_AJV_OPTIONS, profile.profileSchemaDigest())
