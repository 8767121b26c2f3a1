import { lstat, unlink } from 'node:fs/promises'
import { errorMessage } from '../common/errors.js'
import { pathTrick } from '../camera/rawname.js'
import type { Vault } from '../vault/store.js'

export interface WipeFile {
  sourcePath: string
  /** The path's bytes under the root (base64), as the camera wrote them. */
  raw: string
  sha256: string
  size: number
}

export interface WipeResult {
  removed: WipeFile[]
  failed: { sourcePath: string; error: string }[]
}

/**
 * Deletes files from a camera after a complete ingest, by the bytes of
 * their names. Each file goes only when its object is in the vault with the
 * same size, and the camera file is still the regular file of that size
 * that was ingested (a link or a changed file stays). Folders are left in
 * place.
 */
export async function wipeCamera(root: string, files: WipeFile[], vault: Vault): Promise<WipeResult> {
  const out: WipeResult = { removed: [], failed: [] }
  const base = Buffer.from(root)
  for (const f of files) {
    const rel = Buffer.from(f.raw, 'base64')
    const abs = Buffer.concat([base, Buffer.from('/'), rel])
    try {
      const segments = rel.toString('latin1').split('/')
      if (rel.length === 0 || segments.some((seg) => pathTrick(Buffer.from(seg, 'latin1')))) throw new Error('path leaves the camera root')
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
