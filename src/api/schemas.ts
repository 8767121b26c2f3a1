import type { FastifyPluginAsync, RawServerDefault } from 'fastify'
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts'

/**
 * The JSON schemas the routes share, each once with an `$id` (added to the
 * app with addSchema, referred to as `{ $ref: 'recording#' }`), and the
 * type provider that turns every route's schema into its TypeScript types:
 * a body, query or reply is declared once, as its schema, and the handler's
 * types follow from it (json-schema-to-ts, resolving these $refs).
 * Reply schemas say `additionalProperties: false`: the serializer writes
 * only the listed fields either way, and the types then admit the
 * catalog's row interfaces.
 */

export const errorSchema = {
  $id: 'error',
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
} as const

export const recordingSchema = {
  $id: 'recording',
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    sha256: { type: 'string' },
    size: { type: 'integer' },
    kind: { type: 'string' },
    sourcePath: { type: 'string' },
    stationId: { type: 'string' },
    deviceId: { type: ['string', 'null'] },
    officerId: { type: ['string', 'null'] },
    recordedAt: { type: 'string' },
    recordedOffset: { type: 'string' },
    recordedSource: { type: 'string' },
    important: { type: 'boolean' },
    category: { type: ['string', 'null'] },
    caseNumber: { type: ['string', 'null'] },
    profileId: { type: 'string' },
    sessionId: { type: ['integer', 'null'] },
    ingestedAt: { type: 'string' },
    eventSeq: { type: 'integer' },
    status: { type: 'string' },
  },
} as const

export const eventSchema = {
  $id: 'event',
  type: 'object',
  additionalProperties: false,
  properties: {
    seq: { type: 'integer' },
    type: { type: 'string' },
    at: { type: 'string' },
    actor: { type: 'string' },
    subject: { type: 'string' },
    payload: { type: 'object', additionalProperties: true },
    prevHash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const

export const exportSchema = {
  $id: 'export',
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    recordingIds: { type: 'array', items: { type: 'integer' } },
    reason: { type: 'string' },
    recipient: { type: 'string' },
    requestedBy: { type: ['integer', 'null'] },
    requestedUser: { type: ['integer', 'null'] },
    requestedPerson: { type: 'string' },
    requestedAt: { type: 'string' },
    state: { type: 'string' },
    decidedBy: { type: ['integer', 'null'] },
    decidedUser: { type: ['integer', 'null'] },
    decidedPerson: { type: ['string', 'null'] },
    decidedAt: { type: ['string', 'null'] },
    decisionReason: { type: ['string', 'null'] },
    downloads: { type: 'integer' },
    allowedDownloads: { type: 'integer' },
  },
} as const

export const caseSchema = {
  $id: 'case',
  type: 'object',
  additionalProperties: false,
  properties: {
    number: { type: 'string' },
    type: { type: 'string' },
    title: { type: ['string', 'null'] },
    status: { type: 'string' },
    openedAt: { type: 'string' },
    openedBy: { type: 'string' },
    closedAt: { type: ['string', 'null'] },
    closedBy: { type: ['string', 'null'] },
    recordingIds: { type: 'array', items: { type: 'integer' } },
  },
} as const

export const holdSchema = {
  $id: 'hold',
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    recordingId: { type: 'integer' },
    reason: { type: 'string' },
    placedBy: { type: 'string' },
    placedAt: { type: 'string' },
    releasedAt: { type: ['string', 'null'] },
    releasedBy: { type: ['string', 'null'] },
    releaseReason: { type: ['string', 'null'] },
  },
} as const

/** A reason for the ledger: src/common/reason.ts says what counts (the `reason` format is registered on the app's Ajv). */
export const reasonSchema = { $id: 'reason', type: 'string', format: 'reason', maxLength: 1000 } as const

/** Every shared schema, in the order addSchema adds them. */
export const SHARED = [errorSchema, recordingSchema, eventSchema, exportSchema, caseSchema, holdSchema, reasonSchema] as const

type References = {
  references: [typeof errorSchema, typeof recordingSchema, typeof eventSchema, typeof exportSchema, typeof caseSchema, typeof holdSchema, typeof reasonSchema]
}

/** Route types from route schemas, with the shared schemas resolvable by $ref. */
export type ApiTypeProvider = JsonSchemaToTsProvider<{ ValidatorSchemaOptions: References; SerializerSchemaOptions: References }>

/** A route group: a fastify plugin with the API's type provider, registered under /v1. */
export type ApiPlugin<Options extends object = Record<never, never>> = FastifyPluginAsync<Options, RawServerDefault, ApiTypeProvider>

// Parts of schemas reused by value (not by $ref: fastify reads params and querystring properties directly).

/** The largest id a JSON number carries exactly (2^53 - 1). */
export const MAX_ID = 9007199254740991
export const id = { type: 'integer', minimum: 1, maximum: MAX_ID } as const
export const idParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id } } as const
export const instant = { type: 'string', format: 'date-time' } as const
export const ref = {
  error: { $ref: 'error#' },
  recording: { $ref: 'recording#' },
  event: { $ref: 'event#' },
  export: { $ref: 'export#' },
  case: { $ref: 'case#' },
  hold: { $ref: 'hold#' },
  reason: { $ref: 'reason#' },
} as const
