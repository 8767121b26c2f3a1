import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { packageRoot } from '../common/paths.js'

/** Where scripts/setup builds the front end (web/ compiled by Vite). */
export function webRoot(): string {
  return join(packageRoot(), 'web', 'dist')
}

/** The front end's pages: each is index.html, which picks its screen from the path. */
export const WEB_PAGES = [
  '/',
  '/station',
  '/signin',
  '/account/password',
  '/clerks',
  '/clerks/*',
  '/exports',
  '/approvals',
  '/dashboard',
  '/dashboard/items',
  '/audit',
  '/audit/trail',
  '/account/security',
] as const

/**
 * Served with every page: scripts, styles and connections only from this
 * station (no CDN, nothing inline: the station may be offline, and an
 * injected script has nowhere to send a token), never framed.
 */
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
}

/**
 * The web front end, served by the daemon beside the API: its pages and
 * its hashed assets (cached for a year: a new build has new names). They
 * need no credential (they hold none; the screens ask for one and send it
 * to the API). When the front end is not built, its pages answer 503
 * with what to do.
 */
export async function webRoutes(app: FastifyInstance, o: { root?: string } = {}): Promise<void> {
  const root = o.root ?? webRoot()
  const built = existsSync(join(root, 'index.html'))
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, public: true }
    })
    if (built)
      await scope.register(fastifyStatic, {
        root: join(root, 'assets'),
        prefix: '/assets/',
        index: false,
        maxAge: '365d',
        immutable: true,
        serveDotFiles: false,
      })
    const page = async (_req: unknown, reply: FastifyReply): Promise<FastifyReply> => {
      if (!built)
        return reply.status(503).send({
          error: { code: 'WEB_NOT_BUILT', message: `the web front end is not built (no ${join(root, 'index.html')}): run scripts/setup` },
        })
      return reply.headers(PAGE_HEADERS).sendFile('index.html', root, { maxAge: 0, immutable: false, cacheControl: false })
    }
    for (const url of WEB_PAGES) scope.get(url, { schema: { hide: true } }, page)
  })
}
