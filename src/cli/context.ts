import { openCatalog, type Db } from '../catalog/db.js'
import { createLogger, type Logger } from '../common/log.js'
import { loadConfig, type Config } from '../config/load.js'
import { loadProfiles, type DockingProfile } from '../dock/profile.js'
import { Vault } from '../vault/store.js'

/** Everything a command needs, opened from the configuration. */
export interface Station {
  cfg: Config
  logger: Logger
  vault: Vault
  db: Db
  profiles: Map<string, DockingProfile>
  close(): void
}

export function openStation(opts: { configFile?: string | undefined; logLevel?: string | undefined }): Station {
  const cfg = loadConfig({ file: opts.configFile })
  const logger = createLogger({ level: opts.logLevel ?? cfg.log.level })
  const profiles = loadProfiles(cfg.docking.profilesDir)
  const vault = new Vault(cfg.dataDir)
  vault.ensureLayout()
  const db = openCatalog(vault.catalogPath)
  return {
    cfg,
    logger,
    vault,
    db,
    profiles,
    close: () => {
      if (db.open) db.close()
    },
  }
}
