/**
 * Before any catalog migration, a snapshot of the catalog as it was:
 * <dataDir>/snapshots/catalog-v<from>-to-v<to>-<time>.db (VACUUM INTO: one
 * consistent, compact copy). Rolling an upgrade back is: stop the daemon,
 * reinstall the older release, put the snapshot in place of catalog.db
 * (docs/install.md, "Upgrade and migrations"). Snapshots are kept until the
 * admin removes them; `bodyvault backup` leaves them out.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { catalogVersionOf, snapshotCatalog } from '../catalog/backup.js'
import type { Logger } from '../common/log.js'

export const SNAPSHOT_DIR = 'snapshots'

/** Snapshots the catalog when this bodyvault is about to migrate it; returns the snapshot's path, or null when nothing is pending. */
export function snapshotBeforeMigration(dataDir: string, catalogPath: string, logger: Logger): string | null {
  if (!existsSync(catalogPath)) return null
  const v = catalogVersionOf(catalogPath)
  if (!v || v.version >= v.latest) return null // a new catalog, or nothing to migrate (a newer catalog is refused when opened)
  const dir = join(dataDir, SNAPSHOT_DIR)
  mkdirSync(dir, { recursive: true, mode: 0o750 })
  const dest = join(dir, `catalog-v${v.version}-to-v${v.latest}-${new Date().toISOString().replace(/[:.]/g, '-')}.db`)
  snapshotCatalog(catalogPath, dest)
  // A catalog with no event yet (another process making a new vault this moment) holds nothing to warn about.
  logger[v.hasEvents ? 'warn' : 'info'](
    { event: 'catalog.snapshot', from: v.version, to: v.latest, snapshot: dest },
    `catalog schema ${v.version} -> ${v.latest}: snapshot taken before the migration`,
  )
  return dest
}
