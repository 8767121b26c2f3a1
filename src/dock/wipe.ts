import { lstat, unlink } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { errorMessage } from '../common/errors.js'
import type { Vault } from '../vault/store.js'
import { isInside } from './mounts.js'

export interface WipeFile {
  sourcePath: string
  sha256: string
  size: number
}

export interface WipeResult {
  removed: WipeFile[]
  failed: { sourcePath: string; error: string }[]
}

/**
 * Deletes files from a camera after a complete ingest. Each file goes only
 * when its object is in the vault with the same size, and the camera file
 * is still the regular file of that size that was ingested (a link or a
 * changed file stays). Folders are left in place.
 */
export async function wipeCamera(root: string, files: WipeFile[], vault: Vault): Promise<WipeResult> {
  const out: WipeResult = { removed: [], failed: [] }
  const base = resolve(root)
  for (const f of files) {
    const abs = resolve(join(base, f.sourcePath))
    try {
      if (!isInside(abs, base)) throw new Error('path leaves the camera root')
      const obj = await lstat(vault.objectPath(f.sha256))
      if (!obj.isFile() || obj.size !== f.size) throw new Error('its vault object is missing or has another size: not wiped')
      const st = await lstat(abs)
      if (!st.isFile() || st.size !== f.size) throw new Error('the camera file changed since it was ingested: not wiped')
      await unlink(abs)
      out.removed.push(f)
    } catch (err) {
      out.failed.push({ sourcePath: f.sourcePath, error: errorMessage(err) })
    }
  }
  return out
}
