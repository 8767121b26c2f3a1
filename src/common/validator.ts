/**
 * JSON-schema validators the build precompiles (scripts/build-validators.js
 * writes Ajv standalone code next to the module that uses it, stamped with
 * the schema's digest). Compiling a schema with Ajv costs a process 0.1-0.2
 * CPU-s and loading Ajv about 0.1 s more, so no process should pay it at
 * start-up. Without the built file (tests run from src/, a bare tsc) or when
 * its digest names another schema (edited, not rebuilt), Ajv compiles the
 * schema here, on first use: a stale validator is never used.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Ajv, ErrorObject, Options } from 'ajv'

export type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }

/** Names the schema a precompiled validator was generated from. */
export function schemaDigest(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex')
}

/** The validator of `schema`: the build's file when it was made from this very schema, else compiled now. */
export function loadValidator(file: string, schema: object, options: Options): Validator {
  const require = createRequire(import.meta.url)
  const built = existsSync(file) ? (require(file) as Validator & { schemaDigest?: string }) : undefined
  if (built?.schemaDigest === schemaDigest(schema)) return built
  const { Ajv: AjvClass } = require('ajv') as { Ajv: typeof Ajv }
  return new AjvClass(options).compile(schema)
}
