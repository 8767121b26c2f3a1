// A proxy made by remux plays in the clerks' recording page (issue 16).
// What would make the promise false: a remux whose moov is left at the end
// (the browser must fetch the whole file first, or never starts), a proxy
// recorded as remuxed that was really transcoded (or the other way round),
// a derived event without the arguments that made it, a stream copy
// Chromium cannot decode. One short generated H.264/AAC clip, docked as a
// station sees a camera, through a real daemon and Debian's chromium.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { storedEventsOfType } from '../src/ledger/ledger.js'
import { cannotBrowse, dockCamera, launchBrowser, signInFirstTime } from './browser-support.js'
import { startDaemon, waitFor } from './daemon-support.js'
import { cli, makeCamera, tempDir } from './helpers.js'

const skip = cannotBrowse() ?? false

/** The codecs of a media file, as ffprobe says. */
function codecs(path: string): string[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', path], { encoding: 'utf8' })
  return out.split('\n').filter(Boolean).sort()
}

t.test('a remuxed proxy: the derived event says remux with its arguments, and it plays in the recording page', { skip }, async (t) => {
  const dir = tempDir(t, 'bv-remux-')
  const cam = await makeCamera(join(dir, 'cam'), ['--count', '6'])
  // Only the H.264/AAC clip stays on the camera: the others' transcodes would only make the test slower.
  const media = join(cam, 'DCIM', '100MEDIA')
  let clip = ''
  for (const f of readdirSync(media)) {
    if (!clip && /\.MP4$/.test(f) && codecs(join(media, f)).join(',') === 'aac,h264') clip = f
    else rmSync(join(media, f))
  }
  rmSync(join(cam, 'AUDIO'), { recursive: true, force: true })
  t.ok(clip, `the camera holds one H.264/AAC clip (${clip})`)
  const root = join(dir, 'media')
  mkdirSync(root)
  const data = join(dir, 'data')
  const d = await startDaemon(t, { dataDir: data, roots: [root], configDir: dir })
  const made = cli(['user', 'create', 'wang.fang', '--display', '王芳', '--police-no', '010002', '--role', 'clerk', '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(made.code, 0, made.stderr)
  const oneTime = (JSON.parse(made.stdout) as { oneTimePassword: string }).oneTimePassword
  const docked = dockCamera(t, cam, root, 'CAM1', dir)
  t.comment(`camera docked as ${docked.how}`)

  const proxyEvent = (): { recordingId: number; payload: Record<string, unknown> } | undefined => {
    const db = new Database(join(data, 'catalog.db'), { readonly: true })
    try {
      for (const e of storedEventsOfType(db, ['derived'])) {
        const payload = JSON.parse(e.payload) as Record<string, unknown>
        if (payload.kind === 'proxy') return { recordingId: payload.recordingId as number, payload }
      }
      return undefined
    } finally {
      db.close()
    }
  }
  const ev = await waitFor(async () => proxyEvent(), 'the clip to be ingested and its proxy made', 120_000, 500)
  const plan = ev.payload.proxy as { method: string; why: string[] }
  t.equal(plan.method, 'remux', `the derived event says the proxy was made by remux (why: ${JSON.stringify(plan.why)})`)
  const args = ev.payload.args as string[]
  t.ok(Array.isArray(args) && args.length > 0, 'the derived event carries the ffmpeg arguments')
  t.ok(args.includes('copy') && !args.includes('libx264'), `stream copy, no encoder: ${args.join(' ')}`)
  t.match(args.join(' '), /\+faststart/, 'moov moved to the front (+faststart)')
  t.ok(args.includes('file:{thumbnail}'), "made in one ffmpeg run with its thumbnail (the proxy that plays below is that run's)")

  const browser = await launchBrowser(t, ['--autoplay-policy=no-user-gesture-required'])
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } })
  const errors: string[] = []
  const path = `/clerks/recordings/${ev.recordingId}`
  await signInFirstTime(page, d.url, '/clerks?officer=012345', { name: 'wang.fang', oneTime, newPassword: 'Remux-Desk-Passphrase-16' })
  // From here on (before it, the page's 401 is what sends it to the sign-in page).
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`)
  })
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`))
  await page.goto(`${d.url}${path}`)
  const video = page.locator('video[data-playing="proxy"]')
  await video.waitFor()
  await page.evaluate(`(() => { const v = document.querySelector('video'); v.muted = true; return v.play() })()`)
  const played = await waitFor(
    async () => {
      const ct = (await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime)) as number
      return ct > 1 ? ct : 0
    },
    'the remuxed proxy to play past 1 s',
    30_000,
    100,
  )
  t.ok(played > 1, `the remuxed proxy plays in Chromium (currentTime ${played.toFixed(2)} s)`)
  const size = (await video.evaluate((v) => {
    const el = v as unknown as { videoWidth: number; videoHeight: number }
    return [el.videoWidth, el.videoHeight]
  })) as number[]
  t.ok(size[0]! > 0 && size[1]! > 0, `frames are decoded (${size.join('x')}), not only the audio`)
  t.same(errors, [], 'no console error')
})
