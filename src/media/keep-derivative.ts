/**
 * Keeping what an ffmpeg run wrote as a derivative, in two steps the job
 * runner (./job-runner.ts) puts around its claim check:
 *   storeOutput      the temp file in staging is final (ffmpeg has exited):
 *                    hash it (SHA-256 and the block list the API checks
 *                    every served byte against) while the kernel writes it
 *                    back, then commit it into objects/ like an original;
 *   recordDerivative inside the transaction that marks the job done: the
 *                    `derived` event, the derivatives row and the blocks.
 * A kill between the two leaves a whole object no row points to (verify
 * notes it; the restart makes the same bytes and adopts it).
 */
import { randomBytes } from 'node:crypto'
import { constants as C } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import type { Db } from '../catalog/db.js'
import { insertDerivative, nextDerivativeId, type DerivativeKind } from '../catalog/derivatives.js'
import { recordObjectBlocks } from '../catalog/fixity.js'
import type { Recording } from '../catalog/recordings.js'
import { subjects, type ProxyRecord } from '../ledger/events.js'
import { appendEvent } from '../ledger/ledger.js'
import { digestFile, type ObjectDigest } from '../vault/blocks.js'
import type { Vault } from '../vault/store.js'
import { FfmpegError } from './ffmpeg.js'
import { DERIVATIVE_MIME } from './policy.js'

export type StoredOutput = ObjectDigest

/** A temp output path in staging, named `<pid>-media-…` so the vault's staging sweep knows whose it is. */
export function stagingTemp(vault: Vault, jobId: number): string {
  return join(vault.stagingDir, `${process.pid}-media-j${jobId}-${randomBytes(6).toString('hex')}.part`)
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, C.O_RDONLY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Hashes a finished temp output while it is fsynced (one read from the page cache), then commits it into objects/. */
export async function storeOutput(vault: Vault, temp: string, chunkBytes: number, aborted: () => boolean): Promise<StoredOutput> {
  const [h] = await Promise.all([digestFile(temp, { chunkBytes }), fsyncFile(temp)])
  if (aborted()) throw new FfmpegError('FFMPEG_ABORTED', 'aborted')
  await vault.commitObject(temp, h.sha256)
  return h
}

/** The `derived` event, the derivatives row and its blocks (call inside the transaction that marks the job done). Returns the derivative's id. */
export function recordDerivative(
  db: Db,
  d: { actor: string; rec: Recording; kind: DerivativeKind; h: StoredOutput; ffmpegVersion: string | null; args: string[]; proxy?: ProxyRecord },
): number {
  const { rec, kind, h } = d
  const derivativeId = nextDerivativeId(db)
  const mimeType = DERIVATIVE_MIME[kind]
  const fields = { recordingId: rec.id, kind, sha256: h.sha256, size: h.size, mimeType, inputSha256: rec.sha256, ffmpegVersion: d.ffmpegVersion, args: d.args }
  const ev = appendEvent(db, {
    type: 'derived',
    actor: d.actor,
    subject: subjects.recording(rec.id),
    payload: { derivativeId, ...fields, ...(d.proxy ? { proxy: d.proxy } : {}) },
  })
  insertDerivative(db, { id: derivativeId, ...fields, createdAt: ev.at, eventSeq: ev.seq })
  recordObjectBlocks(db, { ...h, at: ev.at })
  return derivativeId
}
