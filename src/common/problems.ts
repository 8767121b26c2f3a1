/**
 * What `bodyvault verify` reports: each part checks itself against the
 * ledger (src/media/check.ts, src/retention/check.ts, src/offload/check.ts,
 * src/ledger/checkpoint.ts) and returns problems of this one shape, which
 * src/verify/ gathers.
 */
export type ProblemKind =
  | 'ledger'
  | 'catalog-mismatch'
  | 'catalog-missing'
  | 'catalog-extra'
  | 'object-missing'
  | 'object-corrupt'
  /** a `purged` tombstone the chain itself does not justify (hold in force, open case, deadline not reached) */
  | 'retention'
  /** a signed ledger checkpoint that does not verify, or that today's ledger no longer matches (src/ledger/checkpoint.ts) */
  | 'checkpoint'
  /** the station key file against the ledger's chain of keys, or the chain itself (src/ledger/key-chain.ts) */
  | 'key'
  /** the vault marker against the ledger (src/vault/marker.ts) */
  | 'vault'

export interface Problem {
  kind: ProblemKind
  /** e.g. "recording:42", "event:17", "object:ab12…" */
  subject: string
  detail: string
}
