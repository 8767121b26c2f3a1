import type { FastifyRequest } from 'fastify'
import { listAssignments } from '../../catalog/assignments.js'
import { getFinding, listFindings, openFindingCounts } from '../../catalog/findings.js'
import { getDevice, getOfficer, getUnit, listDevices, listOfficers, listUnits, unitHistory } from '../../catalog/registry.js'
import { BodyvaultError } from '../../common/errors.js'
import { assignDevice, returnDevice } from '../../registry/assign.js'
import { resolveFinding } from '../../registry/findings.js'
import {
  type RegistryCtx,
  retireDevice,
  retireOfficer,
  retireUnit,
  type SaveMode,
  saveDeviceEntry,
  saveOfficerEntry,
  saveUnitEntry,
} from '../../registry/manage.js'
import type { Fields } from '../../registry/rules.js'
import { actorOf } from '../auth.js'
import type { ApiDeps } from '../deps.js'
import { isoInstant } from '../params.js'
import { type ApiPlugin, id, idParams, instant, ref } from '../schemas.js'

const str = (max = 200) => ({ type: 'string', minLength: 1, maxLength: max }) as const
const open = { type: 'object', additionalProperties: true } as const
const items = { type: 'object', properties: { items: { type: 'array', items: open } } } as const
const keyParams = { type: 'object', required: ['key'], additionalProperties: false, properties: { key: str(64) } } as const

/** The body of each entity, camelCase (the roster's columns in snake_case). */
const BODIES = {
  units: { code: str(32), name: str(), level: { type: 'string', enum: ['bureau', 'station', 'team'] }, parent: { type: ['string', 'null'], maxLength: 32 } },
  officers: {
    policeNumber: str(6),
    name: str(),
    unit: str(32),
    activeFrom: instant,
    activeTo: { type: ['string', 'null'], format: 'date-time' },
    unitFrom: instant,
  },
  devices: {
    deviceNumber: str(32),
    serial: { type: ['string', 'null'], maxLength: 128 },
    usbId: { type: ['string', 'null'], maxLength: 9 },
    model: { type: ['string', 'null'], maxLength: 200 },
    profile: { type: ['string', 'null'], maxLength: 64 },
    unit: { type: ['string', 'null'], maxLength: 32 },
    status: { type: 'string', enum: ['in-service', 'repair', 'retired'] },
  },
} as const
type Entity = keyof typeof BODIES
const KEY: Record<Entity, string> = { units: 'code', officers: 'policeNumber', devices: 'deviceNumber' }

/** A JSON body as the roster's fields: camelCase to snake_case, null to "cleared". */
function fields(body: Record<string, unknown>): Fields {
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v === null ? '' : String(v)]))
}

/**
 * The registry over HTTP: units, officers, devices (admins change them;
 * clerks, supervisors and auditors read), who carries which device, and
 * the findings clerks and supervisors resolve. Thin: src/registry/ holds
 * the rules and writes each change with its ledger event.
 */
