// The custody report a court clerk receives (视听资料清单 + chain of custody):
// the PDF's own text, read back with pdftotext, holds each file's SHA-256,
// officer and time with its offset, in Chinese (default) and English; the
// first page is rendered with pdftoppm into artifacts/custody-report/ for
// people to look at; the CLI writes it for a case, the API serves it.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { retentionPolicy, type RetentionSettings } from '../src/retention/config.js'
import { createCase, linkRecordings } from '../src/retention/actions.js'
import { custodyReport } from '../src/report/custody.js'
import { custodyHtml } from '../src/report/html.js'
import { custodyPdf } from '../src/report/pdf.js'
import { ROOT, cli, station, tempDir } from './helpers.js'

const ART = join(ROOT, 'artifacts', 'custody-report')

t.test('a case report: every hash, officer and time in the PDF text, Chinese and English; a page rendered', async (t) => {
  const s = station(t)
  const cam = join(tempDir(t), 'cam')
  mkdirSync(join(cam, 'DCIM'), { recursive: true })
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20261120090000_0001.MP4'), Buffer.alloc(30_000, 1))
  writeFileSync(join(cam, 'DCIM', 'A1B2C3D_012345_20261120093000_0002.MP4'), Buffer.alloc(30_000, 2))
  const recs = (await s.ingest(cam)).ingested.sort((a, b) => a.id - b.id)
  const policy = retentionPolicy({
    station: { timezone: 'Asia/Shanghai' },
    retention: (JSON.parse(readFileSync(join(ROOT, 'config/default.json'), 'utf8')) as { retention: RetentionSettings }).retention,
  })
  const ctx = { db: s.db, policy, actor: 'user:clerk.li', now: new Date() }
  createCase(ctx, { number: '沪公(治)行罚决字〔2026〕1187', type: 'penalty-general-procedure', title: '阻碍执行职务' })
  linkRecordings(
    ctx,
    '沪公(治)行罚决字〔2026〕1187',
    recs.map((r) => r.id),
    '现场执法记录',
  )
  const cp = s.st.checkpoint()
  t.ok('checkpoint' in cp, 'a checkpoint signed')

  mkdirSync(ART, { recursive: true })
  for (const lang of ['zh', 'en'] as const) {
    const r = custodyReport(s.db, { kind: 'case', ref: '沪公(治)行罚决字〔2026〕1187', lang, station: s.st.cfg.station, now: new Date() })
    t.equal(r.items.length, 2)
    t.ok(r.checkpoint && r.keyFingerprint, 'checkpoint and key fingerprint named')
    const pdf = join(ART, `case-${lang}.pdf`)
    writeFileSync(pdf, await custodyPdf(r))
    writeFileSync(join(ART, `case-${lang}.html`), custodyHtml(r))
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ')
    for (const x of recs) t.ok(text.includes(x.sha256), `${lang}: SHA-256 of recording ${x.id} in the PDF text`)
    t.ok(text.includes('012345'), `${lang}: the officer`)
    t.ok(text.includes('2026-11-20 09:00:00 +08:00') && text.includes('2026-11-20 09:30:00 +08:00'), `${lang}: each time with its offset`)
    t.ok(text.includes(r.checkpoint!.rootHash) && text.includes(r.keyFingerprint!), `${lang}: checkpoint root and key fingerprint`)
    t.ok(text.includes('1187'), `${lang}: the case number`)
    if (lang === 'zh') {
      for (const w of ['视听资料清单', '保管链', '采集方式', '如何核验', '执法记录仪拍摄']) t.ok(text.includes(w), `zh: "${w}" (CJK text extracted)`)
      execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', pdf, join(ART, 'case-zh-page')])
    } else t.ok(text.includes('List of audio-visual material') && text.includes('How to verify'), 'en: English headings')
  }
  const fonts = execFileSync('pdffonts', [join(ART, 'case-zh.pdf')], { encoding: 'utf8' })
  t.match(fonts, /NotoSansCJKsc-Regular\s+CID Type 0C\s+Identity-H\s+yes yes/, 'the CJK font embedded as a subset')

  // The CLI, for the same case (one spawn).
  const out = join(ART, 'case-cli.pdf')
  const run = cli(['report', 'case', '沪公(治)行罚决字〔2026〕1187', '--out', out], { BODYVAULT_DATA_DIR: s.dataDir })
  t.match(run, { code: 0, stdout: /custody report of case .*2 recording\(s\), PDF in Chinese/ }, run.stderr)
  t.ok(execFileSync('pdftotext', [out, '-'], { encoding: 'utf8' }).includes(recs[0]!.sha256))
  t.match(cli(['report', 'recording', '999', '--out', out], { BODYVAULT_DATA_DIR: s.dataDir }), { code: 2, stderr: /recording 999 is not in the catalog/ })
})
