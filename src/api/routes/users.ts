import { type Acting, createAccount, disableAccount, enableAccount, getAccount, HUMAN_ROLES, listAccounts, resetPassword, setRoles } from '../accounts.js'
import type { FastifyRequest } from 'fastify'
import { tokenOf } from '../auth.js'
import { setPin } from '../pins.js'
import type { ApiDeps } from '../deps.js'
import { type ApiPlugin, ref } from '../schemas.js'
import { accountSchema } from './session.js'

const nameParams = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
} as const
const roles = { type: 'array', minItems: 1, maxItems: 6, items: { type: 'string', enum: [...HUMAN_ROLES, 'kiosk'] } } as const
const withPassword = { type: 'object', properties: { user: accountSchema, oneTimePassword: { type: ['string', 'null'] } } } as const

/**
 * Accounts, for admins: list, read, create (a person gets a one-time
 * password, shown once, changed at the first sign-in), set roles, disable
 * (its tokens and sessions die with it), enable, reset a password. Each
 * change is a ledger event naming the admin.
 */
export const userRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  const acting = (req: FastifyRequest): Acting => ({ actor: tokenOf(req).actor, component: 'api' })
  const admin = { right: 'users:admin' } as const

  app.get(
    '/users',
    {
      config: admin,
      schema: { summary: 'Accounts', response: { 200: { type: 'object', properties: { items: { type: 'array', items: accountSchema } } }, '4xx': ref.error } },
    },
    async () => ({ items: listAccounts(deps.db) }),
  )

  app.get(
    '/users/:name',
    { config: admin, schema: { summary: 'One account', params: nameParams, response: { 200: accountSchema, '4xx': ref.error } } },
    async (req) => getAccount(deps.db, req.params.name),
  )

  app.post(
    '/users',
    {
      config: admin,
      schema: {
        summary: 'Create an account (a person gets a one-time password)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'displayName', 'roles'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 64 },
            displayName: { type: 'string', minLength: 1, maxLength: 100 },
            kind: { type: 'string', enum: ['person', 'service'] },
            policeNo: { type: 'string', minLength: 1, maxLength: 32 },
            unit: { type: 'string', minLength: 1, maxLength: 64 },
            roles,
          },
        },
        response: { 201: withPassword, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const b = req.body
      const r = await createAccount(deps.db, { ...b, kind: b.kind ?? 'person' }, acting(req))
      return reply.status(201).header('cache-control', 'no-store').send({ user: r.user, oneTimePassword: r.password })
    },
  )

  app.put(
    '/users/:name/roles',
    {
      config: admin,
      schema: {
        summary: "Set an account's roles",
        params: nameParams,
        body: { type: 'object', additionalProperties: false, required: ['roles'], properties: { roles } },
        response: { 200: accountSchema, '4xx': ref.error },
      },
    },
    async (req) => setRoles(deps.db, req.params.name, req.body.roles, acting(req)),
  )

  for (const verb of ['disable', 'enable'] as const)
    app.post(
      `/users/:name/${verb}`,
      {
        config: admin,
        schema: {
          summary: verb === 'disable' ? 'Disable an account: its tokens are revoked, its sessions end' : 'Enable an account again',
          params: nameParams,
          body: { type: ['object', 'null'], additionalProperties: false, properties: {} },
          response: { 200: accountSchema, '4xx': ref.error },
        },
      },
      async (req) => (verb === 'disable' ? disableAccount : enableAccount)(deps.db, req.params.name, acting(req)),
    )

  app.post(
    '/users/:name/reset-password',
    {
      config: admin,
      schema: {
        summary: 'Reset a password: a new one-time password, changed at the next sign-in',
        params: nameParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: {} },
        response: { 200: withPassword, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const r = await resetPassword(deps.db, req.params.name, acting(req))
      reply.header('cache-control', 'no-store')
      return { user: r.user, oneTimePassword: r.password }
    },
  )

  app.put(
    '/users/:name/pin',
    {
      config: admin,
      schema: {
        summary: "Set (or with null, clear) a person's PIN for the dock screen: 4-8 digits, not an obvious one",
        params: nameParams,
        body: { type: 'object', additionalProperties: false, required: ['pin'], properties: { pin: { type: ['string', 'null'], maxLength: 8 } } },
        response: { 200: accountSchema, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store')
      return setPin(deps.db, req.params.name, req.body.pin, acting(req))
    },
  )
}
