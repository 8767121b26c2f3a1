import { createHash } from 'node:crypto'
import type { Dirent } from 'node:fs'
import { lstat, opendir } from 'node:fs/promises'

/** Entries a signature looks at, at most: a folder larger than this is judged by its first entries. */
const MAX_ENTRIES = 200_000

/**
 * A fingerprint of a folder tree: every entry's raw name, type, size and
 * mtime, hashed. Two equal signatures some seconds apart mean nothing was
 * created, removed, grown or rewritten in between (as far as stat shows).
 * Links are not followed; unreadable parts count as what they are.
 */
export async function treeSignature(root: string): Promise<string> {
  const h = createHash('sha256')
  let n = 0
  const walk = async (dir: Buffer): Promise<void> => {
    let entries: Dirent<Buffer>[]
    try {
      const d = await opendir(dir, { encoding: 'buffer' as BufferEncoding })
      entries = []
      // opendir with encoding 'buffer' yields Buffer names; its typings say string.
      for await (const e of d) entries.push(e as unknown as Dirent<Buffer>)
    } catch (err) {
      h.update(`!${(err as NodeJS.ErrnoException).code ?? 'error'}\n`)
      return
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name))
    for (const e of entries) {
      if (++n > MAX_ENTRIES) return
      const p = Buffer.concat([dir, Buffer.from('/'), e.name])
      const st = await lstat(p, { bigint: true }).catch(() => undefined)
      h.update(e.name)
      h.update(st ? ` ${st.mode} ${st.size} ${st.mtimeNs} ${st.ino}\n` : ' gone\n')
      if (st?.isDirectory()) await walk(p)
    }
  }
  await walk(Buffer.from(root))
  return h.digest('hex')
}
