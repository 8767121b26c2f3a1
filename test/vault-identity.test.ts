// The vault knows itself (issue 12): the marker written with a new vault,
// vaults from before the marker marked once, the decision rule as a table,
// concurrent first opens, a lost or damaged marker.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { openCatalog } from '../src/catalog/db.js'
import { silentLogger } from '../src/common/log.js'
import { writeCheckpoint } from '../src/ledger/checkpoint.js'
import { readKeyChain } from '../src/ledger/key-chain.js'
import { replaceStationKey } from '../src/ledger/key-rotation.js'
import { loadOrCreateStationKey, stationKeyPath } from '../src/ledger/keys.js'
import { countEvents, eventAt } from '../src/ledger/ledger.js'
import { openStation } from '../src/station/station.js'
import { decideVault, type VaultFacts } from '../src/station/vault-identity.js'
import { MARKER_FORMAT, markerPath, readMarker, type VaultMarker, writeMarker } from '../src/vault/marker.js'
import { verifyVault } from '../src/verify/vault.js'
import { appendForeignEvent } from './ledger-support.js'
import { cli, spawnCli, station, tempDir, testConfig } from './helpers.js'

const G = 'a'.repeat(64)
const marker: VaultMarker = {
  format: MARKER_FORMAT,
  stationId: 's',
  keyFingerprint: 'b'.repeat(64),
  genesisHash: G,
  createdAt: '2026-01-01T00:00:00.000Z',
  identityEvent: 1,
}

t.test('decideVault: the rule as a table', async (t) => {
  const base: VaultFacts = { marker: undefined, events: 0, genesisHash: undefined, identified: false, objects: () => false, rebuild: false }
  const rows: [string, Partial<VaultFacts>, string][] = [
    ['a new data dir', {}, 'create'],
    ['objects but no catalog and no marker', { objects: () => true }, 'refuse CATALOG_MISSING'],
    ['objects, no catalog, reindex --from-s3', { objects: () => true, rebuild: true }, 'rebuild'],
    ['the marker, no catalog', { marker }, 'refuse CATALOG_MISSING'],
    ['the marker, no catalog, no objects (nothing ingested yet)', { marker, objects: () => false }, 'refuse CATALOG_MISSING'],
    ['the marker, an empty catalog, reindex --from-s3', { marker, rebuild: true }, 'rebuild'],
    ['the marker and its catalog', { marker, events: 9, genesisHash: G, identified: true }, 'open'],
    ['the marker and its catalog from a backup made before the mark', { marker, events: 5, genesisHash: G, identified: false }, 'open'],
    ["the marker and another station's catalog", { marker, events: 9, genesisHash: 'c'.repeat(64), identified: true }, 'refuse CATALOG_SUBSTITUTED'],
    ['the marker and a catalog without its first event', { marker, events: 9, genesisHash: undefined }, 'refuse CATALOG_SUBSTITUTED'],
    [
      "the marker, another station's catalog, reindex (refused too)",
      { marker, events: 9, genesisHash: 'c'.repeat(64), rebuild: true },
      'refuse CATALOG_SUBSTITUTED',
    ],
    ['no marker, a catalog made by this version (marker lost)', { events: 4, genesisHash: G, identified: true }, 'write-marker'],
    ['no marker, a catalog from before the marker', { events: 4, genesisHash: G }, 'mark'],
  ]
  for (const [what, facts, want] of rows) {
    const d = decideVault({ ...base, ...facts })
    t.equal(d.action === 'refuse' ? `refuse ${d.code}` : d.action, want, what)
  }
  let asked = 0
  decideVault({ ...base, marker, events: 3, genesisHash: G, objects: () => ++asked > 0 })
  t.equal(asked, 0, 'the objects are only looked at when the catalog is empty')
})

