// The officer's part of the dock screen (issue 19) in a real browser
// (Debian's chromium) against a real daemon (`bodyvault start` with
// docking.officerInput on) and a generated camera docked under its own
// mount root. What would make the promise false: no way to mark a
// recording once it is safe to undock; a choice that does not reach the
// ledger under the officer's account; a wrong PIN that says more for a
// known police number than for an unknown one; a PIN shown, or left in the
// page after use or after the screen timed out; a pool camera that cannot
// be checked out and returned at the screen; a view unusable at 800x480, a
// console error, an accessibility barrier. Screenshots (1920x1080 and
// 800x480) go to the test's folder and artifacts/web-dock-officer/.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import t from 'tap'
import { createAccount } from '../src/api/accounts.js'
import { setPin } from '../src/api/pins.js'
import { createToken } from '../src/api/tokens.js'
import { silentLogger } from '../src/common/log.js'
import { eventsFor } from '../src/ledger/ledger.js'
import { importRoster } from '../src/registry/roster.js'
import { createCase } from '../src/retention/actions.js'
import { openStation } from '../src/station/station.js'
import { cannotBrowse, dockCamera, launchBrowser, openScreen, type Screen, screenshots, seriousViolations } from './browser-support.js'
import { startDaemon, waitFor } from './daemon-support.js'
import { cli, makeCamera, tempDir, testConfig } from './helpers.js'

const skip = cannotBrowse() ?? false
const BIG = { width: 1920, height: 1080 }
const SMALL = { width: 800, height: 480 }
const IDLE_SECONDS = 10
// PINs that no number on the screen is likely to contain (the test looks for them in the page).
const WANG_PIN = '58031'
const LI_PIN = '69274'

/** Types a PIN on the panel's keypad (as a finger would), after choosing the PIN field. */
async function keypad(page: Page, digits: string): Promise<void> {
  await page.locator('#dock-pin').click()
  for (const d of digits) await page.locator('.keypad').getByRole('button', { name: d, exact: true }).click()
}

async function sign(page: Page, policeNo: string, pin: string): Promise<void> {
  await page.locator('#dock-police').fill(policeNo)
  await keypad(page, pin)
  await page.getByRole('button', { name: '确认' }).click()
}

/** Nothing of the PIN anywhere in the page: not in the DOM, not in a field, not in storage. */
async function pinGone(page: Page, pin: string): Promise<boolean> {
  const html = await page.content()
  const fields = await page.locator('input').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value))
  const stored = (await page.evaluate('JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])')) as string
  return !html.includes(pin) && !fields.some((v) => v.includes(pin)) && !stored.includes(pin)
}

