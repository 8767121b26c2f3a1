/**
 * Offline check of the witnesses' co-signatures on a package's checkpoint
 * (C2SP tlog-cosignature/v1, src/ledger/cosignature.ts): every one the
 * manifest lists is a signature line of checkpoint.note, with its message
 * and signature files; and every witness key the user gives (obtained
 * independently, like the station key) has a valid co-signature there.
 * Failure codes: cosignature-invalid, cosignature-missing.
 */
import { asCosignature, cosignedMessage, findCosignature } from '../ledger/cosignature.js'
import { spkiFingerprint, type SignedNote } from '../ledger/note.js'
import { F, type PackageManifest } from './layout.js'
import type { PackageReader, PackageReport } from './package-report.js'

/** A witness key given to verify-package: its 32 raw bytes, and its name when it came as a vkey. */
export interface WitnessKey {
  name?: string
  publicKey: Uint8Array
}

export function checkCosignatures(
  r: Pick<PackageReader, 'fail' | 'bytesOf'>,
  m: PackageManifest,
  cn: SignedNote | undefined,
  report: PackageReport,
  keys: readonly WitnessKey[],
): void {
  const listed = Array.isArray(m.checkpoint.cosignatures) ? m.checkpoint.cosignatures : []
  report.witnesses = listed.map((c) => ({ name: String(c.name), keyId: String(c.keyId), timestamp: Number(c.timestamp), verified: null }))
  if (!cn) return
  for (const c of listed) {
    const line = cn.signatures.find((s) => s.name === c.name && s.keyId.toString('hex') === c.keyId && asCosignature(s)?.timestamp === c.timestamp)
    const sig = line ? asCosignature(line) : undefined
    if (!sig) {
      r.fail(
        'cosignature-invalid',
        `the manifest lists a co-signature by ${c.name} (key id ${c.keyId}) that is not a signature line of ${F.checkpointNote}`,
        F.checkpointNote,
      )
      continue
    }
    const msg = r.bytesOf(c.message)
    if (!msg?.equals(cosignedMessage(cn.text, sig.timestamp)))
      r.fail('cosignature-invalid', `${c.message} is not the message co-signed by ${c.name} (cosignature/v1, time, the checkpoint text)`, c.message)
    if (!r.bytesOf(c.signature)?.equals(sig.signature))
      r.fail('cosignature-invalid', `${c.signature} is not the signature in ${c.name}'s co-signature line`, c.signature)
  }
  for (const k of keys) {
    const c = findCosignature(cn, k.publicKey, k.name)
    const who = k.name ? `${k.name} (key ${spkiFingerprint(k.publicKey)})` : `key ${spkiFingerprint(k.publicKey)}`
    if (!c) {
      r.fail(
        'cosignature-missing',
        `${F.checkpointNote} has no valid co-signature by witness ${who}: that witness did not co-sign this checkpoint, or the co-signature or the checkpoint was altered`,
        F.checkpointNote,
      )
      continue
    }
    const w = report.witnesses.find((x) => x.name === c.name && x.keyId === c.keyId.toString('hex'))
    if (w) w.verified = true
    else report.witnesses.push({ name: c.name, keyId: c.keyId.toString('hex'), timestamp: c.timestamp, verified: true })
  }
  const unchecked = report.witnesses.filter((w) => w.verified === null).length
  if (unchecked && keys.length === 0)
    report.warnings.push(
      `the checkpoint carries ${unchecked} witness co-signature(s), not checked: pass --witness-key with each witness's key obtained independently to check them`,
    )
}
