/**
 * Payload parts that several ledger events share (./events.ts names the
 * events that carry them). The byte form of ledgers already written: a field
 * is never renamed or retyped.
 */
import type { OfficerSource } from '../catalog/assignments.js'

/** A station public key as the ledger names it: raw key (hex), SPKI SHA-256 fingerprint (hex), signed-note key id (hex). */
export type KeyFacts = { publicKey: string; keyFingerprint: string; keyId: string }

/** A point of a ledger's history: its tree size and the root hash (hex) of its first `treeSize` events. */
export type RestorePoint = { treeSize: number; rootHash: string }

/** What the registry adds to an `ingested` event (catalog recording_attribution). */
export type IngestAttribution = { officerSource: OfficerSource; deviceNumber: string | null; unitCode: string | null; fileCounter: number | null }

/** A change of a registry entry: the entry as it is now, what it was (null when added), and how the change came. */
export type RegistryChange<T> = { action: 'added' | 'updated' | 'retired'; entry: T; previous: T | null; via: string }

/** How a change came, when not the usual way: `dock`, an officer's own choice signed with their PIN at the dock screen. */
export type ViaField = { via?: 'dock' }

/** The account and the person (police number, or `account:<id>` for a service account) behind an act; absent in events written before accounts. */
export type PersonFields = { user?: string; person?: string }

/** The CJIS 5.4 audit fields of the people events: who (`user`, the account's user name), which component, the outcome. */
export type AuthFields = { user: string; component: 'api' | 'web' | 'cli' | 'dock'; outcome: 'success' | 'failure' }

/** What an `exported` event adds when the API serves the package (its export request, the token, the client, the person). */
export type ExportedVia = { exportId?: number; tokenId?: number; role?: string; client?: string } & PersonFields
export type ExportDecision = { exportId: number; reason: string | null; tokenId: number; role: string } & PersonFields & { allowedDownloads?: number }

/** How a proxy was made: `remux` (stream copy) or `transcode`, why not remuxed, and a remux that failed over to a transcode. */
export interface ProxyRecord {
  method: 'remux' | 'transcode'
  why: string[]
  /** A transcode's encoder (libx264, h264_vaapi, ...): the one that made it. */
  encoder?: string
  /** What failed before this proxy was made the next way (a refused remux; a hardware encoder that failed, then libx264). */
  fallback?: string
}
