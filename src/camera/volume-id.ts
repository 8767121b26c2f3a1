/**
 * Who a camera volume is, across dockings and whatever profile reads it:
 * its USB serial, else the UUID of its file system (only when the camera
 * root is the root of that file system: a folder inside a disk is not the
 * disk), else the device id the unlock tool or the file names give. Each
 * identity is a key; a volume may be known by several (a station seeing
 * the same camera over USB and as a copied folder ties them together).
 * Pure.
 */
import type { DockingProfile } from './profile.js'

export interface VolumeIdentityFacts {
  usb?: { vendorId: string; productId: string; serial: string | null } | null | undefined
  /** The file system, when the camera root is its root. */
  fs?: { type: string; uuid: string } | null | undefined
  /** From the unlock tool or `ingest --device`. */
  deviceId?: string | null | undefined
  /** The device id most of the file names carry (deviceFromNames). */
  namedDevice?: string | null | undefined
  /** The camera root (realpath): the key of last resort, when nothing else names the volume. */
  folder: string
}

/** The keys of a volume, strongest first; never empty. */
export function volumeKeys(f: VolumeIdentityFacts): string[] {
  const keys: string[] = []
  const serial = f.usb?.serial?.trim()
  if (f.usb && serial) keys.push(`usb:${f.usb.vendorId.toLowerCase()}:${f.usb.productId.toLowerCase()}:${serial}`)
  if (f.fs?.uuid) keys.push(`fs:${f.fs.type}:${f.fs.uuid.toLowerCase()}`)
  if (f.deviceId) keys.push(`device:${f.deviceId}`)
  if (f.namedDevice && f.namedDevice !== f.deviceId) keys.push(`device:${f.namedDevice}`)
  if (keys.length === 0) keys.push(`folder:${f.folder}`)
  return keys
}

/**
 * The device and officer ids most file names carry, read with every
 * profile's pattern (not only the one docking chose: a GA/T 947 camera read
 * as generic-dcim still names its device in its files). Null where no name
 * gives one.
 */
export function idsFromNames(
  baseNames: Iterable<string>,
  profiles: Iterable<Pick<DockingProfile, 'filename'>>,
): { deviceId: string | null; officerId: string | null } {
  const patterns = [...profiles].flatMap((p) =>
    p.filename && /\?<(deviceId|officerId)>/.test(p.filename.pattern) ? [new RegExp(p.filename.pattern, 'u')] : [],
  )
  const devices = new Map<string, number>()
  const officers = new Map<string, number>()
  for (const name of baseNames) {
    for (const re of patterns) {
      const g = re.exec(name)?.groups
      if (!g?.deviceId && !g?.officerId) continue
      if (g.deviceId) devices.set(g.deviceId, (devices.get(g.deviceId) ?? 0) + 1)
      if (g.officerId) officers.set(g.officerId, (officers.get(g.officerId) ?? 0) + 1)
      break
    }
  }
  return { deviceId: most(devices), officerId: most(officers) }
}

/** The most frequent key (ties: the smallest), or null. */
function most(counts: Map<string, number>): string | null {
  let best: string | null = null
  let n = 0
  for (const [k, c] of counts) {
    if (c > n || (c === n && best !== null && k < best)) {
      best = k
      n = c
    }
  }
  return best
}
