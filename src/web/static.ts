import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
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
 * Routes whose workspace code the page preloads from its HTML: the browser
 * fetches the workspace's chunk (and its imports and styles) beside the
 * entry script instead of after it has run (on the clerks' search page
 * that was one round trip of the chain before the first results).
 * `module` is the chunk's source as the Vite manifest names it.
 */
export const PRELOADS: readonly { prefix: string; module: string }[] = [{ prefix: '/clerks', module: 'src/clerks/Clerks.svelte' }]

type Manifest = Record<string, { file: string; imports?: string[]; css?: string[]; isEntry?: boolean }>

/** The <link> tags that preload `module` and what it imports statically (not the entry: the page loads it anyway). */
export function preloadTags(manifest: Manifest, module: string): string {
  const js = new Set<string>()
  const css = new Set<string>()
  const walk = (key: string): void => {
    const c = manifest[key]
    if (!c || c.isEntry || js.has(c.file)) return
    js.add(c.file)
    for (const f of c.css ?? []) css.add(f)
    for (const i of c.imports ?? []) walk(i)
  }
  walk(module)
  return [
    ...[...css].map((f) => `<link rel="stylesheet" crossorigin href="/${f}">`),
    ...[...js].map((f) => `<link rel="modulepreload" crossorigin href="/${f}">`),
  ].join('\n    ')
}

/** index.html for each preloading route (with its tags before </head>); none when the build has no manifest. */
function preloadedPages(root: string): Map<string, string> {
  const out = new Map<string, string>()
  const at = join(root, '.vite', 'manifest.json')
  if (!existsSync(at)) return out
  const manifest = JSON.parse(readFileSync(at, 'utf8')) as Manifest
  const html = readFileSync(join(root, 'index.html'), 'utf8')
  for (const p of PRELOADS) {
    const tags = preloadTags(manifest, p.module)
    if (tags) out.set(p.prefix, html.replace('</head>', `  ${tags}\n  </head>`))
  }
  return out
}

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
    const preloaded = built ? preloadedPages(root) : new Map<string, string>()
    const page = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      if (!built)
        return reply.status(503).send({
          error: { code: 'WEB_NOT_BUILT', message: `the web front end is not built (no ${join(root, 'index.html')}): run scripts/setup` },
        })
      const path = req.url.split('?')[0] ?? ''
      const html = PRELOADS.find((p) => path === p.prefix || path.startsWith(`${p.prefix}/`))
      const withPreloads = html && preloaded.get(html.prefix)
      if (withPreloads) return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(withPreloads)
      return reply.headers(PAGE_HEADERS).sendFile('index.html', root, { maxAge: 0, immutable: false, cacheControl: false })
    }
    for (const url of WEB_PAGES) scope.get(url, { schema: { hide: true } }, page)
  })
}