t.test("the officer's part at the dock: mark recordings with police number and PIN, a pool camera out and back", { skip }, async (t) => {
  const dir = tempDir(t, 'bv-web-officer-')
  const cam = await makeCamera(join(dir, 'cam'), ['--count', '6'])
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  const d = await startDaemon(t, {
    dataDir: data,
    roots: [root],
    configDir: dir,
    docking: { officerInput: true, officerIdleSeconds: IDLE_SECONDS },
    listenMs: 120_000,
  })

  // Accounts, PINs, the roster and a case, as the station's people would make them (the daemon is running).
  const st = openStation({ config: testConfig(data), logger: silentLogger() })
  t.teardown(() => st.close())
  const by = { actor: 'user:os:test', component: 'cli' as const }
  await createAccount(st.db, { username: 'wang.wei', displayName: '王伟', policeNo: '012345', kind: 'person', roles: ['officer'] }, by)
  await createAccount(st.db, { username: 'li.na', displayName: '李娜', policeNo: '004321', kind: 'person', roles: ['officer'] }, by)
  const setByCli = cli(['user', 'set-pin', 'wang.wei'], { BODYVAULT_DATA_DIR: data, BODYVAULT_PIN: WANG_PIN })
  t.equal(setByCli.code, 0, `bodyvault user set-pin: ${setByCli.stdout}${setByCli.stderr}`)
  t.notMatch(setByCli.stdout + setByCli.stderr, WANG_PIN, 'the CLI does not echo the PIN')
  t.equal(cli(['user', 'set-pin', 'li.na'], { BODYVAULT_DATA_DIR: data, BODYVAULT_PIN: '1234' }).code, 2, 'an obvious PIN is refused (exit 2)')
  await setPin(st.db, 'li.na', LI_PIN, by)
  const rctx = { db: st.db, actor: 'user:os:test', via: 'test', zone: 'Asia/Shanghai', now: new Date() }
  await importRoster(rctx, 'units', Buffer.from('code,name,level,parent\nB1,市公安局,bureau,\nS1,城北派出所,station,B1\n'), 'csv')
  await importRoster(rctx, 'officers', Buffer.from('police_number,name,unit,active_from\n012345,王伟,S1,2026-01-01\n004321,李娜,S1,2026-01-01\n'), 'csv')
  await importRoster(rctx, 'devices', Buffer.from('device_number,unit\nA1B2C3D,S1\n'), 'csv')
  createCase({ db: st.db, policy: st.policy, actor: 'user:os:test', now: new Date() }, { number: 'A2026-001', type: 'other' })
  const kiosk = createToken(st.db, { name: 'dock screen', role: 'kiosk', actor: 'test' }).secret
  const url = `${d.url}/station#token=${kiosk}`

  const browser = await launchBrowser(t)
  const big = await openScreen(browser, url, BIG)
  const small = await openScreen(browser, url, SMALL)
  const both = [big, small]
  const shots = screenshots(join(dir, 'screenshots'), 'web-dock-officer')
  t.comment(`screenshots: ${shots.dir} (copies in ${shots.kept})`)
  const docked = dockCamera(t, cam, root, 'CAM1', dir)
  t.comment(`camera docked as ${docked.how}`)
  for (const s of both) await s.page.waitForSelector('[data-state="safe-to-undock"] [data-act="mark"]', { timeout: 120_000 })
  const sessionId = (await d.status()).cameras[0]!.sessionId!

  await t.test('safe to undock: the tile offers marking and the pool checkout', async (t) => {
    for (const s of both) await s.page.waitForSelector('[data-act="checkout"]')
    const tile = (await small.page.locator('[data-camera]').textContent()) ?? ''
    t.match(tile, /采集完成，可以拔出/)
    t.match(tile, /标注本次录像/)
    t.match(tile, /公用记录仪，可领用/)
    const box = await small.page.locator('[data-act="mark"]').boundingBox()
    t.ok(box && box.height >= 48 && box.width >= 48, `a touch target at 800x480 (${box?.width}x${box?.height})`)
    await Promise.all([shots.take(big.page, 'officer-safe-1920x1080.png'), shots.take(small.page, 'officer-safe-800x480.png')])
    for (const s of both) t.same(await seriousViolations(s.page), [], `axe (${s.page.viewportSize()?.width})`)
  })

  await t.test('a wrong PIN and an unknown police number get the same words; the PIN field is emptied', async (t) => {
    const p = small.page
    await p.locator('[data-act="mark"]').click()
    await p.waitForSelector('[data-step="sign"]')
    t.equal(await p.locator('#dock-pin').getAttribute('type'), 'password', 'the PIN is never shown')
    await Promise.all([
      shots.take(p, 'officer-sign-800x480.png'),
      (async () => {
        await big.page.locator('[data-act="mark"]').click()
        await big.page.waitForSelector('[data-step="sign"]')
        await shots.take(big.page, 'officer-sign-1920x1080.png')
      })(),
    ])
    for (const s of both) t.same(await seriousViolations(s.page), [], `axe on the sign step (${s.page.viewportSize()?.width})`)
    await big.page.getByRole('button', { name: '取消' }).click()
    await sign(p, '999999', WANG_PIN)
    const unknown = await p.getByRole('alert').textContent()
    t.equal(await p.locator('#dock-pin').inputValue(), '', 'the PIN is emptied after a refusal')
    await sign(p, '012345', '70913')
    await waitFor(async () => (await p.locator('#dock-pin').inputValue()) === '', 'the second refusal')
    const wrong = await p.getByRole('alert').textContent()
    t.equal(unknown, '警号或密码不正确')
    t.equal(wrong, unknown, 'the same answer: nothing tells whether the police number exists')
  })

  await t.test('the right PIN: the officer marks category, case and "important"; the ledger has it under their account', async (t) => {
    // The big screen first (its panel times out while the small one is used, and the other way round).
    await big.page.locator('[data-act="mark"]').click()
    await sign(big.page, '012345', WANG_PIN)
    await big.page.waitForSelector('[data-step="list"]')
    await shots.take(big.page, 'officer-list-1920x1080.png')
    t.same(await seriousViolations(big.page), [], 'axe on the list (1920)')
    await big.page.getByRole('button', { name: '取消' }).click()

    const p = small.page
    if ((await p.locator('[data-step="sign"]').count()) === 0) await p.locator('[data-act="mark"]').click()
    await sign(p, '012345', WANG_PIN)
    await p.waitForSelector('[data-step="list"]')
    const ids = (await p
      .locator('[data-recording]')
      .evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: Record<string, string> }).dataset.recording)))) as number[]
    t.ok(ids.length >= 3, `the docking's clips are listed (${ids.length})`)
    t.match(await p.locator('.hello').textContent(), /王伟（警号 012345）/)
    await shots.take(p, 'officer-list-800x480.png')
    t.same(await seriousViolations(p), [], 'axe on the list (800)')

    const [a, b, c] = ids as [number, number, number]
    await p.locator(`[data-recording="${a}"] [data-category="evidence"]`).click()
    await p.locator(`#case-${a}`).fill('A2026-001')
    await p.locator(`[data-recording="${b}"] [data-category="patrol"]`).click()
    await p.locator(`[data-recording="${c}"] .important`).click()
    t.equal(await p.locator(`[data-recording="${c}"] .important`).getAttribute('aria-pressed'), 'true')
    await shots.take(p, 'officer-marked-800x480.png')
    await p.getByRole('button', { name: '保存标注' }).click()
    await p.waitForSelector('[data-step="done"]')
    t.match(await p.getByRole('status').last().textContent(), /已保存 3 条录像的标注/)
    await shots.take(p, 'officer-saved-800x480.png')

    const own = (id: number) => eventsFor(st.db, `recording:${id}`).filter((e) => ['category-changed', 'case-linked', 'importance-changed'].includes(e.type))
    t.match(own(a), [
      { type: 'category-changed', actor: 'user:wang.wei', payload: { to: 'evidence', via: 'dock' } },
      { type: 'case-linked', actor: 'user:wang.wei', payload: { caseNumber: 'A2026-001', via: 'dock' } },
    ])
    t.match(own(b), [{ type: 'category-changed', actor: 'user:wang.wei', payload: { to: 'patrol', via: 'dock' } }])
    t.match(own(c), [{ type: 'importance-changed', actor: 'user:wang.wei', payload: { to: true, via: 'dock' } }])
    t.ok(await pinGone(p, WANG_PIN), 'the PIN is nowhere in the page once saved')
    await p.getByRole('button', { name: '返回采集屏幕' }).click()
    await p.waitForSelector('[data-step]', { state: 'detached' })
    t.equal(await p.locator('input[type="password"]').count(), 0)
    t.ok(await pinGone(p, WANG_PIN), 'nor after the panel closed')
  })

  await t.test('left alone, the panel closes by itself and forgets what was typed', async (t) => {
    const p = big.page
    await p.locator('[data-act="mark"]').click()
    await p.waitForSelector('[data-step="sign"]')
    await p.locator('#dock-police').fill('012345')
    await keypad(p, WANG_PIN)
    const typedAt = Date.now()
    await p.waitForSelector('[data-step]', { state: 'detached', timeout: (IDLE_SECONDS + 5) * 1000 })
    const after = (Date.now() - typedAt) / 1000
    t.ok(after >= IDLE_SECONDS - 1, `closed after ${after.toFixed(1)} s untouched (docking.officerIdleSeconds ${IDLE_SECONDS})`)
    t.ok(await pinGone(p, WANG_PIN), 'the typed PIN is gone with it')
    t.ok(await p.locator('[data-state="safe-to-undock"]').isVisible(), 'back to the dock view')
  })

  await t.test('a pool camera: checked out and returned at the screen, the registry events by the officer', async (t) => {
    const p = small.page
    await p.locator('[data-act="checkout"]').click()
    await p.waitForSelector('[data-step="sign"][data-action="checkout"]')
    await sign(p, '004321', LI_PIN)
    await p.waitForSelector('[data-step="done"]')
    t.match(await p.getByRole('status').last().textContent(), /领用成功：设备编号 A1B2C3D 已登记给 李娜（警号 004321）/)
    await shots.take(p, 'pool-checked-out-800x480.png')
    await p.getByRole('button', { name: '返回采集屏幕' }).click()
    // The other screen learns of the checkout from its next look at the station (every 5 s while a camera is docked).
    for (const s of both) await s.page.waitForSelector('[data-act="return"]', { timeout: 15_000 })
    t.match(await p.locator('[data-camera]').textContent(), /已由警号 004321 领用/)
    await Promise.all([shots.take(big.page, 'pool-return-1920x1080.png'), shots.take(p, 'pool-return-800x480.png')])
    for (const s of both) t.same(await seriousViolations(s.page), [], `axe with a checked-out pool camera (${s.page.viewportSize()?.width})`)

    await p.locator('[data-act="return"]').click()
    await p.waitForSelector('[data-step="sign"][data-action="return"]')
    await sign(p, '004321', LI_PIN)
    await p.waitForSelector('[data-step="done"]')
    t.match(await p.getByRole('status').last().textContent(), /归还成功/)
    await p.getByRole('button', { name: '返回采集屏幕' }).click()
    await p.waitForSelector('[data-act="checkout"]')
    const rows = st.db.prepare("SELECT id FROM device_assignments WHERE device_number = 'A1B2C3D'").pluck().all() as number[]
    t.equal(rows.length, 1, 'one checkout')
    t.match(eventsFor(st.db, `assignment:${rows[0]}`), [
      { type: 'device-assigned', actor: 'user:li.na', payload: { kind: 'checkout', deviceNumber: 'A1B2C3D', policeNumber: '004321' } },
      { type: 'device-returned', actor: 'user:li.na', payload: { kind: 'checkout', deviceNumber: 'A1B2C3D' } },
    ])
    t.ok(await pinGone(p, LI_PIN), "the officer's PIN is not left in the page")
  })

  await t.test('no console error but the refused PINs themselves', async (t) => {
    const refused = /status of 401 \(Unauthorized\).*\/v1\/station\/sessions\/\d+\/recordings/
    for (const s of both as Screen[]) {
      const other = s.errors.filter((e) => !refused.test(e.text))
      t.same(other, [], `no console error (${s.page.viewportSize()?.width})`)
    }
    t.equal(small.errors.length, 2, 'the two refused sign attempts, as the browser logs every 401')
  })
  t.equal(sessionId > 0, true)
  await d.stop()
})
