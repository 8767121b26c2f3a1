/** The `docking` section of the configuration. */
export interface DockingSettings {
  /** Absolute after loading (the package's docking/ when null in the file). */
  profilesDir: string
  defaultProfile: string
  /** Absolute folders under which camera volumes appear (mounts, or folders with a profile's markers). */
  mountRoots: string[]
  /** How often the mount table and the roots are re-read. */
  pollMs: number
  /** A folder appearing under a mount root is docked once its tree stood still this long (a copy or move into the root may take seconds). */
  settleMs: number
  /** Cameras ingested at the same time. */
  concurrency: number
  /** Files read from cameras at the same time (fair share of the disk). */
  diskStreams: number
  /** Watch USB hotplug (unlock hooks, profile by USB id). */
  usb: boolean
  /** File times this far ahead of the station clock flag the camera clock. */
  clockDriftToleranceSec: number
  /** The officer's part of the dock screen: classify at the dock with police number and PIN, pool checkout and return (off by default). */
  officerInput?: boolean
  /** The officer's panel on the dock screen closes (and forgets the PIN) after this long without a touch. */
  officerIdleSeconds?: number
}
