import type { Dir, Dirent } from 'node:fs'
import { lstat, opendir, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import picomatch from 'picomatch'
import { errorMessage } from '../common/errors.js'
import type { DockingProfile } from '../camera/profile.js'
import { kindOf, segmentProblem, type Kind } from '../camera/names.js'

export interface CameraFile {
  /** Path relative to the camera root, '/'-separated. */
  sourcePath: string
  absPath: string
  kind: Kind
  size: number
  mtimeMs: number
  ino: number
}

export interface Skipped {
  sourcePath: string
  reason: string
}

/**
 * Lists the media files of a mounted camera. Never follows a symbolic link
 * (a link is reported and skipped, so nothing outside the root is read),
 * skips hidden and system entries, refuses names with control characters
 * or that are not valid UTF-8, and keeps only regular files that match the
 * profile's media globs. Sorted by path, so sessions are reproducible.
 */
export async function listCamera(
  root: string,
  profile: Pick<DockingProfile, 'media' | 'sidecars'>,
): Promise<{ root: string; files: CameraFile[]; skipped: Skipped[] }> {
  const realRoot = await realpath(root)
  const st = await lstat(realRoot)
  if (!st.isDirectory()) throw new Error(`${root} is not a folder`)
  const isMedia = picomatch(profile.media, { nocase: true, dot: false })
  const files: CameraFile[] = []
  const skipped: Skipped[] = []

  async function walk(dirAbs: string, dirRel: string): Promise<void> {
    let dir: Dir
    try {
      dir = await opendir(dirAbs, { encoding: 'buffer' as BufferEncoding })
    } catch (err) {
      skipped.push({ sourcePath: dirRel || '.', reason: `cannot read folder: ${errorMessage(err)}` })
      return
    }
    const entries: Dirent[] = []
    for await (const e of dir) entries.push(e)
    // opendir with encoding 'buffer' yields Buffer names; typings say string.
    const named = entries.map((e) => ({ e, raw: e.name as unknown as Buffer }))
    named.sort((a, b) => Buffer.compare(a.raw, b.raw))
    for (const { e, raw } of named) {
      const name = raw.toString('utf8')
      const rel = dirRel ? `${dirRel}/${name}` : name
      if (!Buffer.from(name, 'utf8').equals(raw)) {
        skipped.push({ sourcePath: rel, reason: 'name is not valid UTF-8' })
        continue
      }
      const problem = segmentProblem(name)
      if (problem) {
        skipped.push({ sourcePath: rel, reason: problem })
        continue
      }
      const abs = join(dirAbs, name)
      if (e.isSymbolicLink()) {
        skipped.push({ sourcePath: rel, reason: 'symbolic link not followed' })
        continue
      }
      if (e.isDirectory()) {
        await walk(abs, rel)
        continue
      }
      if (!e.isFile()) {
        skipped.push({ sourcePath: rel, reason: 'not a regular file' })
        continue
      }
      const kind = kindOf(name, profile)
      if (!kind || !isMedia(rel)) {
        skipped.push({ sourcePath: rel, reason: kind ? "outside the profile's media folders" : 'not a media file' })
        continue
      }
      try {
        const s = await lstat(abs)
        if (!s.isFile()) {
          skipped.push({ sourcePath: rel, reason: 'not a regular file' })
          continue
        }
        files.push({ sourcePath: rel, absPath: abs, kind, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino })
      } catch (err) {
        skipped.push({ sourcePath: rel, reason: `cannot stat: ${errorMessage(err)}` })
      }
    }
  }
  await walk(realRoot, '')
  return { root: realRoot, files, skipped }
}
