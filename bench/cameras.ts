import { linkSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A camera under another device id: hard links to the files of one
 * generated camera (`source`, made with the default device A1B2C3D), renamed
 * with `device`. Same bytes, another camera, and nothing more written, so
 * setting up eight cameras costs no disk time (multidock and web benches).
 */
export function linkCamera(source: string, dest: string, device: string): void {
  const walk = (from: string, to: string): void => {
    mkdirSync(to, { recursive: true })
    for (const e of readdirSync(from, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(from, e.name), join(to, e.name))
      else linkSync(join(from, e.name), join(to, e.name.replaceAll('A1B2C3D', device)))
    }
  }
  walk(source, dest)
}
