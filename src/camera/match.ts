import type { DockingProfile } from './profile.js'

/** What is known about a docked volume when its profile is picked. */
export interface VolumeFacts {
  /** USB vendor/product id (4 hex digits each) when the volume is tied to a USB device. */
  usb?: { vendorId: string; productId: string } | undefined
  /** Names at the volume root (files and folders). */
  rootEntries: string[]
}

export type PickedBy = 'usb' | 'markers' | 'default'

export interface Picked {
  profile: DockingProfile
  by: PickedBy
}

const norm = (hex: string): string => hex.toLowerCase().padStart(4, '0')

/** The profile claiming a USB vendor/product id, if any (ids are unique across profiles: loadProfiles checks). */
export function profileForUsb(profiles: Iterable<DockingProfile>, usb: { vendorId: string; productId: string }): DockingProfile | undefined {
  const v = norm(usb.vendorId)
  const p = norm(usb.productId)
  for (const prof of profiles) {
    if ((prof.usb ?? []).some((u) => norm(u.vendorId) === v && norm(u.productId) === p)) return prof
  }
  return undefined
}

/** How many of a profile's volume markers are at the root (case-insensitive); 0 when it has none or one is missing. */
export function markerScore(profile: Pick<DockingProfile, 'volumeMarkers'>, rootEntries: string[]): number {
  const markers = profile.volumeMarkers ?? []
  if (markers.length === 0) return 0
  const have = new Set(rootEntries.map((e) => e.toLowerCase()))
  return markers.every((m) => have.has(m.toLowerCase())) ? markers.length : 0
}

/** True when any profile's markers are all present: the folder looks like a camera. */
export function looksLikeCamera(profiles: Iterable<DockingProfile>, rootEntries: string[]): boolean {
  for (const p of profiles) if (markerScore(p, rootEntries) > 0) return true
  return false
}

/**
 * Picks the docking profile of a volume: by USB vendor/product id when the
 * volume is tied to a known device, else by volume markers (the profile
 * with the most markers present; a tie goes to the default profile, then
 * to the lowest id), else the default profile.
 */
export function pickProfile(profiles: Map<string, DockingProfile>, facts: VolumeFacts, defaultId: string): Picked {
  if (facts.usb) {
    const byUsb = profileForUsb(profiles.values(), facts.usb)
    if (byUsb) return { profile: byUsb, by: 'usb' }
  }
  let best: { p: DockingProfile; score: number } | undefined
  for (const p of [...profiles.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const score = markerScore(p, facts.rootEntries)
    if (score === 0) continue
    if (!best || score > best.score || (score === best.score && p.id === defaultId)) best = { p, score }
  }
  if (best) return { profile: best.p, by: 'markers' }
  const def = profiles.get(defaultId)
  if (!def) throw new Error(`default docking profile "${defaultId}" is not loaded`)
  return { profile: def, by: 'default' }
}
