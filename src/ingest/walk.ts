/**
 * Lists a camera volume: every regular file outside the volume's system
 * folders, by the bytes of its name. A file is media when its extension or
 * its leading bytes say audio, video, photo or a known sidecar, wherever it
 * sits; the profile's media folders only put those first. Other regular
 * files are `unrecognised` (ingested too when the profile says
 * `ingestUnrecognised`). Links are never followed, nothing outside the
 * root's file system is read, and what could not be listed (an unreadable
 * folder) is a `problem`: the session cannot be complete.
 */
import { type BigIntStats, constants as C, type Dirent } from 'node:fs'
import { lstat, open, opendir, realpath } from 'node:fs/promises'
import picomatch from 'picomatch'
import { errnoCode, errorMessage } from '../common/errors.js'
import type { DockingProfile } from '../camera/profile.js'
import { kindOf, systemEntry, type Kind } from '../camera/names.js'
import { displayName, displayPath, joinRaw, pathTrick } from '../camera/rawname.js'
import { SNIFF_BYTES, sniffKind, type Sniffed } from '../camera/sniff.js'
import type { ListedFile } from '../catalog/sessions.js'
import type { SourceRef } from './copy.js'
import { type Fingerprint, fileType, fingerprint, raceAbort } from './source.js'

export type { ListedFile } from '../catalog/sessions.js'

export interface CameraFile extends SourceRef {
  /** The path under the root as the camera wrote it: bytes, '/'-separated. */
  raw: Buffer
  /** `raw` as base64: how the catalog and the ledger keep it. */
  rawB64: string
  kind: Kind
  recognisedBy: 'extension' | 'content' | 'ingestUnrecognised'
  size: number
  mtimeMs: number
  /** lstat at listing time. */
  listed: Fingerprint
}

export interface Listing {
  /** realpath of the camera root. */
  root: string
  files: CameraFile[]
  /** Regular files that are neither media nor sidecars (not ingested unless the profile says so). */
  unrecognised: ListedFile[]
  /** System entries, links, pipes and devices, other file systems: not files of the camera. */
  skipped: ListedFile[]
  /** What could not be listed (unreadable folder, too deep): a media file may hide there. */
  problems: ListedFile[]
  listedAt: string
}

const MAX_DEPTH = 64

