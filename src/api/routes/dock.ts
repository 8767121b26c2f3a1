import type { FastifyInstance, FastifyReply } from 'fastify'
import type { CameraStatus } from '../../dock/status.js'
import { BodyvaultError } from '../../common/errors.js'
import type { RetentionPolicy } from '../../retention/policy.js'
import { checkoutAtDock, classifyAtDock, type DockCtx, dockRecordings, poolState, returnAtDock } from '../dock-officer.js'
import { checkOfficerPin } from '../pins.js'
import { type ApiTypeProvider, ref } from '../schemas.js'
import { LockedError, type People } from '../sign-in.js'

export interface DockRouteDeps {
  people: People
  policy: RetentionPolicy
  /** docking.officerInput: off, every route but GET /station/dock answers DOCK_INPUT_OFF. */
  officerInput: boolean
  /** The screen's officer panel closes and forgets the PIN after this long untouched. */
  idleSeconds: number
  /** The categories an officer may choose, with their labels (config retention.categories). */
  categories: Record<string, { label?: string }>
  zone: string
  /** The cameras docked now (the dock daemon's status). */
  cameras(): CameraStatus[]
  now?: () => Date
}

const signed = {
  policeNo: { type: 'string', minLength: 1, maxLength: 32 },
  // Digits only: anything else is no PIN (and not counted as a guess).
  pin: { type: 'string', pattern: '^[0-9]{4,8}$' },
} as const
const sessionParams = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'integer', minimum: 1 } } } as const
const deviceParams = {
  type: 'object',
  required: ['device'],
  additionalProperties: false,
  properties: { device: { type: 'string', minLength: 1, maxLength: 64 } },
} as const
const officerView = { type: 'object', properties: { displayName: { type: 'string' }, policeNo: { type: 'string' } } } as const
const assignmentView = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    deviceNumber: { type: 'string' },
    policeNumber: { type: 'string' },
    validFrom: { type: 'string' },
    validTo: { type: ['string', 'null'] },
  },
} as const

/**
 * The officer's part of the dock screen (issue 19), under /v1/station:
 * what the screen offers (GET /station/dock: on or off, the categories, the
 * docked pool cameras), and the officer's acts, each signed with police
 * number and PIN in its body: list and classify their recordings of a
 * finished docking, check a pool camera out, return it. The kiosk's token
 * carries the request (right `dock:sign`: it can do nothing without an
 * officer's PIN); the changes name the officer's account. A wrong PIN is
 * DOCK_SIGN_FAILED whether or not the police number exists, and counts
 * toward the sign-in lockout (SIGN_IN_LOCKED with Retry-After).
 */
