/**
 * The evidence sheet of one recording: the written description that rules of
 * evidence ask to accompany an audio/video recording (who recorded it, with
 * what, when and where, how long, its hash, and how it was kept since). One
 * self-contained HTML page, no scripts, every value escaped. Pure.
 */
import { DateTime } from 'luxon'
import { subjects } from '../ledger/events.js'
import type { ManifestRecording, PackageManifest } from './layout.js'

export interface SheetEvent {
  seq: number
  type: string
  at: string
  actor: string
  subject: string
  payload: Record<string, unknown>
  hash: string
}

/** HTML-escapes any value (strings, numbers, null...) for element content and quoted attributes. */
export function esc(value: unknown): string {
  const s = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value)
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`)
}

function localTime(utcIso: string, zone: string): string {
  const dt = DateTime.fromISO(utcIso, { zone: 'utc' })
  if (!dt.isValid) return utcIso
  const z = dt.setZone(zone)
  return (z.isValid ? z : dt).toFormat('yyyy-MM-dd HH:mm:ss ZZ')
}

function duration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return 'not known (the media has not been probed)'
  const total = Math.round(sec)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return `${h > 0 ? `${h} h ` : ''}${m} min ${s} s (${sec} s)`
}

const str = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v))

/** One line saying what an event means for the recording. */
export function describeEvent(ev: SheetEvent): string {
  const p = ev.payload
  switch (ev.type) {
    case 'ingested':
      return `Copied from the camera (device ${str(p.deviceId)}, officer ${str(p.officerId)}, file ${str(p.sourcePath)}) into the vault of station ${str(p.stationId)} in ingest session ${str(p.sessionId)}; SHA-256 ${str(p.sha256)} computed while copying and verified on the stored copy.`
    case 'ingest-session-ended':
      return `Ingest session ${str(p.sessionId)} ended ${str(p.state)}: ${str(p.ingested)} file(s) ingested, ${str(p.failed)} failed.`
    case 'probed':
      return `Media examined (read only): duration ${str(p.durationSec)} s, container ${str(p.container)}.`
    case 'derived':
      return `Derived copy made (${str(p.kind)}), SHA-256 ${str(p.sha256)}; the original was not modified.`
    case 'case-linked':
      return `Linked to case ${str(p.caseNumber)}.`
    case 'case-unlinked':
      return `Unlinked from case ${str(p.caseNumber)}.`
    case 'category-changed':
      return `Category changed from ${str(p.from)} to ${str(p.to)}: ${str(p.reason)}.`
    case 'importance-changed':
      return `Marked ${p.to ? 'important' : 'not important'}: ${str(p.reason)}.`
    case 'hold-placed':
      return `Legal hold ${str(p.holdId)} placed: ${str(p.reason)}.`
    case 'hold-released':
      return `Legal hold ${str(p.holdId)} released: ${str(p.reason)}.`
    case 'retention-changed':
      return `Retention deadline set to ${str(p.deadline)} (${str(p.rule)}).`
    case 'viewed':
      return 'Viewed.'
    case 'exported':
      return `Exported in package ${str(p.packageId ?? p.exportId)} to ${str(p.recipient)}, approved by ${str(p.approvedBy)}: ${str(p.reason)}.`
    default: {
      const keys = Object.keys(p).slice(0, 8)
      return `${ev.type}${keys.length ? ': ' + keys.map((k) => `${k} ${str(p[k])}`).join(', ') : ''}`
    }
  }
}

const STYLE = `body{font-family:sans-serif;margin:2em;max-width:60em;color:#111}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eee;width:14em}code{font-family:monospace;word-break:break-all}.trail th{width:auto}
.sign{margin-top:3em}.sign div{display:inline-block;width:45%;border-top:1px solid #000;margin-right:4%;padding-top:.3em}`

/** The sheet for `r`, with the events of its custody trail (ascending seq). */
export function evidenceSheetHtml(m: PackageManifest, r: ManifestRecording, events: readonly SheetEvent[]): string {
  const zone = m.station.timezone
  const offsetZone = `UTC${r.recordedOffset}`
  const recordedLocal = localTime(r.recordedAt, offsetZone)
  const row = (k: string, v: string, code = false): string => `<tr><th>${esc(k)}</th><td>${code ? `<code>${esc(v)}</code>` : esc(v)}</td></tr>`
  const place = r.gps
    ? `GPS ${r.gps.lat}, ${r.gps.lon}${r.gps.source ? ` (source: ${r.gps.source})` : ''}`
    : 'not recorded (the camera recorded no GPS position for this file)'
  const facts = [
    row('Recording', `${r.id} (${r.kind})`),
    row('Officer (police number)', r.officerId ?? 'not known'),
    row('Camera (device id)', r.deviceId ?? 'not known'),
    row('Recorded at (camera time)', `${recordedLocal}  (UTC ${r.recordedAt})`),
    row('Time taken from', r.recordedSource === 'filename' ? 'the file name written by the camera' : 'the file modification time on the camera'),
    row('Place', place),
    row('Duration', duration(r.durationSec)),
    row('Marked important on the camera', r.important ? 'yes' : 'no'),
    row('Category', r.category ?? 'none'),
    row('Case', r.caseNumber ?? 'none'),
    row('File name on the camera', r.sourcePath, true),
    row('File in this package', r.file, true),
    row('Size', `${r.size} bytes`),
    row('SHA-256', r.sha256, true),
    row('Received by station', `${m.station.name} (${r.stationId}) at ${localTime(r.ingestedAt, zone)} (UTC ${r.ingestedAt}), ledger event ${r.eventSeq}`),
  ]
  const derived = r.derivatives.map(
    (d) => `<tr><td>${esc(d.kind)}</td><td><code>${esc(d.file)}</code></td><td><code>${esc(d.sha256)}</code></td><td>${esc(d.size)}</td></tr>`,
  )
  const trail = events.map(
    (ev) =>
      `<tr><td>${esc(ev.seq)}</td><td>${esc(localTime(ev.at, zone))}<br><small>UTC ${esc(ev.at)}</small></td><td>${esc(ev.actor)}</td><td>${esc(ev.type)}${ev.subject === subjects.recording(r.id) ? '' : `<br><small>${esc(ev.subject)}</small>`}</td><td>${esc(describeEvent(ev))}</td><td><code>${esc(ev.hash.slice(0, 16))}…</code></td></tr>`,
  )
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Evidence sheet: recording ${esc(r.id)}</title><style>${STYLE}</style></head>
<body>
<h1>Evidence sheet: audio/video recording ${esc(r.id)}</h1>
<p>Written description accompanying the recording <code>${esc(r.file)}</code> in evidence package <code>${esc(m.packageId)}</code>.</p>
<h2>The recording</h2>
<table>
${facts.join('\n')}
</table>
${derived.length ? `<h2>Derived copies (for viewing; the original above is the evidence)</h2>\n<table class="trail"><tr><th>kind</th><th>file</th><th>SHA-256</th><th>bytes</th></tr>\n${derived.join('\n')}\n</table>` : ''}
<h2>Custody trail (from the station's ledger)</h2>
<p>Each entry is a ledger event included in this package (<code>events/&lt;no&gt;.json</code>) with a proof that it is part of the ledger the station signed at ${esc(m.checkpoint.treeSize)} events (root <code>${esc(m.checkpoint.rootHash)}</code>). Times in station time (${esc(zone)}).</p>
<table class="trail"><tr><th>no</th><th>time</th><th>by</th><th>event</th><th>what happened</th><th>event hash</th></tr>
${trail.join('\n')}
</table>
<h2>This export</h2>
<table>
${row('Package', m.packageId, true)}
${row('Made at', `${localTime(m.createdAt, zone)} (UTC ${m.createdAt})`)}
${row('Requested by', m.export.requestedBy)}
${row('Approved by', m.export.approvedBy)}
${row('Recipient', m.export.recipient)}
${row('Reason', m.export.reason)}
${row('Station key', `${m.stationKey.name} (key id ${m.stationKey.keyId}, fingerprint ${m.stationKey.fingerprint})`, true)}
</table>
<p>To check the file and this trail without bodyvault, follow VERIFY.md in this package.</p>
<div class="sign"><div>Handed over by (name, signature, date)</div><div>Received by (name, signature, date)</div></div>
</body></html>
`
}
