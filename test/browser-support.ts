// Support for the browser tests (test/web-*.test.ts): Debian's chromium
// (scripts/ensure-browser-deps installs it) driven by playwright-core, a
// page that records every state its camera tiles show and when, console
// errors, axe-core, screenshots, and docking a generated camera the way a
// station sees one (an ext4 image on a loop device where the host allows,
// else a folder appearing under the mount root).
import { cpSync, existsSync, mkdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import axe from 'axe-core'
import { type Browser, chromium, type Page } from 'playwright-core'
import { cannotMount, makeImage, mountImage, placeFolder, umountLazy } from './daemon-support.js'
import { ROOT } from './helpers.js'

type Teardown = { teardown: (fn: () => void | Promise<void>) => void }

export const CHROMIUM = '/usr/bin/chromium'

/** Why the browser tests cannot run here (no chromium), or undefined. */
export function cannotBrowse(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: run scripts/ensure-browser-deps`
}

export async function launchBrowser(t: Teardown, args: string[] = []): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...args] })
  t.teardown(() => browser.close())
  return browser
}

/** One state a tile showed: which camera, which state, when the DOM had it (browser clock = this machine's clock). */
export interface Seen {
  camera: string
  state: string
  at: number
}

export interface Screen {
  page: Page
  /** Console errors and uncaught exceptions, with when they happened. */
  errors: { text: string; at: number }[]
  /** Every state each tile has shown, in order. */
  seen(): Promise<Seen[]>
}

// Runs in the page before its own scripts (a string: the tests' type check has no DOM library).
const RECORDER = `
window.__seen = []
const last = new Map()
const note = (camera, state, at) => {
  if (camera && state && last.get(camera) !== state) { last.set(camera, state); window.__seen.push({ camera, state, at }) }
}
new MutationObserver((records) => {
  const at = Date.now()
  // Several changes in one task reach the observer together: each record's old value is a state the DOM held.
  for (const r of records) if (r.type === 'attributes' && r.target.dataset && r.target.dataset.camera) note(r.target.dataset.camera, r.oldValue, at)
  for (const el of document.querySelectorAll('[data-camera]')) note(el.dataset.camera, el.dataset.state, at)
}).observe(document, { subtree: true, childList: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-state'] })
`

/**
 * Opens `url` at a viewport size. Before any page script runs, a
 * MutationObserver starts recording each tile's data-state as it changes,
 * stamped with Date.now() when the DOM had it.
 */
export async function openScreen(browser: Browser, url: string, viewport: { width: number; height: number }): Promise<Screen> {
  const page = await browser.newPage({ viewport })
  const errors: Screen['errors'] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push({ text: `${m.text()} (${m.location().url})`, at: Date.now() })
  })
  page.on('pageerror', (e) => errors.push({ text: `uncaught: ${e.message}`, at: Date.now() }))
  await page.addInitScript({ content: RECORDER })
  await page.goto(url)
  return { page, errors, seen: () => page.evaluate('window.__seen') as Promise<Seen[]> }
}

/** axe-core's serious and critical violations on the page as it is now (its source evaluated in the page: the CSP allows no injected script tag). */
export async function seriousViolations(page: Page): Promise<{ id: string; impact: string; help: string; nodes: string[] }[]> {
  await page.evaluate(axe.source)
  const found = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))`)) as {
    id: string
    impact: string
    help: string
    nodes: string[]
  }[]
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

/**
 * Where a test's screenshots go: `dir` (the test's own temporary folder,
 * named in the test's output) and a copy under artifacts/<name>/ in the
 * checkout (git-ignored) that outlives the run, for people to look at.
 */
export function screenshots(dir: string, name: string): { dir: string; kept: string; take(page: Page, file: string): Promise<string> } {
  mkdirSync(dir, { recursive: true })
  const kept = join(ROOT, 'artifacts', name)
  mkdirSync(kept, { recursive: true })
  return {
    dir,
    kept,
    take: async (page, file) => {
      const path = join(dir, file)
      await page.screenshot({ path })
      cpSync(path, join(kept, file))
      return path
    },
  }
}

export interface Docked {
  how: 'loop-mounted ext4' | 'folder'
  /** Takes the camera away at once (lazy unmount, or the folder moved out of the root). */
  unplug(): void
}

/** Docks a camera tree under `root` as `name`: an ext4 image on a loop device where the host allows, else a folder. */
export function dockCamera(t: Teardown, camera: string, root: string, name: string, work: string): Docked {
  const mp = join(root, name)
  if (!cannotMount()) {
    const img = join(work, `${name}.img`)
    if (!existsSync(img)) makeImage(camera, img)
    mountImage(t, img, mp)
    return { how: 'loop-mounted ext4', unplug: () => umountLazy(mp) }
  }
  placeFolder(camera, mp)
  return { how: 'folder', unplug: () => renameSync(mp, join(work, `${name}-unplugged-${Date.now()}`)) }
}

/**
 * Signs a freshly created user in through the sign-in page (its one-time
 * password, then the new one it must choose), starting at `path`, and
 * waits until the page is back at `path`.
 */
export async function signInFirstTime(page: Page, url: string, path: string, user: { name: string; oneTime: string; newPassword: string }): Promise<void> {
  await page.goto(`${url}${path}`)
  await page.waitForURL(/\/signin\?next=/, { timeout: 15_000 }).catch((err: Error) => {
    throw new Error(`${path} did not lead to the sign-in page (at ${page.url()}): ${err.message}`)
  })
  await page.getByLabel('用户名').fill(user.name)
  await page.getByLabel('密码').fill(user.oneTime)
  await page.getByRole('button', { name: '登录' }).click()
  await page.getByLabel('新密码', { exact: true }).waitFor()
  await page.getByLabel('新密码', { exact: true }).fill(user.newPassword)
  await page.getByLabel('再次输入新密码').fill(user.newPassword)
  await page.getByRole('button', { name: '继续' }).click()
  await page
    .waitForURL((u) => `${u.pathname}${u.search}` === path, { timeout: 15_000 })
    .catch((err: Error) => {
      throw new Error(`the sign-in did not come back to ${path} (at ${page.url()}): ${err.message}`)
    })
}
