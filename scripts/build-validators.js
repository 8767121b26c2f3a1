#!/usr/bin/env node
// Run by the build after tsc: writes the config validator as Ajv standalone
// code (dist/src/config/config-validator.cjs), so no process compiles the
// schema at start-up. Generated from dist/'s own schema, stamped with its
// digest: src/config/load.ts uses it only when the digest matches.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Ajv } from 'ajv'
import standaloneCode from 'ajv/dist/standalone/index.js'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const load = await import(pathToFileURL(join(root, 'dist', 'src', 'config', 'load.js')).href)
const { configSchema } = await import(pathToFileURL(join(root, 'dist', 'src', 'config', 'schema.js')).href)
const ajv = new Ajv({ ...load.CONFIG_AJV_OPTIONS, code: { source: true } })
const code = standaloneCode.default(ajv, ajv.compile(configSchema))
writeFileSync(load.CONFIG_VALIDATOR_FILE, `${code}\nmodule.exports.schemaDigest = ${JSON.stringify(load.configSchemaDigest())};\n`)
