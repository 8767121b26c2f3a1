/**
 * Which vault a data dir is, decided where the station opens (every command
 * and `start`): the marker (src/vault/marker.ts), the catalog's first event
 * and the objects present. A missing, emptied or substituted catalog is
 * refused with what to do (CATALOG_MISSING, CATALOG_SUBSTITUTED); a damaged
 * one is CATALOG_CORRUPT; a new catalog is never made over existing
 * evidence. A new vault is made here (its key, its `vault-created` event,
 * its marker); a vault from before the marker is marked here, once, with a
 * `vault-marked` event.
 */
import { statSync } from 'node:fs'
import { latestCheckpoint } from '../catalog/checkpoints.js'
import { catalogCorrupt, isCatalogDamage, openCatalog, quickCheck, type Db } from '../catalog/db.js'
import { BodyvaultError, errnoCode, errorMessage } from '../common/errors.js'
import type { Logger } from '../common/log.js'
import { subjects } from '../ledger/events.js'
import { keyFacts } from '../ledger/key-chain.js'
import { loadOrCreateStationKey, loadStationKey, type StationPublicKey } from '../ledger/keys.js'
import { appendEvent, eventsAfter, ledgerHead, storedEventsOfType } from '../ledger/ledger.js'
import { holdsObjects, markerFromEvents, markerPath, readMarker, writeMarker, type VaultMarker } from '../vault/marker.js'
import type { Vault } from '../vault/store.js'

/** What the decision looks at. */
export interface VaultFacts {
  marker: VaultMarker | undefined
  /** How many events the catalog holds (0: missing or empty). */
  events: number
  /** The hash of the catalog's first event (event 1); undefined when there is none. */
  genesisHash: string | undefined
  /** Whether the catalog holds a `vault-created` or `vault-marked` event. */
  identified: boolean
  /** Whether objects/ holds evidence (asked only when the catalog is empty). */
  objects: () => boolean
  /** Opened to rebuild the catalog (reindex --from-s3): an empty one is what it needs. */
  rebuild: boolean
}

export type VaultDecision =
  /** The catalog is the marker's (or, from a backup made before the mark, its first event is). */
  | { action: 'open' }
  /** Nothing here yet: make the key, the vault-created event and the marker. */
  | { action: 'create' }
  /** The catalog says which vault it is but the marker is not there (lost, or a concurrent first open): write it from the catalog. */
  | { action: 'write-marker' }
  /** A vault from before the marker: mark it (vault-marked event, marker). */
  | { action: 'mark' }
  /** An empty catalog opened to be rebuilt: nothing is made; the marker is checked when it is opened again. */
  | { action: 'rebuild' }
  | { action: 'refuse'; code: 'CATALOG_MISSING' | 'CATALOG_SUBSTITUTED'; detail: string }

const WAY_OUT =
  'restore catalog.db from a backup of this station, or rebuild it from the bucket with bodyvault reindex --from-s3; a new catalog is never made over existing evidence'

/** The rule, pure (test/vault-identity.test.ts holds it as a table). */
export function decideVault(f: VaultFacts): VaultDecision {
  if (f.marker) {
    if (f.events === 0)
      return f.rebuild
        ? { action: 'rebuild' }
        : {
            action: 'refuse',
            code: 'CATALOG_MISSING',
            detail: `the catalog is missing or empty, but the vault marker says this vault was made ${f.marker.createdAt} (genesis ${f.marker.genesisHash.slice(0, 16)}…)`,
          }
    if (f.genesisHash !== f.marker.genesisHash)
      return {
        action: 'refuse',
        code: 'CATALOG_SUBSTITUTED',
        detail: f.genesisHash
          ? `the catalog's first event has hash ${f.genesisHash.slice(0, 16)}…, but the vault marker names genesis ${f.marker.genesisHash.slice(0, 16)}…: it is another vault's catalog`
          : `the catalog has no first event, but the vault marker names genesis ${f.marker.genesisHash.slice(0, 16)}…`,
      }
    return { action: 'open' }
  }
  if (f.events === 0) {
    if (f.rebuild) return { action: 'rebuild' }
    if (f.objects())
      return {
        action: 'refuse',
        code: 'CATALOG_MISSING',
        detail: 'the catalog is missing or empty, but the vault holds objects (evidence) and there is no vault marker',
      }
    return { action: 'create' }
  }
  return f.identified ? { action: 'write-marker' } : { action: 'mark' }
}

export interface OpenVaultOptions {
  vault: Vault
  stationId: string
  actor: string
  logger: Logger
  /** reindex --from-s3: an empty catalog is opened as it is, nothing made. */
  rebuild?: boolean
  /** Also run SQLite's page check (PRAGMA quick_check): start, verify and doctor. */
  integrity?: boolean
}

function catalogHasBytes(path: string): boolean {
  try {
    return statSync(path).size > 0
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false
    throw err
  }
}

function refuse(d: Extract<VaultDecision, { action: 'refuse' }>, o: OpenVaultOptions): BodyvaultError {
  return new BodyvaultError(d.code, `${d.detail} (data dir ${o.vault.dataDir}): ${WAY_OUT}`)
}

