import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cachedRoot: string | undefined

/** The folder holding bodyvault's package.json, whether run from src/ (tests) or dist/ (built). */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj)) {
      const name = (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name
      if (name === 'bodyvault') {
        cachedRoot = dir
        return dir
      }
    }
    const up = dirname(dir)
    if (up === dir) throw new Error('bodyvault package root not found above ' + fileURLToPath(import.meta.url))
    dir = up
  }
}
