/**
 * The vault's own state, for `bodyvault verify` (invariant 6: catalog,
 * checkpoints and key cannot be lost, replaced or rolled back in silence):
 * the marker against the ledger (its genesis, the key that started the
 * chain), the chain of keys itself (each rotation signed by the old key and
 * the new one), and the key file against the chain's current key. A break
 * of the chain (a key replaced after loss) is not a problem (an
 * administrator put it on the record), but every report shows it.
 */
import type { Db } from '../catalog/db.js'
import { BodyvaultError, errorMessage } from '../common/errors.js'
import type { Problem } from '../common/problems.js'
import { checkKeyFile, readKeyChain, type KeyChain } from '../ledger/key-chain.js'
import { eventAt, eventsAfter } from '../ledger/ledger.js'
import { markerFromEvents, markerText, readMarker } from '../vault/marker.js'

export interface IdentityReport {
  problems: Problem[]
  chain: KeyChain
}

export function checkVaultIdentity(db: Db, dataDir: string, stationId?: string): IdentityReport {
  const problems: Problem[] = []
  const chain = readKeyChain(db)
  for (const p of chain.problems) problems.push({ kind: 'key', subject: `event:${p.seq}`, detail: p.detail })

  let marker: ReturnType<typeof readMarker>
  try {
    marker = readMarker(dataDir)
  } catch (err) {
    problems.push({ kind: 'vault', subject: 'vault.json', detail: errorMessage(err) })
  }
  const first = eventsAfter(db, 0, 1)[0]
  const identity = chain.identity ? eventAt(db, chain.identity.seq) : undefined
  if (identity && first) {
    const want = markerFromEvents(identity, first)
    if (want.genesisHash !== first.hash)
      problems.push({
        kind: 'vault',
        subject: `event:${identity.seq}`,
        detail: `vault-marked names genesis ${want.genesisHash.slice(0, 16)}…, but the ledger's first event has hash ${first.hash.slice(0, 16)}…`,
      })
    if (!marker)
      problems.push({
        kind: 'vault',
        subject: 'vault.json',
        detail: `the vault marker is missing (the ledger made or marked the vault at event ${identity.seq})`,
      })
    else if (markerText(marker) !== markerText(want))
      problems.push({
        kind: 'vault',
        subject: 'vault.json',
        detail: `the vault marker (genesis ${marker.genesisHash.slice(0, 16)}…, key ${marker.keyFingerprint?.slice(0, 16) ?? 'none'}, event ${marker.identityEvent}) differs from what the ledger says (genesis ${want.genesisHash.slice(0, 16)}…, key ${want.keyFingerprint?.slice(0, 16) ?? 'none'}, event ${want.identityEvent})`,
      })
  } else if (marker && first?.hash !== marker.genesisHash) {
    problems.push({
      kind: 'vault',
      subject: 'vault.json',
      detail: `the vault marker names genesis ${marker.genesisHash.slice(0, 16)}…, another first event than this ledger's`,
    })
  }

  try {
    const key = checkKeyFile(db, dataDir, stationId ?? chain.identity?.stationId ?? marker?.stationId ?? 'unknown', { chain })
    if (key.problem)
      problems.push({ kind: 'key', subject: 'station-key', detail: `${key.problem}: nothing can be signed until it is restored (or replaced on the record)` })
  } catch (err) {
    if (!(err instanceof BodyvaultError)) throw err
    problems.push({ kind: 'key', subject: 'station-key', detail: err.message })
  }
  return { problems, chain }
}