t.test('a new vault: its key, vault-created at event 1, the marker (0444, fsynced, from the ledger)', async (t) => {
  const s = station(t)
  const m = readMarker(s.dataDir)!
  const first = eventAt(s.db, 1)!
  t.equal(first.type, 'vault-created')
  const key = s.st.key()
  t.match(first.payload, {
    stationId: 'test-station',
    publicKey: key.publicKey.toString('hex'),
    keyFingerprint: key.fingerprint,
    keyId: key.keyId.toString('hex'),
  })
  t.same(m, {
    format: MARKER_FORMAT,
    stationId: 'test-station',
    keyFingerprint: key.fingerprint,
    genesisHash: first.hash,
    createdAt: first.at,
    identityEvent: 1,
  })
  t.equal(statSync(markerPath(s.dataDir)).mode & 0o777, 0o444, 'read-only')
  s.reopen()
  s.reopen()
  t.equal(countEvents(s.db), 1, 'opened again: nothing more is made')
  t.same(readMarker(s.dataDir), m)
  t.same(readKeyChain(s.db).keys.length, 1)
  t.ok((await verifyVault(s.db, s.vault)).ok)
})

t.test('four processes opening one new data dir at once make one vault', async (t) => {
  const data = join(tempDir(t), 'data')
  // `ingest` may make a vault (key show may not: DATA_DIR_MISSING); an empty folder ingests nothing (NO_MEDIA, exit 1).
  const empty = tempDir(t)
  const outs = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<{ code: number | null; err: string }>((resolve) => {
          const p = spawnCli(['ingest', empty], { BODYVAULT_DATA_DIR: data })
          let err = ''
          p.stderr!.on('data', (d: Buffer) => (err += d.toString()))
          p.on('close', (code) => resolve({ code, err }))
        }),
    ),
  )
  for (const o of outs) t.match(o, { code: 1, err: /^bodyvault: NO_MEDIA: / }, 'the vault made or found, then nothing to ingest')
  const show = cli(['key', 'show', '--json'], { BODYVAULT_DATA_DIR: data })
  t.equal(show.code, 0, show.stderr)
  const db = openCatalog(join(data, 'catalog.db'))
  t.teardown(() => db.close())
  t.equal(countEvents(db), 1, 'one vault-created event')
  t.equal(readMarker(data)?.genesisHash, eventAt(db, 1)?.hash)
  t.equal(readKeyChain(db).current?.fingerprint, (JSON.parse(show.stdout) as { fingerprint: string }).fingerprint, 'one key, the one the ledger names')
})

/** A data dir as an older bodyvault left it: events and a checkpoint, an object, a key; no marker, no vault-created. */
function legacyVault(t: Parameters<typeof tempDir>[0]): string {
  const dir = join(tempDir(t), 'data')
  mkdirSync(join(dir, 'objects', 'ab'), { recursive: true })
  writeFileSync(join(dir, 'objects', 'ab', 'ab'.repeat(32)), 'evidence')
  const db = openCatalog(join(dir, 'catalog.db'))
  for (let i = 0; i < 5; i++) appendForeignEvent(db, { type: 'test', actor: 'station:test-station', subject: `thing:${i}`, payload: { i } })
  writeCheckpoint(db, loadOrCreateStationKey(dir, 'test-station'))
  db.close()
  return dir
}

function open(dir: string) {
  return openStation({ config: testConfig(dir), logger: silentLogger() })
}

t.test('a vault from before the marker is marked once, at its first open, with the key that signed its checkpoints', async (t) => {
  const dir = legacyVault(t)
  const genesis = (() => {
    const db = openCatalog(join(dir, 'catalog.db'))
    const h = eventAt(db, 1)!.hash
    db.close()
    return h
  })()
  const st = open(dir)
  t.teardown(() => st.close())
  // 5 events and the checkpoint's `checkpoint` event, then the mark.
  const marked = eventAt(st.db, 7)!
  const key = st.key()
  t.match(marked, { type: 'vault-marked', payload: { stationId: 'test-station', genesisHash: genesis, events: 6, keyFingerprint: key.fingerprint } })
  t.match(readMarker(dir), { genesisHash: genesis, keyFingerprint: key.fingerprint, identityEvent: 7 })
  st.close()
  const again = open(dir)
  t.equal(countEvents(again.db), 7, 'marked once')
  const v = await verifyVault(again.db, again.vault)
  t.same(v.problems, [], 'its old checkpoint verifies with the key the mark names')
  again.close()
})

