// The clerks' workspace in a real browser (Debian's chromium) against a
// real daemon (`bodyvault start`) with a generated camera docked. What
// would make its promises false: a page that shows footage to nobody, a
// proxy that does not play or seek, an original read without a reason or
// without a trace in the custody trail, a "verified" the browser did not
// compute itself (a tampered proof served to the page must show "not
// verified"), a case that cannot be opened or linked, a console error, an
// accessibility barrier. Screenshots of every page at 1920x1080 and
// 1366x768 go to the test's folder and artifacts/web-clerks/.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { Page } from 'playwright-core'
import { cannotBrowse, dockCamera, launchBrowser, screenshots, seriousViolations } from './browser-support.js'
import { loadOrCreateStationKey } from '../src/ledger/keys.js'
import { freePort, startDaemon, waitFor } from './daemon-support.js'
import { cli, makeCamera, tempDir } from './helpers.js'

const skip = cannotBrowse() ?? false
const BIG = { width: 1920, height: 1080 }
const SMALL = { width: 1366, height: 768 }
const NEW_PASSWORD = 'Evidence-Desk-Passphrase-42'

t.test('a clerk signs in, searches, plays, reads the original with a reason, sees it in the checked custody trail, opens a case', { skip }, async (t) => {
  const dir = tempDir(t, 'bv-clerks-')
  const cam = await makeCamera(join(dir, 'cam'), ['--count', '7'])
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  // A real witness station (a second daemon) co-signs this station's checkpoints; the keys exist before either
  // starts, so that each config can name the other's.
  const witnessData = join(dir, 'witness')
  const witnessUrl = `http://127.0.0.1:${await freePort()}`
  const stationKey = loadOrCreateStationKey(data, 'station-01')
  const witnessKey = loadOrCreateStationKey(witnessData, 'witness-01')
  await startDaemon(t, {
    dataDir: witnessData,
    roots: [join(dir, 'no-cameras-here')],
    configDir: dir,
    port: Number(new URL(witnessUrl).port),
    config: { station: { id: 'witness-01', name: 'witness-01' }, witnesses: [{ vkey: stationKey.vkey, url: null }] },
    listenMs: 120_000,
  })
  const d = await startDaemon(t, {
    dataDir: data,
    roots: [root],
    configDir: dir,
    config: { ledger: { anchorSeconds: 0.3, witnessTimeoutSeconds: 5 }, witnesses: [{ vkey: witnessKey.vkey, url: witnessUrl }] },
    listenMs: 120_000,
  })
  const env = { BODYVAULT_DATA_DIR: data }
  const made = cli(['user', 'create', 'li.na', '--display', '李娜', '--police-no', '010001', '--role', 'clerk,supervisor', '--json'], env)
  t.equal(made.code, 0, made.stderr)
  const oneTime = (JSON.parse(made.stdout) as { oneTimePassword: string }).oneTimePassword
  const docked = dockCamera(t, cam, root, 'CAM1', dir)
  t.comment(`camera docked as ${docked.how}`)

  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: BIG, acceptDownloads: true })
  const errors: { text: string; url: string }[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push({ text: m.text(), url: m.location().url })
  })
  page.on('pageerror', (e) => errors.push({ text: `uncaught: ${e.message}`, url: '' }))
  const shots = screenshots(join(dir, 'screenshots'), 'web-clerks')
  t.comment(`screenshots: ${shots.dir} (copies in ${shots.kept})`)
  /** Both sizes, and axe on what is on screen. */
  const look = async (p: Page, name: string, below?: string): Promise<void> => {
    const take = async (size: string): Promise<void> => {
      await shots.take(p, `${name}-${size}.png`)
      if (!below) return
      // What is further down the page too (the custody trail under the player).
      await p.locator(below).scrollIntoViewIfNeeded()
      await shots.take(p, `${name}-lower-${size}.png`)
      await p.evaluate('window.scrollTo(0, 0)')
    }
    await take('1920x1080')
    await p.setViewportSize(SMALL)
    await p.waitForTimeout(150)
    await take('1366x768')
    t.same(await seriousViolations(p), [], `axe: no serious or critical violation (${name}, 1366x768)`)
    await p.setViewportSize(BIG)
    await p.waitForTimeout(150)
    t.same(await seriousViolations(p), [], `axe: no serious or critical violation (${name}, 1920x1080)`)
  }

  await t.test('sign-in: nobody goes to the sign-in page and comes back; the one-time password must be replaced', async (t) => {
    await page.goto(`${d.url}/clerks?officer=012345`)
    await page.waitForURL(/\/signin\?next=/)
    t.match(page.url(), /next=%2Fclerks%3Fofficer%3D012345/, 'it will come back to the search asked for')
    t.equal(await page.evaluate('document.documentElement.lang'), 'zh-CN', 'Chinese first')
    await look(page, 'signin')
    await page.getByLabel('用户名').fill('li.na')
    await page.getByLabel('密码').fill('wrong-password')
    await page.getByRole('button', { name: '登录' }).click()
    await page.getByRole('alert').waitFor()
    t.match(await page.getByRole('alert').textContent(), /用户名或密码错误/, 'a wrong password says what to do')
    await page.getByLabel('密码').fill(oneTime)
    await page.getByRole('button', { name: '登录' }).click()
    await page.getByLabel('新密码', { exact: true }).waitFor()
    await look(page, 'signin-new-password')
    await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel('再次输入新密码').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: '继续' }).click()
    await page.waitForURL(/\/clerks\?officer=012345$/)
    await page.locator('[data-person="li.na"]').waitFor()
  })

  let id = 0
  await t.test('search: the query in the address, thumbnails, keyboard, an empty state that says what to do', async (t) => {
    // The daemon copies the camera and makes the proxies: wait for a clip that has both.
    let said = 0
    id = await waitFor(
      async () => {
        const r = await page.request.get(`${d.url}/v1/recordings?kind=video&officer=012345`)
        const items = ((await r.json()) as { items?: { id: number; sourcePath: string }[] }).items ?? []
        if (Date.now() - said > 10_000) {
          said = Date.now()
          t.comment(`waiting: ${r.status()} ${items.length} clips; ${d.events('media.job_done').length} media jobs done`)
        }
        for (const it of items.filter((x) => /\.MP4$/.test(x.sourcePath))) {
          const one = (await (await page.request.get(`${d.url}/v1/recordings/${it.id}`)).json()) as { derivatives: { kind: string }[] }
          if (['proxy', 'thumbnail'].every((k) => one.derivatives.some((x) => x.kind === k))) return it.id
        }
        return 0
      },
      'a clip with its proxy and thumbnail',
      120_000,
      1000,
    )
    await page.reload()
    await page.locator(`a[data-result="${id}"] img`).waitFor()
    const count = await page.locator('a[data-result]').count()
    t.ok(count >= 3, `${count} results for the officer`)
    t.equal(await page.locator('input[name="officer"]').inputValue(), '012345', 'the form shows the query in the address')
    await look(page, 'search-grid')
    await page.locator('a[data-result]').first().focus()
    await page.keyboard.press('ArrowRight')
    t.equal(
      await page.evaluate('document.activeElement.dataset.result'),
      await page.locator('a[data-result]').nth(1).getAttribute('data-result'),
      'arrow keys move between results',
    )
    await page.getByRole('button', { name: '列表' }).click()
    await page.waitForURL(/view=list/)
    await look(page, 'search-list')
    await page.locator('input[name="officer"]').fill('999999')
    await page.getByRole('button', { name: '检索', exact: true }).click()
    await page.locator('[data-state="empty"]').waitFor()
    t.match(page.url(), /officer=999999/, 'the new search is in the address')
    t.match(await page.locator('[data-state="empty"]').textContent(), /请放宽条件/, 'the empty state says what to do')
    await look(page, 'search-empty')
  })

  await t.test('a recording: the proxy plays and seeks; a marker; the original only with a reason; the trail shows it, checked in the browser', async (t) => {
    await page.goto(`${d.url}/clerks/recordings/${id}`)
    const video = page.locator('video[data-playing="proxy"]')
    await video.waitFor()
    await page.evaluate(`(() => { const v = document.querySelector('video'); v.muted = true; return v.play() })()`)
    const played = await waitFor(
      async () => {
        const ct = (await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime)) as number
        return ct > 1 ? ct : 0
      },
      'the proxy to play past 1 s',
      30_000,
      100,
    )
    t.ok(played > 1, `the proxy plays (currentTime ${played.toFixed(2)} s)`)
    await video.evaluate((v) => {
      ;(v as unknown as { currentTime: number }).currentTime = 0.2
    })
    await page.locator('input[name="marker-note"]').fill('出示执法证件')
    await page.getByRole('button', { name: '在当前时间添加标记' }).click()
    await page.locator('[data-marker]').first().waitFor()
    t.match(await page.locator('.markers').textContent(), /出示执法证件/, 'the marker is listed')
    const facts = (await page.locator('dl.ws-facts').first().textContent()) ?? ''
    t.match(facts, /012345/, 'police number')
    t.match(facts, /UTC\+08:00/, 'the time with its offset')
    t.match(facts, /时间取自记录仪文件名/, 'and its source')
    // The rule beside the deadline (uncategorised, awaiting-case ... as the API names it) in Chinese words, not its id.
    const rule = page.locator('[data-rule]')
    const ruleId = (await rule.getAttribute('data-rule')) ?? ''
    const ruleText = (await rule.textContent()) ?? ''
    t.ok(ruleId && !ruleText.includes(ruleId) && /[\u4e00-\u9fff]/.test(ruleText), `the retention rule ${ruleId} in words: ${ruleText}`)

    await page.getByRole('button', { name: '下载原始文件' }).click()
    const dialog = page.locator('dialog[open]')
    await dialog.waitFor()
    t.match(await dialog.textContent(), /事由/, 'a reason is asked before the original is read')
    await look(page, 'recording-reason')
    await dialog.getByLabel('调阅事由').fill('好')
    await dialog.getByRole('button', { name: '记录事由并下载' }).click()
    t.match(await dialog.getByRole('alert').textContent(), /至少 2 个汉字/, 'a reason too short is refused before anything is read')
    await dialog.getByLabel('调阅事由').fill('案件复核调阅')
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: '记录事由并下载' }).click()])
    t.match(download.suggestedFilename(), /\.MP4$/, 'the original downloads')
    const row = page.locator('li[data-event="viewed"][data-what="original"]')
    await row.waitFor({ timeout: 20_000 })
    t.match(await row.textContent(), /案件复核调阅/, 'the custody trail shows the access and its reason')
    await page.locator('.proof[data-proof="verified"]').waitFor({ timeout: 20_000 })
    t.equal(await row.getAttribute('data-proof'), 'verified', 'that access checked in the browser against the signed checkpoint')
    const key = JSON.parse(cli(['key', 'show', '--json'], env).stdout) as { fingerprint: string }
    const shown = ((await page.locator('[data-fingerprint]').textContent()) ?? '').replace(/\s+/g, '')
    t.equal(shown, key.fingerprint, 'the fingerprint the browser computed is what bodyvault key show prints')
    t.equal(await page.locator('li[data-event][data-proof="failed"]').count(), 0)
    await look(page, 'recording', '#trail-title')

    // The witness's co-signature, checked by the browser against the witness's key, with that key's fingerprint.
    await waitFor(
      async () => {
        const m = (await (await page.request.get(`${d.url}/v1/recordings/${id}/proof`)).json()) as { witnesses?: { line: string | null }[] }
        return m.witnesses?.[0]?.line ? 1 : 0
      },
      'the witness to co-sign a checkpoint over the trail',
      30_000,
      300,
    )
    await page.getByRole('button', { name: '重新核对' }).click()
    const witness = page.locator('[data-witness="bodyvault/witness-01"][data-cosignature="verified"]')
    await witness.waitFor({ timeout: 20_000 })
    t.equal(
      ((await witness.locator('[data-witness-fingerprint]').textContent()) ?? '').replace(/\s+/g, ''),
      witnessKey.fingerprint,
      "the witness's fingerprint the browser computed is its key's",
    )
    t.match(await witness.textContent(), /联署签名已验证/, 'the co-signature checked in the browser')
    await look(page, 'recording-witness', '#trail-title')
  })

  await t.test('a tampered proof served to the page shows "not verified"', async (t) => {
    // The test, not the daemon, serves it: the page's request for the proof material answered with one byte changed.
    await page.route(`**/v1/recordings/${id}/proof`, async (route) => {
      const res = await route.fetch()
      const m = (await res.json()) as { events: { proof: string[] | null }[] }
      const p = m.events.find((e) => e.proof && e.proof.length > 0)!.proof!
      p[0] = `${p[0]!.slice(0, -1)}${p[0]!.endsWith('0') ? '1' : '0'}`
      await route.fulfill({ response: res, json: m })
    })
    await page.reload()
    await page.locator('.proof[data-proof="failed"]').waitFor({ timeout: 20_000 })
    t.match(await page.locator('.proof').textContent(), /未通过验证/)
    t.equal(await page.locator('li[data-event][data-proof="failed"]').count(), 1, 'the one event whose proof was changed')
    t.equal(await page.locator('[data-fingerprint]').count(), 1, 'the signature itself still checks')
    await look(page, 'recording-not-verified', '#trail-title')
    await page.unroute(`**/v1/recordings/${id}/proof`)
  })

  await t.test('a tampered co-signature shows as not verified', async (t) => {
    // One bit of the witness's signature changed on the way to the page; the station's own signature is untouched.
    await page.route(`**/v1/recordings/${id}/proof`, async (route) => {
      for (let i = 0; ; i++) {
        const res = await route.fetch()
        const m = (await res.json()) as { witnesses: { line: string | null }[] }
        const w = m.witnesses[0]
        // The page's own proxy read may be newer than the last co-signed checkpoint: ask again until it is covered.
        if (!w?.line && i < 50) {
          await new Promise((r) => setTimeout(r, 300))
          continue
        }
        if (w?.line) {
          const sig = Buffer.from(w.line.trim().split(' ')[2]!, 'base64')
          sig[40] = (sig[40] ?? 0) ^ 1
          w.line = `${w.line.split(' ').slice(0, 2).join(' ')} ${sig.toString('base64')}\n`
        }
        return route.fulfill({ response: res, json: m })
      }
    })
    await page.goto(`${d.url}/clerks/recordings/${id}`)
    const witness = page.locator('[data-witness="bodyvault/witness-01"]')
    await witness.waitFor({ timeout: 30_000 })
    t.equal(await witness.getAttribute('data-cosignature'), 'failed', 'the altered co-signature is not verified')
    t.match(await witness.textContent(), /联署签名未通过验证/)
    // The station's own signature and proofs still check, but a witness that does not is no detail under a green badge.
    t.equal(await page.locator('.proof').getAttribute('data-proof'), 'failed', 'the whole proof is not verified')
    t.match(await page.locator('.proof').textContent(), /见证站联署签名未通过验证/, 'and it says why: the witness, not the records')
    await look(page, 'recording-cosignature-not-verified', '#trail-title')
    await page.unroute(`**/v1/recordings/${id}/proof`)
  })

  await t.test("the GPS track: the sidecar's points drawn as a polyline, the read in the ledger", async (t) => {
    // The generated camera writes a GPS .SRT beside its first clip: one cue (one point) per second.
    const srtFile = readdirSync(cam, { recursive: true, encoding: 'utf8' }).find((f) => /\.SRT$/i.test(f))!
    const want = readFileSync(join(cam, srtFile), 'utf8')
      .split('\n')
      .filter((l) => /\[latitude: /.test(l)).length
    t.ok(want > 1, `${srtFile}: ${want} positions`)
    const clip = await waitFor(
      async () => {
        const r = (await (await page.request.get(`${d.url}/v1/recordings?kind=sidecar`)).json()) as { items: { id: number; sourcePath: string }[] }
        const srt = r.items.find((x) => /\.SRT$/i.test(x.sourcePath))
        if (!srt) return null
        const one = (await (await page.request.get(`${d.url}/v1/recordings/${srt.id}`)).json()) as {
          media: { sidecarOf: number | null } | null
          events: { type: string; payload: { gpsTrackSha256?: string | null } }[]
        }
        const sha = one.events.find((e) => e.type === 'probed')?.payload.gpsTrackSha256
        return one.media?.sidecarOf && sha ? { id: one.media.sidecarOf, sha } : null
      },
      'the sidecar probed and linked to its clip',
      60_000,
      500,
    )
    await page.goto(`${d.url}/clerks/recordings/${clip.id}`)
    const svg = page.locator('svg[data-track-points]')
    await svg.waitFor({ timeout: 20_000 })
    const drawn = ((await svg.locator('polyline').getAttribute('points')) ?? '').trim().split(/\s+/).length
    t.equal(drawn, want, 'one polyline vertex per position in the sidecar')
    t.match(await svg.getAttribute('aria-label'), new RegExp(`轨迹共 ${want} 个点`), 'a text alternative: the number of points and the extent')
    t.equal(await svg.locator('[data-mark="start"]').count(), 1, 'the start marked')
    t.equal(await svg.locator('[data-mark="end"]').count(), 1, 'the end marked')
    const video = page.locator('video[data-playing="proxy"]')
    if ((await video.count()) > 0) {
      await page.evaluate(`(() => { const v = document.querySelector('video'); v.muted = true; v.currentTime = 1.5 })()`)
      await svg.locator('[data-mark="now"]').waitFor({ timeout: 20_000 })
      t.pass('the playback position is a dot on the track')
    }
    const events = (await (await page.request.get(`${d.url}/v1/recordings/${clip.id}/events`)).json()) as {
      events: { type: string; payload: { what?: string; sha256?: string } }[]
    }
    const read = events.events.find((e) => e.type === 'viewed' && e.payload.what === 'gps-track')
    t.ok(read, 'reading the track is a ledger event')
    t.equal(read?.payload.sha256, clip.sha, "it names the track's SHA-256, as the sidecar's probed event does")
    // The earlier visits to this page read the track too once the sidecar was linked (on a fast machine, before this
    // subtest): any of those rows will do, the newest first.
    await page.locator('li[data-event="viewed"][data-what="gps-track"]').first().waitFor({ timeout: 20_000 })
    await look(page, 'recording-track')
  })

  await t.test('cases: open one, link footage with a reason, see it both ways', async (t) => {
    await page.goto(`${d.url}/clerks/cases`)
    await page.locator('[data-state="empty"]').waitFor()
    await look(page, 'cases-empty')
    await page.locator('input[name="case-number"]').fill('A2026-001')
    await page.locator('input[name="case-title"]').fill('占道经营查处')
    await page.getByRole('button', { name: '新建', exact: true }).click()
    await page.waitForURL(/\/clerks\/cases\/A2026-001$/)
    await page.locator('input[name="recording-ids"]').fill(String(id))
    await page.getByRole('button', { name: '关联案件' }).click()
    await page.locator('dialog[open]').getByLabel('调阅事由').fill('作为本案证据')
    await page.locator('dialog[open]').getByRole('button', { name: '确认' }).click()
    await page.locator(`tr[data-footage="${id}"]`).waitFor()
    await look(page, 'case')
    await page.goto(`${d.url}/clerks/cases`)
    await page.locator('tr[data-case="A2026-001"]').waitFor()
    await look(page, 'cases')
    await page.goto(`${d.url}/clerks/recordings/${id}`)
    await page.locator('[data-linked-case="A2026-001"]').waitFor()
    await page.locator('li[data-event="case-linked"]').waitFor()
    t.match(await page.locator('li[data-event="case-linked"]').textContent(), /作为本案证据/, 'the link and its reason in the trail')
  })

  await t.test('password change', async (t) => {
    await page.goto(`${d.url}/account/password`)
    await page.getByLabel('当前密码').fill(NEW_PASSWORD)
    await page.getByLabel('新密码', { exact: true }).fill(`${NEW_PASSWORD}-2`)
    await page.getByLabel('再次输入新密码').fill(`${NEW_PASSWORD}-2`)
    await page.getByRole('button', { name: '修改密码' }).last().click()
    await page.getByRole('status').waitFor()
    t.match(await page.getByRole('status').textContent(), /密码已修改/)
    await look(page, 'password')
  })

  // The only errors the browser may log are the sign-in contract's own answers, which Chromium logs as failed loads:
  // GET /v1/session's 401 (nobody signed in yet), the wrong password's 401, PASSWORD_CHANGE_REQUIRED's 403; and the
  // search page's first search, asked beside the session check (web/src/clerks/early.ts), answered 401 like it.
  const other = errors.filter(
    (e) => !((/status of 40[13]/.test(e.text) && /\/v1\/session$/.test(e.url)) || (/status of 401/.test(e.text) && /\/v1\/recordings(\?|$)/.test(e.url))),
  )
  t.same(other, [], 'no console errors')
  await d.stop()
})
