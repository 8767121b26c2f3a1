import { openStation, type Station, type StationOptions } from '../station/station.js'

/**
 * Opens the station for a command: as the data dir's owner when run as root
 * (src/station/data-dir.ts); a new vault only where `create` says a command
 * may make one (start, ingest, reindex, restore); the daemon lock for
 * `start`. `checkIntegrity`: start, verify and doctor check the catalog's
 * pages; `rebuildCatalog`: reindex opens an empty catalog to rebuild it.
 * CLI commands log at warn unless --verbose or BODYVAULT_LOG_LEVEL say otherwise.
 * Apart from common.ts so that a command that opens none (status, tls,
 * verify-package, every --help) does not load the station.
 */
export function station(
  values: { config?: string | undefined; verbose?: boolean | undefined },
  o: { quiet?: boolean; create?: boolean; daemon?: boolean } & Pick<StationOptions, 'checkIntegrity' | 'rebuildCatalog'> = {},
): Station {
  const level = values.verbose ? 'debug' : (process.env.BODYVAULT_LOG_LEVEL ?? ((o.quiet ?? true) ? 'warn' : undefined))
  return openStation({
    configFile: values.config,
    logLevel: level,
    switchUser: true,
    create: o.create ?? false,
    daemon: o.daemon ?? false,
    ...(o.checkIntegrity ? { checkIntegrity: true } : {}),
    ...(o.rebuildCatalog ? { rebuildCatalog: true } : {}),
  })
}
