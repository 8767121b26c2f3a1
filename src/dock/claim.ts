import { readdir, realpath } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pickProfile } from '../camera/match.js'
import type { DockingProfile } from '../camera/profile.js'
import type { Cam } from './cams.js'
import type { Volume } from './mounts.js'

/**
 * The volume an unlocked camera exposed, among `candidates`: where its
 * unlock tool said it mounted it, else the one on its USB port, else the
 * only one its profile's markers pick (none when the tool named a mount
 * point that is not among them).
 */
export async function volumeForUnlocked(
  cam: Pick<Cam, 'identity' | 'usb' | 'profile'>,
  candidates: Volume[],
  profiles: Map<string, DockingProfile>,
  defaultProfile: string,
): Promise<Volume | undefined> {
  const said = cam.identity.mountPoint ? await realpath(cam.identity.mountPoint).catch(() => resolve(cam.identity.mountPoint!)) : null
  if (said) {
    const v = candidates.find((c) => c.path === said)
    if (v) return v
  }
  const port = cam.usb?.port
  const byPort = candidates.find((c) => port && c.usb?.port === port)
  if (byPort) return byPort
  if (said) return undefined
  const matching: Volume[] = []
  for (const v of candidates) {
    const picked = pickProfile(profiles, { usb: v.usb ?? undefined, rootEntries: await readdir(v.path).catch(() => []) }, defaultProfile)
    if (picked.profile.id === cam.profile?.id) matching.push(v)
  }
  return matching.length === 1 ? matching[0] : undefined
}
