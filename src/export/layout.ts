/**
 * What an evidence package contains, as data and text. Pure: no I/O.
 *
 *   VERIFY.md                     how to check the package by hand (sha256sum, openssl, xxd)
 *   custody-report.html, .pdf     the custody report (视听资料清单, custody trails, checkpoint); the PDF when the CJK font is installed
 *   manifest.json                 recordings, events, checkpoint, key, and every file's SHA-256 and size
 *   package.note                  signed note (station key) over: format, package id, SHA-256 of manifest.json
 *   package.body, package.sig     its text and raw 64-byte Ed25519 signature, for openssl
 *   checkpoint.note               the signed checkpoint (C2SP tlog-checkpoint) the proofs lead to
 *   checkpoint.body, checkpoint.sig   its text and raw signature, for openssl
 *   cosignatures/<n>.msg, .sig    each witness co-signature on the checkpoint (the co-signed message
 *                                 and raw signature, for openssl); the lines themselves end checkpoint.note
 *   station.pub.pem, station.vkey the station public key (SPKI PEM; C2SP vkey)
 *   originals/<sha256>.<ext>      the recordings, byte for byte as ingested
 *   derivatives/<sha256>.<ext>    proxies and thumbnails (optional)
 *   events/<seq>.json             each ledger event with prev_hash and hash (RFC 8785 canonical JSON)
 *   events/<seq>.canonical        the exact bytes its hash covers: canonical {seq,type,at,actor,subject,payload}
 *   proofs/<seq>.json             RFC 6962 inclusion proof of the event in the checkpoint's tree
 *   sheets/recording-<id>.html    the evidence sheet (written description) of each recording
 *   tools/check_package.py        optional checker, Python 3 standard library only
 *   SHA256SUMS                    `sha256sum -c` list of every other file
 */
import { createHash } from 'node:crypto'

export const PACKAGE_FORMAT = 'bodyvault-evidence-package/1'

export const F = {
  verify: 'VERIFY.md',
  custodyHtml: 'custody-report.html',
  custodyPdf: 'custody-report.pdf',
  manifest: 'manifest.json',
  sums: 'SHA256SUMS',
  packageNote: 'package.note',
  packageBody: 'package.body',
  packageSig: 'package.sig',
  checkpointNote: 'checkpoint.note',
  checkpointBody: 'checkpoint.body',
  checkpointSig: 'checkpoint.sig',
  pubPem: 'station.pub.pem',
  vkey: 'station.vkey',
  tool: 'tools/check_package.py',
} as const

/** Files the manifest cannot list (they sign or list the manifest itself). */
export const UNLISTED = new Set<string>([F.manifest, F.sums, F.packageNote, F.packageBody, F.packageSig])

export const eventFile = (seq: number): string => `events/${seq}.json`
export const cosignatureFiles = (n: number): { message: string; signature: string } => ({
  message: `cosignatures/${n}.msg`,
  signature: `cosignatures/${n}.sig`,
})
export const canonicalFile = (seq: number): string => `events/${seq}.canonical`
export const proofFile = (seq: number): string => `proofs/${seq}.json`
export const sheetFile = (id: number): string => `sheets/recording-${id}.html`

