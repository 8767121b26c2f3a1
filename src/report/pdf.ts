import { existsSync } from 'node:fs'
import { BodyvaultError } from '../common/errors.js'
import type { CustodyReport } from './custody.js'
import { labelsOf } from './labels.js'

/**
 * The custody report as a PDF (pdfkit), A4, with a CJK font embedded as a
 * subset: Noto Sans CJK from Debian's fonts-noto-cjk (an OpenType
 * collection; pdfkit embeds the Simplified Chinese face by its PostScript
 * name). Without it the Chinese would be empty boxes, so a missing font is
 * an error that says what to install, never a silent fallback.
 */
export const CJK_FONTS = [
  { path: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', family: 'NotoSansCJKsc-Regular' },
  { path: '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc', family: 'NotoSansCJKsc-Bold' },
] as const

/** True when the CJK font is installed (an evidence package then carries the PDF report too). */
export function canRenderPdf(): boolean {
  return CJK_FONTS.every((f) => existsSync(f.path))
}

function fonts(): { regular: (typeof CJK_FONTS)[number]; bold: (typeof CJK_FONTS)[number] } {
  if (!canRenderPdf())
    throw new BodyvaultError(
      'REPORT_FONT_MISSING',
      `the CJK font for reports is missing (${CJK_FONTS[0].path}): install Debian's fonts-noto-cjk (scripts/ensure-system-deps does)`,
    )
  return { regular: CJK_FONTS[0], bold: CJK_FONTS[1] }
}

export async function custodyPdf(r: CustodyReport): Promise<Buffer> {
  const f = fonts()
  const L = labelsOf(r)
  // pdfkit is loaded when a PDF is made: every other command starts without it.
  const PDFDocument = (await import('pdfkit')).default
  const doc = new PDFDocument({ size: 'A4', margins: { top: 56, bottom: 56, left: 50, right: 50 }, info: { Title: r.title, Creator: 'bodyvault' } })
  const chunks: Buffer[] = []
  doc.on('data', (c: Buffer) => chunks.push(c))
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })
  doc.registerFont('r', f.regular.path, f.regular.family)
  doc.registerFont('b', f.bold.path, f.bold.family)
  const width = doc.page.width - 100
  const heading = (t: string) => {
    doc.moveDown(0.8).font('b').fontSize(12).text(t, { width })
    doc.moveDown(0.3).font('r').fontSize(9)
  }
  const field = (k: string, v: string) => {
    doc.font('b').fontSize(9).text(`${k}: `, { continued: true }).font('r').text(v, { width })
  }

  doc.font('b').fontSize(16).text(r.title, { align: 'center', width })
  doc.moveDown(0.5).font('r').fontSize(9)
  doc.text(`${L.station}: ${r.station.name} (${r.station.id}, ${r.station.timezone})    ${L.generated}: ${r.generatedAt}`, { align: 'center', width })
  doc
    .moveTo(50, doc.y + 6)
    .lineTo(50 + width, doc.y + 6)
    .stroke()

  heading(L.list)
  r.items.forEach((it, i) => {
    doc
      .font('b')
      .fontSize(10)
      .text(`${L.no} ${i + 1}  ·  ${L.recording} #${it.recordingId}${it.status === 'purged' ? ` ${L.purged}` : ''}`, { width })
    doc.font('r').fontSize(9)
    field(L.type, it.kind)
    field(L.format, it.format)
    field(L.size, String(it.size))
    field(L.sha256, it.sha256)
    field(L.officer, it.officer)
    field(L.device, it.device)
    field(L.time, it.recordedAt)
    field(L.place, it.place)
    field(L.method, it.method)
    doc.moveDown(0.5)
  })

  heading(L.trail)
  for (const it of r.items) {
    doc.font('b').fontSize(9).text(`${L.recording} #${it.recordingId}`, { width })
    doc.font('r').fontSize(8)
    for (const e of it.trail) doc.text(`${L.seq} ${e.seq}   ${e.at}   ${e.type}   ${L.actor}: ${e.actor}`, { width })
    doc.moveDown(0.4)
  }

  heading(L.checkpoint)
  if (r.checkpoint) {
    field(L.treeSize, String(r.checkpoint.treeSize))
    field(L.rootHash, r.checkpoint.rootHash)
    field(L.keyId, `${r.checkpoint.keyId} (${r.checkpoint.origin}, ${r.checkpoint.createdAt})`)
  } else doc.text(L.none, { width })
  field(L.fingerprint, r.keyFingerprint ?? '-')

  heading(L.verify)
  for (const line of L.verifyText) doc.text(line, { width, paragraphGap: 3 })
  // Handover is signed on paper by both sides (移交 / 接收).
  doc.moveDown(2).font('r').fontSize(10)
  doc.text(L.signatures.map((x) => `${x} ______________`).join('      '), { width })
  doc.end()
  return done
}
