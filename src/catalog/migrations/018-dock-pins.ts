import type { Migration } from './migration.js'

/**
 * The officer's PIN at the dock (issue 19): an officer signs a choice on
 * the dock screen with their police number and a PIN of their own account.
 * Stored as a scrypt hash like a password (src/api/pins.ts); null: no PIN
 * set, the dock refuses that account. The PIN itself is not evidence: its
 * setting is a ledger event (`pin-set`), the hash is not rebuildable.
 */
export const dockPins: Migration = {
  version: 18,
  name: 'officer PINs for the dock screen',
  sql: `
ALTER TABLE users ADD COLUMN pin_hash TEXT;
ALTER TABLE users ADD COLUMN pin_set_at TEXT;
`,
}
