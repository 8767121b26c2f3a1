/**
 * Reads an evidence package (the zip, or the folder it was unzipped to),
 * hashing every file as a stream, and runs the offline checks of check.ts.
 * Needs nothing of the station: no catalog, no config, no data dir.
 */
import { createReadStream } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { createHash, createPublicKey } from 'node:crypto'
import { join, relative, sep } from 'node:path'
import type { Readable } from 'node:stream'
import yauzl from 'yauzl'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import { parseWitnessVkey } from '../ledger/cosignature.js'
import { parseVkey, rawPublicKey } from '../ledger/note.js'
import type { WitnessKey } from './check-cosignatures.js'
import { checkPackage } from './check.js'
import type { PackageEntry, PackageFailure, PackageReport } from './package-report.js'

/** Files read into memory for the checks (all but originals and derivatives); larger ones are refused. */
const MAX_TEXT_BYTES = 64 << 20
const MAX_ENTRIES = 1_000_000

const keepBytes = (name: string): boolean => !name.startsWith('originals/') && !name.startsWith('derivatives/')
const SAFE_NAME = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/

async function consume(stream: Readable, keep: boolean): Promise<PackageEntry> {
  const h = createHash('sha256')
  const chunks: Buffer[] = []
  let size = 0
  let tooBig = false
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk)
    size += chunk.length
    if (keep && !tooBig) {
      if (size > MAX_TEXT_BYTES) {
        tooBig = true
        chunks.length = 0
      } else chunks.push(chunk)
    }
  }
  return keep && !tooBig ? { sha256: h.digest('hex'), size, bytes: Buffer.concat(chunks) } : { sha256: h.digest('hex'), size }
}

export interface ReadResult {
  entries: Map<string, PackageEntry>
  failures: PackageFailure[]
}

async function readZip(path: string): Promise<ReadResult> {
  const entries = new Map<string, PackageEntry>()
  const failures: PackageFailure[] = []
  let zip: yauzl.ZipFile
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true, decodeStrings: true })
  } catch (err) {
    failures.push({ code: 'zip-invalid', detail: `${path} is not a readable zip file: ${errorMessage(err)}` })
    return { entries, failures }
  }
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName
      if (name.endsWith('/')) continue // a folder entry (a re-zipped package): no content
      if (!SAFE_NAME.test(name)) {
        failures.push({ code: 'zip-invalid', file: name, detail: `entry name ${JSON.stringify(name)} is not a plain relative path` })
        continue
      }
      if (entries.has(name)) {
        failures.push({ code: 'zip-invalid', file: name, detail: `${name} appears twice in the zip` })
        continue
      }
      if (entries.size >= MAX_ENTRIES) {
        failures.push({ code: 'zip-invalid', detail: `more than ${MAX_ENTRIES} entries` })
        break
      }
      try {
        entries.set(name, await consume(await zip.openReadStreamPromise(entry), keepBytes(name)))
      } catch (err) {
        failures.push({ code: 'file-unreadable', file: name, detail: `${name} cannot be read from the zip: ${errorMessage(err)}` })
      }
    }
  } catch (err) {
    failures.push({ code: 'zip-invalid', detail: `the zip is damaged: ${errorMessage(err)}` })
  } finally {
    zip.close()
  }
  return { entries, failures }
}

async function readDir(root: string): Promise<ReadResult> {
  const entries = new Map<string, PackageEntry>()
  const failures: PackageFailure[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, d.name)
      const name = relative(root, abs).split(sep).join('/')
      if (d.isDirectory()) await walk(abs)
      else if (d.isFile()) {
        if (!SAFE_NAME.test(name)) failures.push({ code: 'zip-invalid', file: name, detail: `file name ${JSON.stringify(name)} is not a plain relative path` })
        else entries.set(name, await consume(createReadStream(abs), keepBytes(name)))
      } else failures.push({ code: 'file-unreadable', file: name, detail: `${name} is not a regular file` })
    }
  }
  await walk(root)
  return { entries, failures }
}

/** Reads a package zip or unzipped folder: each file's SHA-256, size and (small files) bytes. */
export async function readPackage(path: string): Promise<ReadResult> {
  let st: Awaited<ReturnType<typeof stat>>
  try {
    st = await stat(path)
  } catch (err) {
    throw new BodyvaultError('PACKAGE_NOT_FOUND', `cannot read ${path}: ${errorMessage(err)}`)
  }
  return st.isDirectory() ? readDir(path) : readZip(path)
}

/**
 * Checks a package offline. `trustedKey`: the station's 32-byte public key, obtained
 * independently; `witnessKeys`: the witnesses' keys, each of which must have co-signed the checkpoint.
 */
export async function verifyEvidencePackage(path: string, opts: { trustedKey?: Uint8Array; witnessKeys?: readonly WitnessKey[] } = {}): Promise<PackageReport> {
  const { entries, failures } = await readPackage(path)
  const report = checkPackage(entries, opts)
  if (failures.length) {
    report.failures.unshift(...failures)
    report.ok = false
  }
  return report
}

/**
 * A trusted key given by the user: an SPKI PEM ("-----BEGIN PUBLIC KEY-----"),
 * a C2SP vkey ("name+keyid+base64"), or 64 hex digits. Returns 32 raw bytes.
 */
export function parseTrustedKey(text: string): Buffer {
  const s = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex')
  if (s.includes('-----BEGIN')) {
    try {
      return rawPublicKey(createPublicKey(s))
    } catch (err) {
      throw new BodyvaultError('PACKAGE_KEY_INVALID', `not an Ed25519 public key PEM: ${errorMessage(err)}`)
    }
  }
  try {
    return parseVkey(s).publicKey
  } catch {
    throw new BodyvaultError('PACKAGE_KEY_INVALID', 'the key must be an Ed25519 public key as PEM (bodyvault key show --pem), a vkey string, or 64 hex digits')
  }
}

export async function readTrustedKeyFile(path: string): Promise<Buffer> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new BodyvaultError('PACKAGE_KEY_INVALID', `cannot read key file ${path}: ${errorMessage(err)}`)
  }
  return parseTrustedKey(text)
}

/**
 * A witness key given by the user: its vkey (the witness station's `bodyvault key show` vkey, or a
 * C2SP co-signer vkey), or a file holding that or its public key PEM (`bodyvault key show --pem`).
 */
export async function readWitnessKey(arg: string): Promise<WitnessKey> {
  const parse = (text: string): WitnessKey => {
    try {
      return parseWitnessVkey(text)
    } catch {
      return { publicKey: parseTrustedKey(text) }
    }
  }
  if (/^[^+\s]+\+[0-9a-f]{8}\+/.test(arg.trim())) return parseWitnessVkey(arg)
  let text: string
  try {
    text = await readFile(arg, 'utf8')
  } catch (err) {
    throw new BodyvaultError('PACKAGE_KEY_INVALID', `--witness-key ${arg} is neither a vkey nor a readable key file: ${errorMessage(err)}`)
  }
  return parse(text)
}