t.test('a vault from before the marker whose key is gone: marked without a key, nothing signed, key replace breaks the chain on the record', async (t) => {
  const dir = legacyVault(t)
  unlinkSync(stationKeyPath(dir))
  const st = open(dir)
  t.teardown(() => st.close())
  t.match(eventAt(st.db, 7), { type: 'vault-marked', payload: { keyFingerprint: null, publicKey: null } })
  t.throws(() => st.key(), { code: 'KEY_MISMATCH', message: /names no usable station key since event 7/ })
  t.match(st.checkpoint(), { error: /names no usable station key/ }, 'the daemon and ingest sign nothing')
  t.notOk(existsSync(stationKeyPath(dir)), 'and no key was made')
  const r = replaceStationKey(st.db, { dataDir: dir, stationId: 'test-station', actor: 'user:admin', reason: 'key lost before the upgrade' })
  t.match(r, { previousFingerprint: null, checkpoint: { treeSize: 8 } })
  const v = await verifyVault(st.db, st.vault)
  t.same(v.problems, [], 'the old checkpoint cannot be checked (its key was never recorded), which is the break, not a new problem')
  t.match(v.keys.breaks, [{ seq: 8, actor: 'user:admin', reason: 'key lost before the upgrade', previousFingerprint: null }])
  t.match(v.notes.join('\n'), /chain of station keys is BROKEN at event 8/)
})

t.test('the marker: lost is written again from the catalog, byte for byte; damaged is VAULT_MARKER; never overwritten', async (t) => {
  const s = station(t)
  const text = readFileSync(markerPath(s.dataDir), 'utf8')
  s.st.close()
  rmSync(markerPath(s.dataDir))
  s.reopen()
  t.equal(readFileSync(markerPath(s.dataDir), 'utf8'), text, 'the same bytes again')
  t.equal(countEvents(s.db), 1)
  s.st.close()
  chmodSync(markerPath(s.dataDir), 0o644)
  writeFileSync(markerPath(s.dataDir), '{"format":"bodyvault-vault/1","stationId":"x"')
  t.throws(() => s.reopen(), { code: 'VAULT_MARKER', message: /is not JSON .* move it aside/ })
  writeFileSync(markerPath(s.dataDir), JSON.stringify({ ...JSON.parse(text), genesisHash: 'not hex' }))
  t.throws(() => s.reopen(), { code: 'VAULT_MARKER', message: /is not a bodyvault-vault\/1 marker/ })
  writeFileSync(markerPath(s.dataDir), text)
  const other = { ...(JSON.parse(text) as VaultMarker), genesisHash: 'c'.repeat(64) }
  t.throws(() => writeMarker(s.dataDir, other), { code: 'VAULT_MARKER', message: /names another vault .* never overwritten/ })
  t.equal(readFileSync(markerPath(s.dataDir), 'utf8'), text, 'the marker there stays')
  t.equal(writeMarker(s.dataDir, JSON.parse(text) as VaultMarker), 'present', 'the same marker again is fine')
})

t.test('no marker, no catalog, objects present: CATALOG_MISSING, and no catalog file is made', async (t) => {
  const dir = legacyVault(t)
  rmSync(join(dir, 'catalog.db'))
  rmSync(join(dir, 'catalog.db-wal'), { force: true })
  rmSync(join(dir, 'catalog.db-shm'), { force: true })
  t.throws(() => open(dir), { code: 'CATALOG_MISSING', message: /holds objects \(evidence\) and there is no vault marker.*reindex --from-s3/ })
  t.notOk(existsSync(join(dir, 'catalog.db')), 'nothing made over the evidence')
})
