import type { CustodyReport } from './custody.js'
import { labelsOf } from './labels.js'

/** The custody report as one self-contained HTML page (same content as the PDF), for the browser and the export package. */
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export function custodyHtml(r: CustodyReport): string {
  const L = labelsOf(r)
  const row = (k: string, v: string) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`
  const items = r.items
    .map(
      (it, i) => `<section><h3>${esc(`${L.no} ${i + 1} · ${L.recording} #${it.recordingId}${it.status === 'purged' ? ` ${L.purged}` : ''}`)}</h3><table>
${[
  row(L.type, it.kind),
  row(L.format, it.format),
  row(L.size, String(it.size)),
  row(L.sha256, it.sha256),
  row(L.officer, it.officer),
  row(L.device, it.device),
  row(L.time, it.recordedAt),
  row(L.place, it.place),
  row(L.method, it.method),
].join('\n')}</table></section>`,
    )
    .join('\n')
  const trail = r.items
    .map(
      (it) =>
        `<h3>${esc(`${L.recording} #${it.recordingId}`)}</h3><table><tr><th>${esc(L.seq)}</th><th>${esc(L.at)}</th><th>${esc(L.event)}</th><th>${esc(L.actor)}</th></tr>${it.trail
          .map((e) => `<tr><td>${e.seq}</td><td>${esc(e.at)}</td><td>${esc(e.type)}</td><td>${esc(e.actor)}</td></tr>`)
          .join('')}</table>`,
    )
    .join('\n')
  const cp = r.checkpoint
    ? [
        row(L.treeSize, String(r.checkpoint.treeSize)),
        row(L.rootHash, r.checkpoint.rootHash),
        row(L.keyId, `${r.checkpoint.keyId} (${r.checkpoint.origin})`),
      ].join('')
    : row(L.checkpoint, L.none)
  return `<!doctype html>
<html lang="${r.lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>body{font-family:"Noto Sans CJK SC",sans-serif;max-width:60em;margin:2em auto;font-size:14px}th{text-align:left;padding-right:1em;vertical-align:top;white-space:nowrap}td{word-break:break-all}table{border-collapse:collapse;margin-bottom:1em}h1{text-align:center;font-size:20px}</style>
</head><body>
<h1>${esc(r.title)}</h1>
<p>${esc(`${L.station}: ${r.station.name} (${r.station.id}, ${r.station.timezone}) · ${L.generated}: ${r.generatedAt}`)}</p>
<h2>${esc(L.list)}</h2>
${items}
<h2>${esc(L.trail)}</h2>
${trail}
<h2>${esc(L.checkpoint)}</h2>
<table>${cp}${row(L.fingerprint, r.keyFingerprint ?? '-')}</table>
<h2>${esc(L.verify)}</h2>
${L.verifyText.map((l) => `<p>${esc(l)}</p>`).join('\n')}
<p style="margin-top:3em">${L.signatures.map((x) => `${esc(x)} ______________`).join(' &nbsp; &nbsp; ')}</p>
</body></html>
`
}
