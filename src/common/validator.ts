import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Ajv, ErrorObject, Options } from 'ajv'

export type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }

/** Names the schema a precompiled validator was generated from: a stale one (schema edited, only tsc run) is never used. */
export function schemaDigest(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex')
}

/**
 * A schema's validator. Compiling a schema with Ajv costs every process
 * 0.1-0.2 CPU-s at start-up (and loading Ajv ~0.05 s more), so the build
 * (scripts/build-validators.js) writes it ahead as Ajv standalone code in
 * `file`; without it (tests from src/, a bare tsc) or when its digest names
 * another schema, Ajv compiles it here.
 */
export function builtValidator(file: string, schema: object, options: Options): Validator {
  const require = createRequire(import.meta.url)
  const built = existsSync(file) ? (require(file) as Validator & { schemaDigest?: string }) : undefined
  if (built?.schemaDigest === schemaDigest(schema)) return built
  const { Ajv: AjvClass } = require('ajv') as { Ajv: typeof Ajv }
  return new AjvClass(options).compile(schema)
}