/** Lower-case extension of a camera path, safe for a file name; "bin" when there is none. */
export function safeExt(sourcePath: string): string {
  const base = sourcePath.slice(sourcePath.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  const ext = dot > 0 ? base.slice(dot + 1).toLowerCase() : ''
  return /^[a-z0-9]{1,10}$/.test(ext) ? ext : 'bin'
}

const MIME_EXT: Record<string, string> = {
  'video/mp4': 'mp4',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'audio/mpeg': 'mp3',
}
export function extForMime(mime: string): string {
  return MIME_EXT[mime.toLowerCase()] ?? 'bin'
}

export interface ManifestFile {
  path: string
  sha256: string
  size: number
}

export interface ManifestDerivative {
  kind: string
  sha256: string
  size: number
  mimeType: string | null
  eventSeq: number | null
  file: string
}

export interface ManifestRecording {
  id: number
  sha256: string
  size: number
  kind: string
  sourcePath: string
  stationId: string
  deviceId: string | null
  officerId: string | null
  recordedAt: string
  recordedOffset: string
  recordedSource: string
  important: boolean
  category: string | null
  caseNumber: string | null
  ingestedAt: string
  /** The `ingested` event. */
  eventSeq: number
  file: string
  sheet: string
  /** Seqs of every event of its custody trail in this package, ascending. */
  events: number[]
  /** From its latest `probed` event, when there is one. */
  durationSec: number | null
  gps: { lat: number; lon: number; source: string | null } | null
  derivatives: ManifestDerivative[]
}

export interface ManifestEvent {
  seq: number
  type: string
  subject: string
  prevHash: string
  hash: string
  file: string
  canonical: string
  proof: string
}

export interface PackageManifest {
  format: typeof PACKAGE_FORMAT
  packageId: string
  createdAt: string
  station: { id: string; name: string; timezone: string }
  export: { requestedBy: string; approvedBy: string; reason: string; recipient: string }
  stationKey: { name: string; keyId: string; vkey: string; publicKeyHex: string; fingerprint: string; file: string }
  checkpoint: {
    id: number
    origin: string
    treeSize: number
    rootHash: string
    note: string
    body: string
    signature: string
    /** Witnesses' co-signatures on it (C2SP tlog-cosignature/v1), also signature lines of the note. Absent in older packages. */
    cosignatures?: ManifestCosignature[]
  }
  recordings: ManifestRecording[]
  events: ManifestEvent[]
  /** Every file except those in UNLISTED. */
  files: ManifestFile[]
}

export interface ManifestCosignature {
  /** The witness's key name. */
  name: string
  keyId: string
  /** POSIX seconds. */
  timestamp: number
  /** The co-signed message and the raw 64-byte signature. */
  message: string
  signature: string
}

/** Inclusion proof file content. */
export interface ProofFile {
  seq: number
  leafIndex: number
  treeSize: number
  leafHash: string
  path: string[]
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Text of the package note: what the station signs about this package. */
export function packageNoteText(packageId: string, manifestSha256: string): string {
  return `${PACKAGE_FORMAT}\n${packageId}\n${manifestSha256}\n`
}

export function parsePackageNoteText(text: string): { packageId: string; manifestSha256: string } | undefined {
  const m = /^bodyvault-evidence-package\/1\n([0-9a-f-]{36})\n([0-9a-f]{64})\n$/.exec(text)
  return m ? { packageId: m[1]!, manifestSha256: m[2]! } : undefined
}

/** `sha256sum -c` format, sorted by path. */
export function sha256sums(files: readonly ManifestFile[]): string {
  return [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('')
}

export function parseSha256sums(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>()
  if (text.length > 0 && !text.endsWith('\n')) return undefined
  for (const line of text.split('\n')) {
    if (line === '') continue
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line)
    if (!m || out.has(m[2]!)) return undefined
    out.set(m[2]!, m[1]!)
  }
  return out
}

function mdCell(s: string): string {
  return s.replace(/[\\|`*_[\]<>]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ')
}

/** VERIFY.md: the hand check, with this package's values filled in. */
export function verifyMd(m: PackageManifest): string {
  const firstEvent = m.events[0]
  const rec = m.recordings[0]
  const lines: string[] = []
  const p = (s = ''): void => void lines.push(s)
  p('# How to verify this evidence package')
  p()
  p(`Package \`${m.packageId}\`, made ${m.createdAt} by station ${mdCell(m.station.name)} (\`${m.station.id}\`).`)
  p(
    `Requested by ${mdCell(m.export.requestedBy)}, approved by ${mdCell(m.export.approvedBy)}, for ${mdCell(m.export.recipient)}. Reason: ${mdCell(m.export.reason)}.`,
  )
  p()
  p('Everything below runs on the unzipped package with standard tools (`sha256sum`, `openssl` 3.x,')
  p('`xxd`; `python3` only for the optional script). No bodyvault and no access to the station are needed.')
  p('`bodyvault verify-package FILE.zip --key STATION-KEY` does all of it in one command.')
  p()
  p('## 1. No file was changed')
  p()
  p('```sh')
  p('sha256sum -c SHA256SUMS')
  p('```')
  p()
  p('Every line must end in `OK`. SHA256SUMS lists every file of the package except itself; a file that')
  p('is in the package but not in the list was added (compare with `unzip -l` or `find . -type f`).')
  p()
  p("## 2. The key is the station's key")
  p()
  p('```sh')
  p(`openssl pkey -pubin -in ${F.pubPem} -outform DER | sha256sum`)
  p('```')
  p()
  p(`must print \`${m.stationKey.fingerprint}\`. **Compare this with a copy of the station's key that you`)
  p('obtained independently** (the station prints it with `bodyvault key show`; the force should keep a register')
  p('of station keys). The signatures below prove only that the holder of *this* key made the package: anyone')
  p('can make a package that is consistent with itself using a key of their own. The key name is')
  p(`\`${m.stationKey.name}\`, key id \`${m.stationKey.keyId}\`, vkey \`${m.stationKey.vkey}\`.`)
  p()
  p('## 3. The checkpoint is signed by the station')
  p()
  p('```sh')
  p(`openssl pkeyutl -verify -pubin -inkey ${F.pubPem} -rawin -in ${F.checkpointBody} -sigfile ${F.checkpointSig}`)
  p('```')
  p()
  p('must print `Signature Verified Successfully`. The checkpoint (a C2SP signed note, `checkpoint.note`) says')
  p(`that the station's append-only ledger had ${m.checkpoint.treeSize} events whose RFC 6962 Merkle tree root is`)
  p(`\`${Buffer.from(m.checkpoint.rootHash, 'hex').toString('base64')}\` (base64; hex \`${m.checkpoint.rootHash}\`).`)
  p('`checkpoint.body` is the text of the note (the lines before the blank line); `checkpoint.sig` is the')
  p('Ed25519 signature from its signature line (the base64 after the key name, minus the first 4 key-id bytes).')
  p()
  p('## 4. The manifest is the one the station signed')
  p()
  p('```sh')
  p(`openssl pkeyutl -verify -pubin -inkey ${F.pubPem} -rawin -in ${F.packageBody} -sigfile ${F.packageSig}`)
  p(`sha256sum ${F.manifest}`)
  p(`sed -n 3p ${F.packageBody}`)
  p('```')
  p()
  p('The signature must verify and the two hashes must be equal. `manifest.json` lists every recording,')
  p('every ledger event and every other file with its SHA-256 and size, so a dropped or added file or event')
  p('shows up as a difference from the signed manifest.')
  p()
  p('## 5. Each recording is the file the station received')
  p()
  p('| recording | file | SHA-256 | ingested event |')
  p('|---|---|---|---|')
  for (const r of m.recordings) p(`| ${r.id} | \`${r.file}\` | \`${r.sha256}\` | \`${eventFile(r.eventSeq)}\` |`)
  p()
  p('`sha256sum` of each file must equal its SHA-256, which is also the `sha256` in the payload of its')
  p('`ingested` event: the hash the station computed while copying it off the camera. The evidence sheet')
  p('(`sheets/recording-<id>.html`) describes each recording and its custody trail.')
  p()
  p('## 6. Each ledger event is intact')
  p()
  p("Each event's hash is `SHA-256(prev_hash as 32 raw bytes || its canonical bytes)`, where the canonical")
  p('bytes (RFC 8785 JSON of `{seq, type, at, actor, subject, payload}`) are in `events/<seq>.canonical`.')
  if (firstEvent) {
    p('For example, for event ' + firstEvent.seq + ':')
    p()
    p('```sh')
    p(`{ printf '%s' ${firstEvent.prevHash} | xxd -r -p; cat ${firstEvent.canonical}; } | sha256sum`)
    p('```')
    p()
    p(`must print \`${firstEvent.hash}\`, the \`hash\` in \`${firstEvent.file}\` (whose \`prev_hash\` is the hex`)
    p('fed to xxd, and whose other fields must say the same as the canonical bytes). Where two events')
    p("in the package are consecutive, the later one's `prev_hash` is the earlier one's `hash`.")
  }
  p()
  p('## 7. Each event is in the signed ledger')
  p()
  p('`proofs/<seq>.json` is an RFC 6962 inclusion proof: the event is leaf `leafIndex` (= seq - 1) of the tree')
  p(`of \`treeSize\` (= ${m.checkpoint.treeSize}) events signed in the checkpoint. Its leaf hash is`)
  p('`SHA-256(0x00 || event hash)`; fold the `path` as in RFC 9162 section 2.1.3.2 (interior nodes are')
  p('`SHA-256(0x01 || left || right)`); the result must equal the checkpoint root. Because the checkpoint')
  p('is signed, an event that was edited, or a proof that was made up, does not reach the signed root.')
  p()
  const cosigs = m.checkpoint.cosignatures ?? []
  if (cosigs.length) {
    p('## 8. Other stations witnessed the checkpoint')
    p()
    p(`The checkpoint was co-signed by ${cosigs.length} witness(es): other stations that checked it was consistent with`)
    p("everything they had seen of this station's ledger before (C2SP tlog-cosignature/v1). Each co-signature is a signature")
    p(`line of \`${F.checkpointNote}\`; the signed message and the raw signature are in \`cosignatures/\`. With the`)
    p("witness's public key obtained independently (its `bodyvault key show --pem`), as `witness.pem`:")
    p()
    p('| witness | time | message | signature |')
    p('|---|---|---|---|')
    for (const c of cosigs) p(`| \`${mdCell(c.name)}\` | ${new Date(c.timestamp * 1000).toISOString()} | \`${c.message}\` | \`${c.signature}\` |`)
    p()
    p('```sh')
    p(`openssl pkeyutl -verify -pubin -inkey witness.pem -rawin -in ${cosigs[0]!.message} -sigfile ${cosigs[0]!.signature}`)
    p('```')
    p()
    p('must print `Signature Verified Successfully`; the message is `cosignature/v1`, `time <seconds>` and then exactly')
    p(`\`${F.checkpointBody}\`. \`bodyvault verify-package FILE.zip --witness-key VKEY\` checks them in one command.`)
    p()
  }
  p(`\`python3 ${F.tool}\` (Python 3 standard library only, run in the unzipped folder) does steps 1, 4`)
  p('(hash part), 5, 6 and 7 and prints `OK` or each failure; steps 2 and 3 and the signature of step 4 need')
  p('openssl as shown.')
  if (rec) {
    p()
    p('## What this proves, and what it does not')
    p()
    p('It proves that these files are byte for byte the ones the station recorded in its ledger, that the')
    p('ledger events shown are unaltered and part of the ledger the station key signed, and who signed it')
    p('(step 2). It does not prove that the camera clock was right or who wore the camera: those come from')
    p('the camera and the docking, as the evidence sheet says.')
  }
  p()
  return lines.join('\n')
}
