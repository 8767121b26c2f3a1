import type { EventType } from '../../ledger/events.js'
import { auditEvents } from '../../ledger/ledger.js'
import type { ApiDeps } from '../deps.js'
import { isoInstant } from '../params.js'
import { type ApiPlugin, instant, ref } from '../schemas.js'

/** The events the audit trail of people shows: accounts, sign-in, sessions, tokens, and the export workflow they act in. */
export const AUDIT_TYPES = [
  'signed-in',
  'signed-out',
  'session-expired',
  'sign-in-failures',
  'password-changed',
  'user-created',
  'roles-changed',
  'user-disabled',
  'user-enabled',
  'token-created',
  'token-revoked',
  'export-requested',
  'export-approved',
  'export-rejected',
  'exported',
] as const satisfies readonly EventType[]

/**
 * GET /v1/ledger (auditors: ledger:read): every event, by any of the filters
 * an audit needs (a recording's trail is its subject; a person's is
 * `user`). GET /v1/audit (auditors, admins): the people's audit trail from the
 * ledger (CJIS 5.4: date and time, user, component, outcome in every
 * people event), filtered by type, account, outcome and time, paged by
 * `after` (the last seq seen).
 */
/** The time window and the paging both routes take: from/to (instants), after (the last seq seen), limit. */
const windowProps = {
  from: instant,
  to: instant,
  after: { type: 'integer', minimum: 0, maximum: 9007199254740991 },
  limit: { type: 'integer', minimum: 1, maximum: 1000 },
} as const

function windowOf(q: { from?: string; to?: string; after?: number }): { afterSeq: number; from: string | undefined; to: string | undefined } {
  return {
    afterSeq: q.after ?? 0,
    from: q.from === undefined ? undefined : isoInstant(q.from, 'from'),
    to: q.to === undefined ? undefined : isoInstant(q.to, 'to'),
  }
}

/** A page of events and where the next one starts (null: this was the last). */
const pageOf = <T extends { seq: number }>(items: T[], limit: number) => ({ items, next: items.length === limit ? items[items.length - 1]!.seq : null })

export const auditRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  const page = { type: 'object', properties: { items: { type: 'array', items: ref.event }, next: { type: ['integer', 'null'] } } } as const
  app.get(
    '/audit',
    {
      config: { right: 'audit:read' },
      schema: {
        summary: 'Sign-ins, sessions, accounts, tokens and export decisions, from the ledger',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'array', items: { type: 'string', enum: AUDIT_TYPES }, maxItems: AUDIT_TYPES.length },
            user: { type: 'string', minLength: 1, maxLength: 64 },
            outcome: { type: 'string', enum: ['success', 'failure'] },
            ...windowProps,
          },
        },
        response: { 200: page, '4xx': ref.error },
      },
    },
    async (req) => {
      const q = req.query
      const limit = q.limit ?? 200
      const items = auditEvents(deps.db, {
        types: q.type?.length ? q.type : AUDIT_TYPES,
        ...windowOf(q),
        user: q.user?.toLowerCase(),
        outcome: q.outcome,
        limit,
      })
      return pageOf(items, limit)
    },
  )

  app.get(
    '/ledger',
    {
      config: { right: 'ledger:read' },
      schema: {
        summary: 'The whole ledger, filtered: by type, subject, actor, account (its actor or the payload naming it), unit, time; paged by `after`',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'array', items: { type: 'string', pattern: '^[a-z][a-z-]{0,47}$' }, maxItems: 64 },
            subject: { type: 'string', minLength: 3, maxLength: 200, pattern: '^[a-z]+:' },
            actor: { type: 'string', minLength: 3, maxLength: 200, pattern: '^[a-z]+:' },
            user: { type: 'string', minLength: 1, maxLength: 64 },
            unit: { type: 'string', minLength: 1, maxLength: 64 },
            ...windowProps,
          },
        },
        response: { 200: page, '4xx': ref.error },
      },
    },
    async (req) => {
      const q = req.query
      const limit = q.limit ?? 200
      const items = auditEvents(deps.db, {
        types: q.type?.length ? q.type : undefined,
        ...windowOf(q),
        user: q.user?.toLowerCase(),
        subject: q.subject,
        actor: q.actor,
        unit: q.unit,
        limit,
      })
      return pageOf(items, limit)
    },
  )
}