/** Lists a mounted camera (see the file comment). Sorted: the profile's media folders first, then by raw path. */
export async function listCamera(
  root: string,
  profile: Pick<DockingProfile, 'media' | 'sidecars' | 'ingestUnrecognised'>,
  o: { signal?: AbortSignal | undefined } = {},
): Promise<Listing> {
  const listedAt = new Date().toISOString()
  const wait = <T>(p: Promise<T>): Promise<T> => raceAbort(p, o.signal)
  const realRoot = await wait(realpath(root))
  const rootSt = await wait(lstat(realRoot, { bigint: true }))
  if (!rootSt.isDirectory()) throw new Error(`${root} is not a folder`)
  const files: CameraFile[] = []
  const unrecognised: ListedFile[] = []
  const skipped: ListedFile[] = []
  const problems: ListedFile[] = []
  const rootBuf = Buffer.from(realRoot)

  const absOf = (rel: Buffer): Buffer => (rel.length ? Buffer.concat([rootBuf, Buffer.from('/'), rel]) : rootBuf)

  async function walk(rel: Buffer, depth: number): Promise<void> {
    const here = rel.length ? displayPath(rel) : '.'
    if (depth > MAX_DEPTH) {
      problems.push({ sourcePath: here, reason: `folders nested deeper than ${MAX_DEPTH}: not listed` })
      return
    }
    const entries: Dirent<Buffer>[] = []
    try {
      // opendir with encoding 'buffer' yields Buffer names; its typings say string.
      const dir = await wait(opendir(absOf(rel), { encoding: 'buffer' as BufferEncoding }))
      try {
        for (;;) {
          const e = (await wait(dir.read())) as unknown as Dirent<Buffer> | null
          if (!e) break
          entries.push(e)
        }
      } finally {
        await dir.close().catch(() => undefined)
      }
    } catch (err) {
      if (o.signal?.aborted) throw err
      problems.push({ sourcePath: here, reason: `cannot read folder: ${errorMessage(err)}` })
      return
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name))
    for (const e of entries) {
      const name = e.name
      const childRel = joinRaw(rel, name)
      const sourcePath = displayPath(childRel)
      const trick = pathTrick(name)
      if (trick) {
        problems.push({ sourcePath, reason: trick })
        continue
      }
      const sys = systemEntry(displayName(name))
      if (sys) {
        skipped.push({ sourcePath, reason: sys })
        continue
      }
      let st: BigIntStats
      try {
        st = await wait(lstat(absOf(childRel), { bigint: true }))
      } catch (err) {
        if (o.signal?.aborted) throw err
        // Gone between readdir and lstat: nothing is there to ingest.
        if (errnoCode(err) === 'ENOENT') skipped.push({ sourcePath, reason: 'vanished while the volume was listed' })
        else problems.push({ sourcePath, reason: `cannot stat: ${errorMessage(err)}` })
        continue
      }
      if (st.isSymbolicLink()) {
        skipped.push({ sourcePath, reason: 'symbolic link: not followed' })
        continue
      }
      if (st.dev !== rootSt.dev) {
        skipped.push({ sourcePath, reason: 'another file system mounted inside the camera: not read' })
        continue
      }
      if (st.isDirectory()) {
        await walk(childRel, depth + 1)
        continue
      }
      if (!st.isFile()) {
        skipped.push({ sourcePath, reason: fileType(st) })
        continue
      }
      const base = displayName(name)
      let kind: Sniffed | undefined = name[0] === 0x2e && name[1] === 0x5f ? undefined : kindOf(base, profile)
      let by: CameraFile['recognisedBy'] = 'extension'
      if (!kind && st.size > 0n) {
        try {
          kind = sniffKind(await sniff(absOf(childRel), st, o.signal))
          by = 'content'
        } catch (err) {
          if (o.signal?.aborted) throw err
          if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ELOOP') skipped.push({ sourcePath, reason: 'vanished while the volume was listed' })
          else problems.push({ sourcePath, reason: `cannot read its first bytes to tell what it is: ${errorMessage(err)}` })
          continue
        }
      }
      if (kind === 'appledouble') {
        skipped.push({ sourcePath, reason: 'AppleDouble metadata (macOS): not footage' })
        continue
      }
      if (!kind) {
        if (!profile.ingestUnrecognised) {
          unrecognised.push({ sourcePath, reason: 'neither media nor a sidecar by its extension or its first bytes' })
          continue
        }
        kind = 'sidecar'
        by = 'ingestUnrecognised'
      }
      files.push({
        raw: childRel,
        rawB64: childRel.toString('base64'),
        sourcePath,
        absPath: absOf(childRel),
        dev: st.dev,
        ino: st.ino,
        kind,
        recognisedBy: by,
        size: Number(st.size),
        mtimeMs: Number(st.mtimeMs),
        listed: fingerprint(st),
      })
    }
  }
  await walk(Buffer.alloc(0), 0)
  const inProfile = picomatch(profile.media, { nocase: true, dot: true })
  const first = (f: CameraFile): number => (inProfile(f.sourcePath) ? 0 : 1)
  files.sort((a, b) => first(a) - first(b) || Buffer.compare(a.raw, b.raw))
  return { root: realRoot, files, unrecognised, skipped, problems, listedAt }
}

/** The first bytes of a listed regular file, opened so that nothing can make it wait (see source.ts). */
async function sniff(abs: Buffer, listed: BigIntStats, signal?: AbortSignal): Promise<Buffer> {
  const opening = open(abs, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK)
  const fh = await raceAbort(opening, signal).catch((err: unknown) => {
    if (signal?.aborted) opening.then((h) => h.close()).catch(() => undefined)
    throw err
  })
  try {
    const st = await raceAbort(fh.stat({ bigint: true }), signal)
    if (!st.isFile() || st.ino !== listed.ino || st.dev !== listed.dev) return Buffer.alloc(0)
    const buf = Buffer.alloc(SNIFF_BYTES)
    const { bytesRead } = await raceAbort(fh.read(buf, 0, SNIFF_BYTES, 0), signal)
    return buf.subarray(0, bytesRead)
  } finally {
    void fh.close().catch(() => undefined)
  }
}
