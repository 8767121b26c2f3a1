import type { Migration } from './migration.js'

/**
 * Docking: who a camera and its officer are, as a vendor unlock tool
 * reports it (officer name, unit code and unit name; the device's profile
 * and USB id). Each update is backed by a `camera-identified` ledger event,
 * so these columns can be rebuilt from the ledger.
 */
export const docking: Migration = {
  version: 4,
  name: 'docking: officer name and unit, device profile and USB id',
  sql: `
ALTER TABLE officers ADD COLUMN name TEXT;
ALTER TABLE officers ADD COLUMN unit_code TEXT;
ALTER TABLE officers ADD COLUMN unit_name TEXT;
ALTER TABLE devices ADD COLUMN profile_id TEXT;
ALTER TABLE devices ADD COLUMN usb_id TEXT;
ALTER TABLE devices ADD COLUMN usb_serial TEXT;
`,
}
