/**
 * What an evidence package check reports (./check.ts, ./check-trail.ts;
 * src/export/verify-package.ts reads the zip or folder): the stable failure
 * codes, the report, and the reader the checks share.
 */

export interface PackageEntry {
  sha256: string
  size: number
  /** Contents, for files the checks read (everything but originals/ and derivatives/). */
  bytes?: Buffer
}

export type FailureCode =
  | 'file-missing'
  | 'file-extra'
  | 'file-changed'
  | 'file-unreadable'
  | 'sums-mismatch'
  | 'key-invalid'
  | 'key-untrusted'
  | 'package-signature'
  | 'manifest-changed'
  | 'manifest-invalid'
  | 'checkpoint-invalid'
  | 'checkpoint-signature'
  | 'checkpoint-mismatch'
  | 'event-missing'
  | 'event-invalid'
  | 'event-edited'
  | 'event-chain'
  | 'proof-invalid'
  | 'recording-mismatch'
  | 'zip-invalid'
  | 'cosignature-invalid'
  | 'cosignature-missing'

export interface PackageFailure {
  code: FailureCode
  file?: string
  detail: string
}

export interface PackageReport {
  ok: boolean
  packageId: string | null
  checkpoint: { origin: string; treeSize: number; rootHash: string } | null
  stationKey: { name: string | null; keyId: string | null; fingerprint: string } | null
  /** Whether the package key equals the key given with --key ("not-given": only self-consistency was checked). */
  trustedKey: 'matched' | 'mismatch' | 'not-given'
  checked: { files: number; recordings: number; events: number; bytes: number }
  /** The witnesses' co-signatures on the checkpoint; `verified`: true when checked with a witness key given, null when not checked. */
  witnesses: { name: string; keyId: string; timestamp: number; verified: boolean | null }[]
  failures: PackageFailure[]
  warnings: string[]
}

export type Json = Record<string, unknown>
export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
export const isHex = (v: unknown, n: number): v is string => typeof v === 'string' && v.length === n && /^[0-9a-f]+$/.test(v)
export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** The package's files as the checks read them; `fail` records a failure, `text` reads a small file (a missing one is a failure). */
export interface PackageReader {
  entries: ReadonlyMap<string, PackageEntry>
  fail: (code: FailureCode, detail: string, file?: string) => void
  text: (name: string) => string | undefined
  bytesOf: (name: string) => Buffer | undefined
}