export const registryRoutes: ApiPlugin<ApiDeps> = async (app, deps) => {
  const ctx = (req: FastifyRequest): RegistryCtx => ({ db: deps.db, actor: actorOf(req), via: 'api', zone: deps.station.timezone, now: new Date() })
  const save = (e: Entity, c: RegistryCtx, f: Fields, mode: SaveMode) =>
    e === 'units' ? saveUnitEntry(c, f, mode) : e === 'officers' ? saveOfficerEntry(c, f, mode) : saveDeviceEntry(c, f, mode)
  const notFound = (what: string): never => {
    throw new BodyvaultError('REGISTRY_NOT_FOUND', `no ${what}`)
  }
  const one = (e: Entity, key: string) => {
    if (e === 'units') {
      const u = getUnit(deps.db, key) ?? notFound(`unit ${key}`)
      return {
        ...u,
        children: listUnits(deps.db)
          .filter((c) => c.parentCode === key)
          .map((c) => c.code),
      }
    }
    if (e === 'officers') {
      const o = getOfficer(deps.db, key) ?? notFound(`officer ${key}`)
      return { ...o, units: unitHistory(deps.db, key), assignments: listAssignments(deps.db, { policeNumber: key }) }
    }
    const d = getDevice(deps.db, key) ?? notFound(`device ${key}`)
    return { ...d, assignments: listAssignments(deps.db, { deviceNumber: key }) }
  }

  for (const e of Object.keys(BODIES) as Entity[]) {
    const body = BODIES[e]
    app.get(
      `/${e}`,
      {
        config: { right: 'registry:read' },
        schema: {
          summary: `The roster: ${e}`,
          querystring: { type: 'object', additionalProperties: false, properties: { unit: str(32) } },
          response: { 200: items, '4xx': ref.error },
        },
      },
      async (req) => {
        const unit = (req.query as { unit?: string }).unit
        return {
          items: e === 'units' ? listUnits(deps.db) : e === 'officers' ? listOfficers(deps.db, { unitCode: unit }) : listDevices(deps.db, { unitCode: unit }),
        }
      },
    )
    app.get(
      `/${e}/:key`,
      {
        config: { right: 'registry:read' },
        schema: { summary: `One of the ${e}, with its history`, params: keyParams, response: { 200: open, '4xx': ref.error } },
      },
      async (req) => one(e, req.params.key),
    )
    app.post(
      `/${e}`,
      {
        config: { right: 'registry:write' },
        schema: {
          summary: `Add to the ${e}`,
          body: {
            type: 'object',
            additionalProperties: false,
            required: e === 'units' ? ['code', 'name', 'level'] : e === 'officers' ? ['policeNumber', 'name', 'unit'] : ['deviceNumber'],
            properties: body,
          },
          response: { 201: open, '4xx': ref.error },
        },
      },
      async (req, reply) => {
        const r = save(e, ctx(req), fields(req.body as Record<string, unknown>), 'add')
        reply.code(201)
        return r
      },
    )
    app.patch(
      `/${e}/:key`,
      {
        config: { right: 'registry:write' },
        schema: {
          summary: `Change one of the ${e}`,
          params: keyParams,
          body: { type: 'object', additionalProperties: false, properties: body },
          response: { 200: open, '4xx': ref.error },
        },
      },
      async (req) => save(e, ctx(req), fields({ ...(req.body as Record<string, unknown>), [KEY[e]]: req.params.key }), 'update'),
    )
    app.post(
      `/${e}/:key/retire`,
      { config: { right: 'registry:write' }, schema: { summary: `Retire one of the ${e}`, params: keyParams, response: { 200: open, '4xx': ref.error } } },
      async (req) =>
        e === 'units'
          ? retireUnit(ctx(req), req.params.key)
          : e === 'officers'
            ? retireOfficer(ctx(req), req.params.key)
            : retireDevice(ctx(req), req.params.key),
    )
  }

  app.post(
    '/devices/:key/assignments',
    {
      config: { right: 'registry:write' },
      schema: {
        summary: 'Assign the device to an officer for a period, or check it out for a shift',
        params: keyParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['policeNumber', 'kind'],
          properties: { policeNumber: str(6), kind: { type: 'string', enum: ['assignment', 'checkout'] }, from: instant, to: instant },
        },
        response: { 201: open, '4xx': ref.error },
      },
    },
    async (req, reply) => {
      const b = req.body
      const a = assignDevice(ctx(req), {
        deviceNumber: req.params.key,
        policeNumber: b.policeNumber,
        kind: b.kind,
        from: b.from === undefined ? undefined : isoInstant(b.from, 'from'),
        to: b.to === undefined ? null : isoInstant(b.to, 'to'),
      })
      reply.code(201)
      return a
    },
  )
  app.post(
    '/devices/:key/return',
    {
      config: { right: 'registry:write' },
      schema: {
        summary: 'End the device’s assignment, or return it from a checkout',
        params: keyParams,
        body: { type: 'object', additionalProperties: false, properties: { at: instant } },
        response: { 200: open, '4xx': ref.error },
      },
    },
    async (req) => returnDevice(ctx(req), req.params.key, req.body?.at === undefined ? undefined : isoInstant(req.body.at, 'at')),
  )

  app.get(
    '/findings',
    {
      config: { right: 'findings:read' },
      schema: {
        summary: 'Findings: name/assignment conflicts and reconciliation gaps, for clerks and supervisors',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: ['officer-conflict', 'reconciliation'] }, state: { type: 'string', enum: ['open', 'resolved', 'all'] } },
        },
        response: { 200: items, '4xx': ref.error },
      },
    },
    async (req) => {
      const state = req.query.state ?? 'open'
      return { items: listFindings(deps.db, { kind: req.query.kind, open: state === 'all' ? undefined : state === 'open' }) }
    },
  )
  app.get(
    '/station/findings',
    {
      // Counts only (no officer, no recording): what `bodyvault status` and the dock screen may show.
      config: { right: 'station:read' },
      schema: { summary: 'Open findings by kind and code', response: { 200: items, '4xx': ref.error } },
    },
    async () => ({ items: openFindingCounts(deps.db) }),
  )
  app.get(
    '/findings/:id',
    { config: { right: 'findings:read' }, schema: { summary: 'One finding', params: idParams, response: { 200: open, '4xx': ref.error } } },
    async (req) => getFinding(deps.db, req.params.id) ?? notFound(`finding ${req.params.id}`),
  )
  app.post(
    '/findings/:id/resolve',
    {
      config: { right: 'findings:resolve' },
      schema: {
        summary: 'Resolve a finding, saying what was found',
        params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id } },
        body: { type: 'object', additionalProperties: false, required: ['resolution'], properties: { resolution: str(2000) } },
        response: { 200: open, '4xx': ref.error },
      },
    },
    async (req) => resolveFinding({ db: deps.db, actor: actorOf(req), now: new Date() }, req.params.id, req.body.resolution),
  )
}