/** Opens the catalog of the vault in the data dir, after deciding that it is this vault's (or making the vault). */
export function openVault(o: OpenVaultOptions): Db {
  const { vault } = o
  const marker = readMarker(vault.dataDir)
  if (!catalogHasBytes(vault.catalogPath)) {
    // Decided before SQLite makes a file: a refused catalog is not made at all.
    const d = decideVault({
      marker,
      events: 0,
      genesisHash: undefined,
      identified: false,
      objects: () => holdsObjects(vault.objectsDir),
      rebuild: o.rebuild ?? false,
    })
    if (d.action === 'refuse') throw refuse(d, o)
  }
  const db = openCatalog(vault.catalogPath)
  try {
    if (o.integrity) {
      const found = quickCheck(db)
      if (found.length) throw catalogCorrupt(vault.catalogPath, found.slice(0, 3).join('; '))
    }
    const head = ledgerHead(db)
    const facts: VaultFacts = {
      marker,
      events: head.seq,
      genesisHash: eventsAfter(db, 0, 1)[0]?.hash,
      identified: identityEvent(db) !== undefined,
      objects: () => holdsObjects(vault.objectsDir),
      rebuild: o.rebuild ?? false,
    }
    const d = decideVault(facts)
    switch (d.action) {
      case 'refuse':
        throw refuse(d, o)
      case 'create':
        createVault(db, o)
        break
      case 'mark':
        markVault(db, o)
        break
      case 'write-marker': {
        // A vault another process made a moment ago (its marker follows its first event): no cause for a warning.
        const made = identityEvent(db)
        const fresh = made?.type === 'vault-created' && Date.now() - Date.parse(made.at) < 60_000
        o.logger[fresh ? 'info' : 'warn'](
          { event: 'vault.marker_written', path: markerPath(vault.dataDir) },
          'the vault marker was missing: written again from the catalog',
        )
        writeMarkerFrom(db, o)
        break
      }
      case 'open':
        if (marker && marker.stationId !== o.stationId)
          o.logger.warn({ event: 'vault.station_id', marker: marker.stationId, config: o.stationId }, 'the configured station id differs from the vault marker')
        break
      case 'rebuild':
        break
    }
    return db
  } catch (err) {
    db.close()
    if (isCatalogDamage(err)) throw catalogCorrupt(vault.catalogPath, errorMessage(err), err)
    throw err
  }
}

function identityEvent(db: Db): { seq: number; type: string; at: string; payload: string } | undefined {
  for (const e of storedEventsOfType(db, ['vault-created', 'vault-marked'])) return e
  return undefined
}

/** The marker as the catalog's identity event gives it (the same bytes whoever writes it). */
export function markerFromCatalog(db: Db): VaultMarker | undefined {
  const id = identityEvent(db)
  const first = eventsAfter(db, 0, 1)[0]
  if (!id || !first) return undefined
  return markerFromEvents({ seq: id.seq, type: id.type, payload: JSON.parse(id.payload) as Record<string, unknown> }, first)
}

function writeMarkerFrom(db: Db, o: OpenVaultOptions): void {
  const m = markerFromCatalog(db)
  if (!m) return
  if (writeMarker(o.vault.dataDir, m) === 'written')
    o.logger.info({ event: 'vault.marker', path: markerPath(o.vault.dataDir), genesis: m.genesisHash, key: m.keyFingerprint }, 'vault marker written')
}

/** A new vault: the station key (or the one put there beforehand), event 1 `vault-created`, the marker. */
function createVault(db: Db, o: OpenVaultOptions): void {
  db.transaction(() => {
    if (ledgerHead(db).seq > 0) return // another process made it first
    const key = loadOrCreateStationKey(o.vault.dataDir, o.stationId, o.logger)
    appendEvent(db, { type: 'vault-created', actor: o.actor, subject: subjects.station(o.stationId), payload: { stationId: o.stationId, ...keyFacts(key) } })
  }).immediate()
  writeMarkerFrom(db, o)
}

/**
 * The key a vault from before the marker is marked with: the key file when
 * it signed the latest checkpoint (or there is none yet), a new key when no
 * key was ever made or named, else none (null: the key is lost or replaced;
 * signing stops until `key replace` records the break).
 */
function keyToMark(db: Db, o: OpenVaultOptions): StationPublicKey | null {
  const latest = latestCheckpoint(db)
  const file = loadStationKey(o.vault.dataDir, o.stationId)
  if (file) return !latest || latest.keyId === file.keyId.toString('hex') ? file : null
  return latest ? null : loadOrCreateStationKey(o.vault.dataDir, o.stationId, o.logger)
}

function markVault(db: Db, o: OpenVaultOptions): void {
  db.transaction(() => {
    if (identityEvent(db)) return // another process marked it first
    const key = keyToMark(db, o)
    const first = eventsAfter(db, 0, 1)[0]
    if (!key)
      o.logger.warn(
        { event: 'vault.marked_without_key' },
        'the station key file is missing or did not sign the latest checkpoint: the vault is marked without a key; signing stops until bodyvault key replace',
      )
    appendEvent(db, {
      type: 'vault-marked',
      actor: o.actor,
      subject: subjects.station(o.stationId),
      payload: {
        stationId: o.stationId,
        genesisHash: first?.hash ?? '',
        events: ledgerHead(db).seq,
        ...(key ? keyFacts(key) : { publicKey: null, keyFingerprint: null, keyId: null }),
      },
    })
  }).immediate()
  writeMarkerFrom(db, o)
}