export async function dockRoutes(plain: FastifyInstance, deps: DockRouteDeps): Promise<void> {
  const app = plain.withTypeProvider<ApiTypeProvider>()
  const ctx = (): DockCtx => ({ db: deps.people.db, policy: deps.policy, now: deps.now?.() ?? new Date() })
  const officer = async (body: { policeNo: string; pin: string }, client: string, reply: FastifyReply) => {
    if (!deps.officerInput) throw new BodyvaultError('DOCK_INPUT_OFF')
    reply.header('cache-control', 'no-store')
    try {
      return await checkOfficerPin(deps.people, body.policeNo, body.pin, client)
    } catch (err) {
      if (err instanceof LockedError) reply.header('retry-after', err.retryAfter)
      throw err
    }
  }
  const view = (who: { displayName: string; policeNo: string | null }) => ({ displayName: who.displayName, policeNo: who.policeNo ?? '' })
  const docked = (device: string): void => {
    if (!deps.cameras().some((c) => c.deviceId === device)) throw new BodyvaultError('NOT_DOCKED', `device ${device} is not docked at this station now`)
  }
  const sign = { right: 'dock:sign' } as const

  app.get(
    '/station/dock',
    {
      config: { right: 'station:read' },
      schema: {
        summary: "What the dock screen offers officers: whether officer input is on, the categories, the docked cameras' pool state",
        response: {
          200: {
            type: 'object',
            properties: {
              officerInput: { type: 'boolean' },
              idleSeconds: { type: 'integer' },
              categories: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, label: { type: ['string', 'null'] } } } },
              pool: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    deviceNumber: { type: 'string' },
                    state: { type: 'string', enum: ['available', 'checked-out'] },
                    policeNo: { type: ['string', 'null'] },
                  },
                },
              },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async () => {
      if (!deps.officerInput) return { officerInput: false, idleSeconds: deps.idleSeconds, categories: [], pool: [] }
      const now = deps.now?.() ?? new Date()
      const devices = [...new Set(deps.cameras().flatMap((c) => (c.deviceId ? [c.deviceId] : [])))]
      const pool = devices.flatMap((d) => {
        const s = poolState(deps.people.db, d, now)
        return s ? [{ deviceNumber: d, state: s.state, policeNo: s.state === 'checked-out' ? s.policeNo : null }] : []
      })
      const categories = Object.keys(deps.policy.categories).map((id) => ({ id, label: deps.categories[id]?.label ?? null }))
      return { officerInput: true, idleSeconds: deps.idleSeconds, categories, pool }
    },
  )

  app.post(
    '/station/sessions/:id/recordings',
    {
      config: sign,
      schema: {
        summary: "An officer's own recordings of a finished docking (police number and PIN)",
        params: sessionParams,
        body: { type: 'object', additionalProperties: false, required: ['policeNo', 'pin'], properties: signed },
        response: {
          200: {
            type: 'object',
            properties: {
              officer: officerView,
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    id: { type: 'integer' },
                    kind: { type: 'string' },
                    recordedAt: { type: 'string' },
                    category: { type: ['string', 'null'] },
                    caseNumber: { type: ['string', 'null'] },
                    important: { type: 'boolean' },
                    locked: { type: 'boolean' },
                  },
                },
              },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req, reply) => {
      const who = await officer(req.body, req.ip, reply)
      return { officer: view(who), items: dockRecordings(ctx(), who, req.params.id) }
    },
  )

  app.post(
    '/station/sessions/:id/classify',
    {
      config: sign,
      schema: {
        summary: 'An officer\'s category, case and "important" for their recordings of a finished docking (police number and PIN), all or none',
        params: sessionParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['policeNo', 'pin', 'items'],
          properties: {
            ...signed,
            items: {
              type: 'array',
              minItems: 1,
              maxItems: 500,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['recordingId'],
                properties: {
                  recordingId: { type: 'integer', minimum: 1 },
                  category: { type: 'string', minLength: 1, maxLength: 64 },
                  caseNumber: { type: 'string', minLength: 1, maxLength: 64 },
                  important: { type: 'boolean' },
                },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              officer: officerView,
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { recordingId: { type: 'integer' }, changed: { type: 'array', items: { type: 'string' } } },
                },
              },
            },
          },
          '4xx': ref.error,
        },
      },
    },
    async (req, reply) => {
      const who = await officer(req.body, req.ip, reply)
      return { officer: view(who), items: classifyAtDock(ctx(), who, req.params.id, req.body.items) }
    },
  )

  for (const act of ['checkout', 'return'] as const)
    app.post(
      `/station/devices/:device/${act}`,
      {
        config: sign,
        schema: {
          summary:
            act === 'checkout'
              ? 'An officer checks a docked pool camera out (police number and PIN)'
              : 'An officer returns the docked pool camera they checked out',
          params: deviceParams,
          body: { type: 'object', additionalProperties: false, required: ['policeNo', 'pin'], properties: signed },
          response: { 200: { type: 'object', properties: { officer: officerView, assignment: assignmentView } }, '4xx': ref.error },
        },
      },
      async (req, reply) => {
        const who = await officer(req.body, req.ip, reply)
        docked(req.params.device)
        const a = (act === 'checkout' ? checkoutAtDock : returnAtDock)(ctx(), who, req.params.device, deps.zone)
        return { officer: view(who), assignment: a }
      },
    )
}
