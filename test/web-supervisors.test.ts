// The supervisors' and auditors' workspace in a real browser (Debian's
// chromium) against a real daemon (`bodyvault start`), on a month of
// footage seeded the way a station gets it: a generated camera, copied as
// five dockings whose file names date them (over four weeks, five to six
// months back, three officers, one with a recording deleted before docking:
// a counter gap), each handed to `bodyvault ingest`. What would make the
// workspace's promises false: an export that leaves without a second
// person's approval, a package that does not verify offline, a second
// download from one approval, a chart that draws other numbers than the
// API's, a bar that leads to other recordings than it counts, an audit
// browser that misses a view, an approval without a fresh second factor,
// a custody report shown to who may not read it, a console error, an
// accessibility barrier.
// Screenshots at 1920x1080 and 1366x768 go to artifacts/web-supervisors/.
import { createHmac } from 'node:crypto'
import { chmodSync, cpSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { BrowserContext, Page } from 'playwright-core'
import t from 'tap'
import { createAccount } from '../src/api/accounts.js'
import { silentLogger } from '../src/common/log.js'
import { loadConfig } from '../src/config/load.js'
import { openStation } from '../src/station/station.js'
import { cannotBrowse, launchBrowser, screenshots, seriousViolations } from './browser-support.js'
import { startDaemon, waitFor } from './daemon-support.js'
import { childEnv, cli, makeCamera, tempDir } from './helpers.js'

const skip = cannotBrowse() ?? false
// Five dockings ingested, a daemon's media jobs and a fixity run: on a loaded 2-core machine it can outlast the
// suite's 300 s per file; this tells the runner (tap's root setTimeout).
t.setTimeout(600_000)
const BIG = { width: 1920, height: 1080 }
const LAPTOP = { width: 1366, height: 768 }
const DAY = 86_400_000
const PASSWORD = 'Evidence-Desk-Passphrase-42'

// biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field
type Json = any

/**
 * The supervisor's authenticator app: RFC 6238 (HMAC-SHA-1 over the 30-second
 * step, RFC 4226's dynamic truncation, 6 digits) written here from the RFCs
 * with node:crypto, not the station's own module, so that a station whose
 * codes no phone could compute would fail this test.
 */
function authenticator(base32: string, ms: number): string {
  let bits = ''
  for (const c of base32.replace(/=+$/, '')) bits += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => Number.parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30_000)))
  const mac = createHmac('sha1', key).update(counter).digest()
  const at = mac[mac.length - 1]! & 0x0f
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

t.test('exports with approval, the dashboard, the audit browser: a real daemon, a real browser', { skip }, async (t) => {
  const dir = tempDir(t, 'bv-sup-')
  const data = join(dir, 'data')
  const env = { BODYVAULT_DATA_DIR: data }
  const t0 = Date.now()

  // A month of dockings, 178 to 150 days back (old enough that some fall due within 30 days). One camera is
  // generated; each docking is a copy whose file names (device, police number, camera-local UTC+8 time) and
  // DEVICE.TXT say whose and when it is: the station dates footage by its file names.
  const dockings = [
    { device: 'DEV0001', officer: '010101', daysAgo: 178 },
    { device: 'DEV0002', officer: '010102', daysAgo: 172, gap: true },
    { device: 'DEV0001', officer: '010101', daysAgo: 165 },
    { device: 'DEV0003', officer: '010103', daysAgo: 158 },
    { device: 'DEV0002', officer: '010102', daysAgo: 150 },
  ]
  const original = await makeCamera(join(dir, 'generated'), ['--start', '2026-11-20T08:00:00', '--count', '6'])
  const startMs = Date.UTC(2026, 10, 20, 8, 0, 0)
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)
  const ids: number[] = []
  const videos: number[] = []
  // Videos the officer did not mark important (an important one is categorised evidence at ingest).
  const plain: number[] = []
  // The last docking holds one clip whose bytes are not a video (a camera's write cut short): its media jobs fail.
  let corruptName = ''
  let corruptId = 0
  // Originals with no media job's reads to disturb (sound, photos): one of them is damaged in the vault later.
  const stills: { id: number; sha256: string }[] = []
  for (const [i, c] of dockings.entries()) {
    const cam = join(dir, `cam${i}`)
    cpSync(original, cam, { recursive: true })
    // Each docking at 08:00 camera-local time on its day, its files as far apart as the generated ones.
    const start = Math.floor((Date.now() - c.daysAgo * DAY + 8 * 3600_000) / DAY) * DAY + 8 * 3600_000
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name)
        if (e.isDirectory()) walk(p)
        else if (e.name === 'DEVICE.TXT') writeFileSync(p, `DEVICE=${c.device}\nOFFICER=${c.officer}\nMODEL=FAKE-GAT947\n`)
        else {
          const m = /^A1B2C3D_012345_(\d{14})_(\d{4})(.*)$/.exec(e.name)
          if (!m) continue
          const at = Date.UTC(+m[1]!.slice(0, 4), +m[1]!.slice(4, 6) - 1, +m[1]!.slice(6, 8), +m[1]!.slice(8, 10), +m[1]!.slice(10, 12), +m[1]!.slice(12, 14))
          // A recording deleted on the camera before docking: a gap in its counter.
          const name = `${c.device}_${c.officer}_${stamp(start + at - startMs)}_${m[2]}${m[3]}`
          if (c.gap && m[2] === '0004') rmSync(p)
          else renameSync(p, join(d, name))
          if (i === dockings.length - 1 && corruptName === '' && m[3] === '.MP4') {
            writeFileSync(join(d, name), Buffer.alloc(64 * 1024, 0x5a))
            corruptName = name
          }
        }
      }
    }
    walk(cam)
    const r = cli(['ingest', cam, '--json'], env)
    t.equal(r.code, 0, `docking ${i} ingested: ${r.stderr}`)
    const got = (JSON.parse(r.stdout) as { ingested: { id: number; sha256: string; sourcePath: string }[] }).ingested
    ids.push(...got.map((x) => x.id))
    videos.push(...got.filter((x) => /\.MP4$/.test(x.sourcePath)).map((x) => x.id))
    plain.push(...got.filter((x) => /_\d{4}\.MP4$/.test(x.sourcePath)).map((x) => x.id))
    stills.push(...got.filter((x) => /\.(WAV|JPG)$/.test(x.sourcePath)).map((x) => ({ id: x.id, sha256: x.sha256 })))
    corruptId ||= got.find((x) => corruptName !== '' && x.sourcePath.endsWith(corruptName))?.id ?? 0
  }
  t.ok(corruptId > 0 && corruptId !== videos[0] && corruptId !== videos[3], `recording ${corruptId} (${corruptName}) is not a video`)
  const pem = cli(['key', 'show', '--pem'], env)
  t.equal(pem.code, 0, pem.stderr)
  writeFileSync(join(dir, 'station.pem'), pem.stdout)

  // The people: a clerk, two supervisors (one of them the clerk's own police number), an auditor.
  const merged = childEnv(env)
  const st = openStation({ config: loadConfig({ file: merged.BODYVAULT_CONFIG, env: merged }), logger: silentLogger() })
  const pw: Record<string, string> = {}
  try {
    for (const [username, displayName, policeNo, roles] of [
      ['li.clerk', '李明', '010001', ['clerk']],
      ['li.sup', '李明（审批）', '010001', ['supervisor']],
      ['wang.sup', '王芳', '020002', ['supervisor']],
      ['zhao.audit', '赵磊', '030003', ['auditor']],
      ['sun.admin', '孙强', '040004', ['admin']],
    ] as const)
      pw[username] = (
        await createAccount(st.db, { username, displayName, policeNo, kind: 'person', roles: [...roles] }, { actor: 'user:os:test', component: 'cli' })
      ).password!
  } finally {
    st.close()
  }

  t.comment(`seeded ${ids.length} recordings in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  // Small proxies, made fast: the charts are compared with the API once the media worker is done.
  const media = { preset: 'ultrafast', maxHeight: 240, thumbnailWidth: 160, concurrency: 2 }
  const d = await startDaemon(t, { dataDir: data, roots: [join(dir, 'no-cameras')], configDir: dir, listenMs: 120_000, config: { media } })
  const browser = await launchBrowser(t)
  const shots = screenshots(join(dir, 'screenshots'), 'web-supervisors')
  t.comment(`screenshots: ${shots.dir} (copies in ${shots.kept})`)
  const errors: string[] = []
  let searchVisitedAt = Number.POSITIVE_INFINITY

  /** A person's own browser context (their cookie), signed in through the API as the sign-in page would (the page is o-clerks-web's). */
  async function person(username: string, viewport = BIG): Promise<{ ctx: BrowserContext; page: Page; csrf: string }> {
    const ctx = await browser.newContext({ viewport, baseURL: d.url, acceptDownloads: true })
    t.teardown(() => ctx.close())
    const r = await ctx.request.post('/v1/session', { data: { username, password: pw[username], newPassword: PASSWORD } })
    if (r.status() !== 200) throw new Error(`sign-in of ${username}: ${r.status()} ${await r.text()}`)
    const page = await ctx.newPage()
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${username}: ${m.text()} (${m.location().url})`)
    })
    page.on('pageerror', (e) => errors.push(`${username}: uncaught ${e.message}`))
    return { ctx, page, csrf: ((await r.json()) as Json).csrfToken }
  }
  async function axe(t: { same(found: unknown, wanted: unknown, message: string): unknown }, page: Page, what: string): Promise<void> {
    const v = await seriousViolations(page)
    t.same(v, [], `${what}: no serious or critical axe-core violation`)
  }

  const clerk = await person('li.clerk')
  const sup = await person('wang.sup')
  const self = await person('li.sup', LAPTOP)
  const auditor = await person('zhao.audit')
  const admin = await person('sun.admin')
  const exportIds = videos.slice(0, 2)
  let exportId = 0
  let secret = ''

  await t.test('a clerk requests an export in the page', async (t) => {
    const { page } = clerk
    await page.goto(`/exports?recordings=${exportIds.join(',')}`)
    await page.waitForSelector('form.request')
    t.equal(await page.inputValue('input[name="recordings"]'), exportIds.join(', '), 'the recordings come from the address (the search links here)')
    await page.fill('textarea[name="reason"]', '移送检察院：2026 年第 17 号案件')
    await page.fill('input[name="recipient"]', '市人民检察院 第二检察部')
    await shots.take(page, 'exports-form-1920.png')
    await page.click('form.request button[type="submit"]')
    await page.waitForSelector('tr[data-state="requested"]')
    exportId = Number(await page.locator('tr[data-state="requested"]').first().getAttribute('data-export'))
    t.ok(exportId > 0, `export request ${exportId} listed, awaiting approval`)
    t.match(await page.locator('.notice').textContent(), new RegExp(`已提交导出申请 ${exportId}`))
    t.equal(await page.locator(`tr[data-export="${exportId}"] a.button`).count(), 0, 'no download before approval')
    const early = await clerk.ctx.request.get(`/v1/exports/${exportId}/download`)
    t.equal(early.status(), 409, 'and the API refuses one (NOT_APPROVED)')
    await axe(t, page, 'export requests')
  })

  await t.test('the requester, under a supervisor account of the same police number, cannot approve', async (t) => {
    const { page } = self
    await page.goto('/approvals')
    const card = page.locator(`article[data-export="${exportId}"]`)
    await card.waitFor()
    t.equal(await card.locator('button').count(), 0, 'no approve button on one’s own request')
    t.match(await card.textContent(), /须由另一名审批负责人审批/)
    const forced = await self.ctx.request.post(`/v1/exports/${exportId}/approve`, { data: {}, headers: { 'x-csrf-token': self.csrf, origin: d.url } })
    t.equal(((await forced.json()) as Json).error.code, 'SELF_APPROVAL', 'the API refuses it too')
    await shots.take(page, 'approvals-self-1366.png')
  })

  await t.test('a second person enrols a second factor on the security page', async (t) => {
    const { page } = sup
    await page.goto('/account/security')
    await page.getByLabel('当前密码').fill(PASSWORD) // the station asks the password again before enrolling
    await page.getByRole('button', { name: '绑定验证器' }).click()
    secret = (await page.locator('[data-secret]').textContent())!.trim()
    t.match(secret, /^[A-Z2-7]{32}$/, 'the secret to type into an authenticator is shown')
    // The code of the step before now (the station takes a step once, and accepts one step of drift): the step-up below has a later one.
    await page.getByLabel('验证码').fill(authenticator(secret, Date.now() - 30_000))
    await page.getByRole('button', { name: '确认绑定' }).click()
    await page.locator('[data-state="enrolled"]').waitFor()
    t.equal(await page.locator('[data-recovery-codes] code').count(), 10, 'enrolled: ten recovery codes shown once')
  })

  await t.test('a second person approves in the queue: the page asks a fresh code first', async (t) => {
    const { page } = sup
    await page.goto('/approvals')
    const card = page.locator(`article[data-export="${exportId}"]`)
    await card.waitFor()
    t.match(await card.textContent(), /移送检察院/, 'reason shown')
    t.match(await card.textContent(), /市人民检察院/, 'recipient shown')
    await shots.take(page, 'approvals-1920.png')
    await axe(t, page, 'approval queue')
    await card.locator('input[name="note"]').fill('已核对案件材料')
    await card.locator('button.primary').click()
    // Enrolled in this session, no code given in it yet: the approval is answered 401 STEP_UP_REQUIRED and the prompt opens.
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    const pending = (await (await sup.ctx.request.get(`/v1/exports/${exportId}`)).json()) as Json
    t.equal(pending.state, 'requested', 'not approved while the prompt waits for the code')
    await shots.take(page, 'approvals-step-up-1920.png')
    await axe(t, page, 'step-up prompt over the approval queue')
    await dialog.getByLabel('验证码').fill(authenticator(secret, Date.now()))
    await dialog.getByRole('button', { name: '验证' }).click()
    await page.waitForSelector(`.notice.good`)
    t.match(await page.locator('.notice').textContent(), new RegExp(`已批准导出申请 ${exportId}`))
    // The notice and the queue's reload are two renders: wait for the card to go (up to 10 s), then check it went.
    const gone = page.locator(`article[data-export="${exportId}"]`)
    await gone.waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined)
    t.equal(await gone.count(), 0, 'it left the queue')
    const ledger = async (q: string) => ((await (await auditor.ctx.request.get(`/v1/ledger?${q}`)).json()) as Json).items as Json[]
    const steps = await ledger('type=stepped-up&subject=user:wang.sup')
    const approvals = await ledger(`type=export-approved&subject=export:${exportId}`)
    t.equal(steps.length, 1, 'one step-up in the ledger')
    t.equal(approvals.length, 1, 'one approval in the ledger, by wang.sup')
    t.equal(approvals[0]?.actor, 'user:wang.sup')
    t.ok(steps[0]?.seq < approvals[0]?.seq, `the step-up (event ${steps[0]?.seq}) before the approval (event ${approvals[0]?.seq})`)
  })

  await t.test('the custody report (PDF) beside the approved export: for the approver, not for an admin', async (t) => {
    const { page, ctx } = sup
    const row = page.locator(`table.approved tr[data-export="${exportId}"]`)
    await row.waitFor()
    for (const [lang, title] of [
      ['zh', `视听资料清单及保管链报告(导出申请 ${exportId})`],
      ['en', `chain of custody (export request ${exportId})`],
    ] as const) {
      const href = (await row.locator(`a[data-report-lang="${lang}"]`).getAttribute('href'))!
      t.equal(href, `/v1/reports/export/${exportId}${lang === 'zh' ? '' : '?lang=en'}`, `the ${lang} link`)
      const r = await ctx.request.get(href)
      const body = await r.body()
      t.equal(r.status(), 200, `${href}: ${r.status()}`)
      t.match(r.headers()['content-type'], /^application\/pdf/)
      t.equal(body.subarray(0, 5).toString('latin1'), '%PDF-', `a PDF (${body.length} bytes)`)
      const html = await (await ctx.request.get(`${href}${href.includes('?') ? '&' : '?'}format=html`)).text()
      t.ok(html.includes(title), `the same report as HTML is titled ${title}`)
    }
    await shots.take(page, 'approvals-approved-1920.png')
    const refused = await admin.ctx.request.get(`/v1/reports/export/${exportId}`)
    t.equal(refused.status(), 403, 'an admin (accounts, not evidence) may not read it')
    t.equal(((await refused.json()) as Json).error.code, 'FORBIDDEN')
  })

  await t.test('the requester downloads once; the package verifies; a second download is refused with what to do', async (t) => {
    const { page, ctx } = clerk
    await page.goto('/exports')
    const link = page.locator(`tr[data-export="${exportId}"] a.button`)
    await link.waitFor()
    t.match(await page.locator(`tr[data-export="${exportId}"]`).textContent(), /还可下载 1 次/)
    t.equal(
      await page.locator(`tr[data-export="${exportId}"] a[data-report-lang="zh"]`).getAttribute('href'),
      `/v1/reports/export/${exportId}`,
      'the custody report beside the download',
    )
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
    const zip = join(dir, 'export.zip')
    await download.saveAs(zip)
    t.equal(download.suggestedFilename(), `bodyvault-export-${exportId}.zip`)
    const v = cli(['verify-package', zip, '--key', join(dir, 'station.pem')])
    t.equal(v.code, 0, `bodyvault verify-package: ${v.stdout}${v.stderr}`)
    t.match(v.stdout, /^ok: package .* 2 recordings, .*matches the trusted key.*0 failure\(s\)/, 'two recordings, signed by this station')
    await page.waitForSelector(`tr[data-export="${exportId}"] .used-up`)
    t.match(await page.locator(`tr[data-export="${exportId}"]`).textContent(), /下载次数已用完.*再次批准/, 'the page says what to do')
    const again = await ctx.request.get(`/v1/exports/${exportId}/download`)
    t.equal(again.status(), 409)
    t.equal(((await again.json()) as Json).error.code, 'DOWNLOAD_LIMIT', 'a second download needs a new approval')
    await shots.take(page, 'exports-downloaded-1920.png')
    await page.setViewportSize(LAPTOP)
    await shots.take(page, 'exports-downloaded-1366.png')
  })

  await t.test('the supervisor signs in with a code on the sign-in page; that code covers the next approval', async (t) => {
    const ctx = await browser.newContext({ viewport: LAPTOP, baseURL: d.url })
    t.teardown(() => ctx.close())
    const page = await ctx.newPage()
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`wang.sup (code): ${m.text()} (${m.location().url})`)
    })
    page.on('pageerror', (e) => errors.push(`wang.sup (code): uncaught ${e.message}`))
    await page.goto('/approvals')
    await page.waitForURL(/\/signin\?next=%2Fapprovals$/)
    await page.fill('input[name="username"]', 'wang.sup')
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('form button[type="submit"]')
    const code = page.locator('input[name="secondFactor"]')
    await code.waitFor()
    t.pass('the password alone is not enough: the page asks the second factor')
    await shots.take(page, 'signin-code-1366.png')
    await axe(t, page, 'sign-in, second-factor step')
    // One step ahead of now (within the station's one step of drift), so it is later than the code the step-up took.
    await code.fill(authenticator(secret, Date.now() + 30_000))
    await Promise.all([page.waitForURL(/\/approvals$/), page.click('form button[type="submit"]')])
    await page.locator('#queue-title').waitFor()
    // A second request, approved in this session without a prompt: the code given at sign-in is the fresh factor.
    const asked = await clerk.ctx.request.post('/v1/exports', {
      data: { recordingIds: [videos[2]], reason: '复核', recipient: '法制大队' },
      headers: { 'x-csrf-token': clerk.csrf, origin: d.url },
    })
    t.equal(asked.status(), 201, await asked.text())
    const second = ((await asked.json()) as Json).id as number
    await page.reload()
    const card = page.locator(`article[data-export="${second}"]`)
    await card.waitFor()
    await card.locator('button.primary').click()
    await page.waitForSelector('.notice.good')
    t.equal(await page.getByRole('dialog').count(), 0, 'no step-up prompt')
    t.equal(((await (await ctx.request.get(`/v1/exports/${second}`)).json()) as Json).state, 'approved')
    const steps = ((await (await auditor.ctx.request.get('/v1/ledger?type=stepped-up&subject=user:wang.sup')).json()) as Json).items
    t.equal(steps.length, 1, 'still the one step-up: the sign-in’s code counted')
  })

  // The dashboard's dates, and the uncategorised count before the clerk categorises two.
  const first = new Date(Date.now() - 200 * DAY).toISOString().slice(0, 10)
  const last = new Date(Date.now() + DAY).toISOString().slice(0, 10)
  const from = new Date(`${first}T00:00:00`).toISOString()
  const to = new Date(new Date(`${last}T00:00:00`).getTime() + DAY).toISOString()
  const uncategorisedBefore = ((await (await auditor.ctx.request.get(`/v1/stats?from=${from}&to=${to}`)).json()) as Json).uncategorised as number
  // The clerk reads an original with a reason (the view the audit must find) and categorises two recordings.
  const viewedId = videos[3]!
  const read = await clerk.ctx.request.get(`/v1/recordings/${viewedId}/original?reason=${encodeURIComponent('复核执法过程')}`)
  t.equal(read.status(), 200, 'the clerk reads an original')
  for (const id of plain.slice(1, 3)) {
    const c = await clerk.ctx.request.put(`/v1/recordings/${id}/category`, {
      data: { category: 'patrol', reason: '日常巡查' },
      headers: { 'x-csrf-token': clerk.csrf, origin: d.url },
    })
    t.equal(c.status(), 200, `recording ${id} categorised`)
  }
  // Charts are compared with the API at rest: the media worker's probes (footage hours) and proxies (storage) done first.
  // Read from the catalog (the table the dashboard's queues count), not /v1/dashboard: each dashboard answer computes
  // the daemon's fixity state, kept a minute, and one computed before the fixity run below held its count back up to 60 s.
  await waitFor(
    () => {
      const db = new Database(join(data, 'catalog.db'), { readonly: true })
      try {
        return (db.prepare("SELECT count(*) AS n FROM media_jobs WHERE state IN ('queued', 'running')").get() as { n: number }).n === 0
      } finally {
        db.close()
      }
    },
    'the media jobs to finish',
    180_000,
    500,
  )
  t.comment(`media jobs done ${((Date.now() - t0) / 1000).toFixed(0)} s after the start`)
  // A vault object damaged on disk (a bad sector, a stray write), found by a fixity run: the dashboard's fixity failure.
  const damaged = stills[0]!
  const object = join(data, 'objects', damaged.sha256.slice(0, 2), damaged.sha256)
  chmodSync(object, 0o644)
  const bytes = readFileSync(object)
  const mid = bytes.length >> 1
  bytes.writeUInt8(bytes.readUInt8(mid) ^ 0xff, mid)
  writeFileSync(object, bytes)
  chmodSync(object, 0o444)
  let fixity = cli(['fixity', 'run', '--all'], env)
  // The daemon's own run may hold the lease a moment.
  for (let i = 0; i < 20 && /holds the lease/.test(fixity.stdout); i++) {
    await new Promise((r) => setTimeout(r, 1000))
    fixity = cli(['fixity', 'run', '--all'], env)
  }
  t.match(fixity.stdout, / 1 FAILED/, `the fixity run finds the damaged object of recording ${damaged.id}: ${fixity.stdout.trim()}`)
  // The daemon counts its objects' fixity at most once a minute (src/station/station.ts), from the first dashboard asked
  // for: this is the first, so it counts the run now (the wait stays for a count made earlier, within that minute).
  await waitFor(
    async () => ((await (await auditor.ctx.request.get('/v1/dashboard')).json()) as Json).fixity?.failed === 1,
    'the dashboard to count the failed object',
    90_000,
    2000,
  )

  await t.test('the dashboard draws the API’s figures with Chart.js, and each bar leads to the recordings behind it', async (t) => {
    const { page, ctx } = auditor
    // The disk's free space (and so the days left) moves with the machine's other work, the suite's other file
    // included (800 MB between two reads was seen): read before the page draws too, and take the two reads as the bounds.
    const storageBefore = ((await (await ctx.request.get(`/v1/dashboard?from=${from}&to=${to}`)).json()) as Json).storage
    await page.goto(`/dashboard?from=${first}&to=${last}`)
    const names = ['handovers', 'late', 'hours', 'uncategorised', 'findings', 'deletions', 'storage', 'work']
    await waitFor(async () => (await page.evaluate('Object.keys(window.bodyvaultCharts || {}).length')) === names.length, 'eight charts', 30_000, 100)
    const charts = (await page.evaluate(`Object.fromEntries(Object.entries(window.bodyvaultCharts).map(([k, c]) =>
      [k, { type: c.config.type, labels: c.data.labels, datasets: c.data.datasets.map((s) => ({ label: s.label, data: s.data })) }]))`)) as Record<
      string,
      { type: string; labels: string[]; datasets: { label: string; data: number[] }[] }
    >
    t.same(Object.keys(charts).sort(), [...names].sort())
    const api = (await (await ctx.request.get(`/v1/dashboard?from=${from}&to=${to}`)).json()) as Json
    const stats = (await (await ctx.request.get(`/v1/stats?from=${from}&to=${to}`)).json()) as Json
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

    // Footage hours: one series per officer; each officer's bars add up to /v1/stats' hours for them, each bar to the API's officer-day.
    const hours = charts.hours!
    t.same(hours.datasets.map((s) => s.label).sort(), stats.byOfficer.map((o: Json) => o.officerId).sort(), 'one series per officer')
    for (const o of stats.byOfficer) {
      const series = hours.datasets.find((s) => s.label === o.officerId)!
      t.ok(Math.abs(sum(series.data) - o.hours) < 0.01, `officer ${o.officerId}: ${sum(series.data).toFixed(3)} h drawn, ${o.hours} h by /v1/stats`)
    }
    for (const r of api.hoursByOfficerDay)
      t.equal(hours.datasets.find((s) => s.label === r.officerId)!.data[hours.labels.indexOf(r.day)], r.hours, `bar ${r.officerId} ${r.day}`)
    t.ok(sum(hours.datasets.flatMap((s) => s.data)) > 0, 'the media worker measured the footage')
    t.ok(hours.labels.length >= 28, `a month of days on the axis (${hours.labels[0]} to ${hours.labels.at(-1)})`)

    // Handover on time: the histogram is the API's, bucket by bucket; footage docked 150+ days after it was recorded is all late, and so drawn.
    const h = api.handovers
    t.same(
      charts.handovers!.datasets[0]!.data,
      ['le1h', 'le8h', 'le24h', 'le48h', 'le72h', 'le7d', 'more'].map((k) => h.histogram[k]),
      'the delay histogram, bucket by bucket',
    )
    t.equal(sum(charts.handovers!.datasets[0]!.data), h.totals.recordings, `${h.totals.recordings} recordings in the histogram`)
    t.ok(h.totals.recordings > 0 && h.totals.late === h.totals.recordings, `all ${h.totals.late} handed over late (recorded months before docking)`)
    t.equal(sum(charts.late!.datasets[0]!.data), h.totals.late, 'late handovers per officer add up to the late total')
    t.same(
      charts.late!.labels.sort(),
      h.byOfficer
        .filter((o: Json) => o.late > 0)
        .map((o: Json) => o.officerId)
        .sort(),
      'one bar per officer with late handovers',
    )

    const uncat = charts.uncategorised!
    t.equal(sum(uncat.datasets[0]!.data), stats.uncategorised, `uncategorised: ${stats.uncategorised} recordings, as /v1/stats counts them`)
    t.equal(stats.uncategorised, uncategorisedBefore - 2, `the two the clerk categorised are out (${uncategorisedBefore} before)`)

    const open = ((await (await ctx.request.get('/v1/findings?kind=reconciliation')).json()) as Json).items
    t.ok(charts.findings!.labels.includes('counter-gap'), 'the deleted recording is a counter gap')
    t.equal(sum(charts.findings!.datasets[0]!.data), open.length, `${open.length} open reconciliation findings, as /v1/findings lists them`)

    const plan = (await (await ctx.request.get(`/v1/retention/plan?at=${new Date(Date.now() + 30 * DAY).toISOString()}`)).json()) as Json
    t.equal(sum(charts.deletions!.datasets[0]!.data), plan.items.length, `${plan.items.length} deletions due within 30 days, as the retention plan says`)
    t.ok(plan.items.length > 0, 'some are due')

    // Used is the vault's; free is the disk's, which the machine's other work moves: within 1 % of the API's reads before and after the draw.
    const [used, free] = charts.storage!.datasets[0]!.data as [number, number]
    t.equal(used, api.storage.usedBytes, `storage used: ${used} bytes, as the API says`)
    const within = (x: number, a: number, b: number, slack: number): boolean => x >= Math.min(a, b) - slack && x <= Math.max(a, b) + slack
    const [free0, free1] = [storageBefore.freeBytes as number, api.storage.freeBytes as number]
    t.ok(within(free, free0, free1, Math.max(free0, free1) * 0.01), `free: ${free} drawn, ${free0} and ${free1} by the API before and after`)
    const shownDays = Number(await page.locator('[data-days-left]').getAttribute('data-days-left'))
    const [days0, days1] = [storageBefore.daysLeft as number, api.storage.daysLeft as number]
    t.ok(
      within(shownDays, days0, days1, Math.max(1, Math.max(days0, days1) * 0.01)),
      `days left: ${shownDays} shown, ${days0} and ${days1} by the API before and after`,
    )
    for (const q of api.queues) t.equal(charts.work!.datasets[0]!.data[charts.work!.labels.indexOf(`${q.queue}:${q.state}`)], q.n, `${q.queue} ${q.state}`)
    t.match(await page.locator('.levels').getAttribute('data-level'), api.anchoring.level, `anchoring: ${api.anchoring.level}`)

    // The links behind the bars: each officer-day's search lists exactly the recordings the bar counts.
    const hoursCard = page.locator('section[aria-labelledby="c-hours"]')
    await hoursCard.locator('details summary').click()
    const links = await hoursCard.locator('details a').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href') ?? '', n: Number(a.textContent) })))
    t.equal(links.length, api.hoursByOfficerDay.length)
    for (const l of links) {
      const q = new URL(l.href, d.url)
      t.equal(q.pathname, '/clerks', 'the clerks’ search')
      const found = ((await (await ctx.request.get(`/v1/recordings?${q.searchParams}&limit=500`)).json()) as Json).items.filter(
        (x: Json) => x.kind !== 'sidecar',
      )
      t.equal(found.length, l.n, `${l.href}: ${l.n} recordings`)
    }
    await hoursCard.locator('details summary').click()
    await shots.take(page, 'dashboard-1920.png')
    await axe(t, page, 'dashboard')
    await page.setViewportSize(LAPTOP)
    await page.waitForTimeout(300)
    await shots.take(page, 'dashboard-1366.png')

    // A click on a bar goes to the search with its filters.
    await page.locator('section[aria-labelledby="c-uncat"] canvas').scrollIntoViewIfNeeded()
    const point = (await page.evaluate(`(() => { const c = window.bodyvaultCharts.uncategorised; const m = c.getDatasetMeta(0);
      const i = c.data.datasets[0].data.findIndex((v) => v > 0); const b = m.data[i]; const r = c.canvas.getBoundingClientRect();
      return { x: r.left + b.x, y: r.top + (b.y + b.base) / 2, day: c.data.labels[i] } })()`)) as { x: number; y: number; day: string }
    const row = api.uncategorisedByDay.find((r: Json) => r.day === point.day)
    const before = errors.length
    await Promise.all([page.waitForURL(/\/clerks\?/), page.mouse.click(point.x, point.y)])
    const u = new URL(page.url())
    t.equal(u.searchParams.get('category'), 'uncategorised')
    t.equal(u.searchParams.get('from'), row.recordedFrom, `the bar of ${point.day} starts the search at its first recording`)
    // The clerks' search page opens with those filters.
    await page.waitForLoadState('load')
    searchVisitedAt = before
  })

  await t.test('the work chart and the anchoring panel lead to the items they count', async (t) => {
    const { page, ctx } = auditor
    await page.setViewportSize(BIG)
    await page.goto(`/dashboard?from=${first}&to=${last}`)
    await waitFor(async () => (await page.evaluate('!!(window.bodyvaultCharts && window.bodyvaultCharts.work)')) === true, 'the work chart', 30_000, 100)
    const work = (await page.evaluate(
      `(() => { const c = window.bodyvaultCharts.work; return { labels: c.data.labels, data: c.data.datasets[0].data } })()`,
    )) as {
      labels: string[]
      data: number[]
    }
    const counted = new Map(work.labels.map((l, i) => [l, work.data[i]!]))
    t.equal(counted.get('media:failed'), 3, 'the clip that is not a video: its probe failed, its proxy and thumbnail with it')
    t.equal(counted.get('fixity:failed'), 1, 'the damaged object')
    const card = page.locator('section[aria-labelledby="c-work"]')
    await card.scrollIntoViewIfNeeded()
    await shots.take(page, 'dashboard-work-1920.png')
    const links = await card.locator('a[data-what]').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href')!, what: a.getAttribute('data-what')! })))
    t.same(
      links.map((l) => l.what),
      work.labels.filter((l, i) => work.data[i]! > 0 && l !== 'media:done'),
      'a link under the chart for each bar with items to list',
    )
    const anchor = page.locator('section[aria-labelledby="c-anchor"] a[data-what="unanchored"]')
    const unanchored = Number(await anchor.getAttribute('data-n'))
    links.push({ href: (await anchor.getAttribute('href'))!, what: 'unanchored' })
    counted.set('unanchored', unanchored)
    const dash = (await (await ctx.request.get('/v1/dashboard')).json()) as Json

    for (const l of links) {
      await page.goto(l.href)
      await page.locator('[data-total]').waitFor()
      const rows = await page.locator('table.work-items tbody tr').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-recording'))))
      t.equal(rows.length, counted.get(l.what), `${l.href}: ${rows.length} items listed, ${counted.get(l.what)} counted`)
      if (l.what === 'media:failed') t.same([...new Set(rows)], [corruptId], `all of recording ${corruptId}`)
      if (l.what === 'fixity:failed') t.same(rows, [damaged.id], `recording ${damaged.id}`)
      if (l.what === 'fixity:due') {
        t.ok(rows.includes(damaged.id), `the damaged object is due again (recording ${damaged.id})`)
        t.match(await page.locator('main').textContent(), /应当现在复查的本地对象：上次巡检早于 \d{4}/, 'the page says what due means, with its cut-off')
        await shots.take(page, 'work-items-fixity-due-1920.png')
      }
      if (l.what === 'unanchored')
        for (const id of rows) {
          const ev = ((await (await ctx.request.get(`/v1/recordings/${id}/events`)).json()) as Json).events
          t.ok(ev[0].seq > dash.anchoring.treeSize, `recording ${id}: ingested at event ${ev[0].seq}, after checkpoint ${dash.anchoring.checkpoint}`)
        }
      if (l.what === 'media:failed') {
        await shots.take(page, 'work-items-1920.png')
        await axe(t, page, 'work items')
        await page.setViewportSize(LAPTOP)
        await shots.take(page, 'work-items-1366.png')
        await page.setViewportSize(BIG)
      }
    }
    t.comment(
      `anchoring ${dash.anchoring.level}, checkpoint ${dash.anchoring.checkpoint} of ${dash.anchoring.treeSize} events: ${unanchored} recordings after it`,
    )

    // A click on the media:failed bar goes to the same list.
    await page.goto(`/dashboard?from=${first}&to=${last}`)
    await waitFor(async () => (await page.evaluate('!!(window.bodyvaultCharts && window.bodyvaultCharts.work)')) === true, 'the work chart', 30_000, 100)
    await card.locator('canvas').scrollIntoViewIfNeeded()
    const point = (await page.evaluate(`(() => { const c = window.bodyvaultCharts.work; const i = c.data.labels.indexOf('media:failed');
      const b = c.getDatasetMeta(0).data[i]; const r = c.canvas.getBoundingClientRect();
      return { x: r.left + (b.x + b.base) / 2, y: r.top + b.y } })()`)) as { x: number; y: number }
    await Promise.all([page.waitForURL(/\/dashboard\/items\?what=media%3Afailed$/), page.mouse.click(point.x, point.y)])
    await page.locator('[data-total]').waitFor()
    t.equal(await page.locator('table.work-items tbody tr').count(), 3, 'the bar leads to its three jobs')
  })

  await t.test('the audit browser finds the clerk’s view, and prints the recording’s trail', async (t) => {
    const { page, ctx } = auditor
    await page.setViewportSize(BIG)
    const events = ((await (await ctx.request.get(`/v1/recordings/${viewedId}/events`)).json()) as Json).events
    const view = events.find((e: Json) => e.type === 'viewed')
    t.ok(view, `the view is event ${view?.seq}`)
    await page.goto('/audit')
    await page.waitForSelector('table.ledger tbody tr[data-seq]')
    await page.selectOption('select[name="preset"]', 'views')
    await page.fill('input[name="subject"]', `recording:${viewedId}`)
    await page.click('form.filters button[type="submit"]')
    await page.waitForSelector(`tr[data-seq="${view.seq}"]`)
    t.equal(await page.locator('table.ledger tbody tr[data-seq]').count(), 1, 'only that view')
    t.match(await page.locator(`tr[data-seq="${view.seq}"]`).textContent(), /viewed.*user:li\.clerk.*复核执法过程/, 'who and why')
    t.match(page.url(), /\/audit\?type=viewed&subject=recording%3A\d+/, 'the filters are in the address')
    await shots.take(page, 'audit-1920.png')
    await axe(t, page, 'audit browser')
    await page.setViewportSize(LAPTOP)
    await shots.take(page, 'audit-1366.png')

    await page.selectOption('select[name="preset"]', 'exports')
    await page.fill('input[name="subject"]', '')
    await page.click('form.filters button[type="submit"]')
    await page.waitForSelector('tr[data-type="exported"]')
    t.same(
      await page.locator('table.ledger tbody tr[data-seq]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-type'))),
      ['export-requested', 'export-approved', 'exported', 'exported', 'export-requested', 'export-approved'],
      'the export: requested, approved, two recordings exported; the second one requested and approved',
    )
    await page.selectOption('select[name="preset"]', 'signIn')
    await page.click('form.filters button[type="submit"]')
    await page.waitForSelector('tr[data-type="signed-in"]')
    t.ok((await page.locator('tr[data-type="signed-in"]').count()) >= 4, 'every sign-in of the four people')

    await page.setViewportSize(BIG)
    await page.goto(`/audit/trail?subject=recording:${viewedId}`)
    await page.waitForSelector(`tr[data-seq="${view.seq}"]`)
    const types = await page.locator('table.ledger tbody tr[data-seq]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-type')))
    t.equal(types[0], 'ingested', 'the trail starts at the ingest')
    t.ok(types.includes('viewed'), 'and holds the view')
    t.same(
      types,
      events.map((e: Json) => e.type),
      'every event of the recording, in order',
    )
    await page.emulateMedia({ media: 'print' })
    t.notOk(await page.locator('.sup-nav').isVisible(), 'printed without the navigation')
    t.notOk(await page.locator('.trail-head .no-print').isVisible(), 'or the print button')
    await shots.take(page, 'trail-print-1920.png')
    await page.emulateMedia({ media: 'screen' })
    await shots.take(page, 'trail-1920.png')
    await axe(t, page, 'printable trail')
  })

  await t.test('roles: a clerk has no audit, an auditor no approvals', async (t) => {
    await clerk.page.goto('/audit')
    await clerk.page.waitForSelector('[role="alert"]')
    t.match(await clerk.page.locator('main').textContent(), /没有此页面的权限/)
    t.equal(await clerk.page.locator('nav a[href="/audit"]').count(), 0, 'no audit in a clerk’s navigation')
    t.equal(await auditor.page.locator('nav a[href="/approvals"]').count(), 0, 'no approvals in an auditor’s')
  })

  t.same(
    // The browser logs every 4xx as a failed load: the approval answered 401 STEP_UP_REQUIRED and the sign-in 401
    // SECOND_FACTOR_REQUIRED are the answers this test provoked.
    errors.filter(
      (e, i) =>
        !(i >= searchVisitedAt && /status of 404 .*\/(favicon\.ico|search\?)/.test(e)) && !/status of 401 .*\/v1\/(exports\/\d+\/approve|session)\)$/.test(e),
    ),
    [],
    'no console errors',
  )
})
