import type { Db } from '../src/catalog/db.js'
import type { NewEvent } from '../src/ledger/events.js'
import { canonicalBytes, chainHash } from '../src/ledger/canonical.js'
import { appendEvent, ledgerHead, type LedgerEvent } from '../src/ledger/ledger.js'
import { readSnapshot } from '../src/verify/vault.js'
import type { TestStation } from './helpers.js'

/**
 * Appends an event outside the ledger's vocabulary (src/ledger/events.ts),
 * which appendEvent's type refuses: for tests of the chain itself (any
 * type and payload hash and link the same way) and for forged events that
 * verify must catch.
 */
export function appendForeignEvent(db: Db, ev: { type: string; actor: string; subject: string; payload: Record<string, unknown>; at?: Date }): LedgerEvent {
  return appendEvent(db, ev as unknown as NewEvent)
}

/**
 * Appends one `ingested` event per id, in this order, chained as appendEvent chains them, and (unless `rows` is false)
 * its catalog row, fast enough for a ledger of 100,000 recordings: `officer` names each one's officer (payload and row),
 * `extra` adds to or overrides the payload, `text` stores the payload spelled otherwise (the ledger hashes the canonical
 * form of the parsed payload, whatever the stored spelling). Returns the last seq.
 */
export function seedIngested(
  s: TestStation,
  ids: number[],
  opts: { rows?: boolean; officer?: (id: number) => string; extra?: Record<string, unknown>; text?: (canonical: string) => string } = {},
): number {
  const db = s.db
  const ev = db.prepare('INSERT INTO events (seq, type, at, actor, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  const row = db.prepare(`INSERT INTO recordings (id, sha256, size, kind, source_path, station_id, device_id, officer_id, recorded_at, recorded_offset,
    recorded_source, important, category, case_number, profile_id, session_id, ingested_at, event_seq) VALUES (?, ?, ?, 'video', ?, 'station-01', 'A1B2C3D', ?, ?,
    '+08:00', 'filename', 0, NULL, NULL, 'gat947', NULL, ?, ?)`)
  let { seq, hash: prev } = ledgerHead(db)
  db.transaction(() => {
    for (const id of ids) {
      seq++
      const at = new Date(Date.UTC(2026, 10, 20) + seq * 1000).toISOString()
      const sha = id.toString(16).padStart(64, '0')
      const path = `DCIM/100MEDIA/A1B2C3D_012345_20261120080000_${id}.MP4`
      const officer = opts.officer?.(id) ?? '012345'
      const payload = {
        caseNumber: null,
        category: null,
        deviceId: 'A1B2C3D',
        important: false,
        kind: 'video',
        officerId: officer,
        profileId: 'gat947',
        recordedAt: at,
        recordedOffset: '+08:00',
        recordedSource: 'filename',
        recordingId: id,
        sessionId: null,
        sha256: sha,
        size: 1000 + id,
        sourcePath: path,
        stationId: 'station-01',
        ...opts.extra,
      }
      const body = { seq, type: 'ingested', at, actor: 'station:station-01', subject: `recording:${id}`, payload }
      const hash = chainHash(prev, body)
      const canonical = canonicalBytes(payload).toString('utf8')
      ev.run(seq, body.type, at, body.actor, body.subject, opts.text ? opts.text(canonical) : canonical, prev, hash)
      if (opts.rows !== false) row.run(id, sha, 1000 + id, path, officer, at, at, seq)
      prev = hash
    }
  }).immediate()
  return seq
}

/** The ledger's and the catalog's findings of verify's ledger part, with the hash audit in two workers. */
export async function ledgerFindings(s: TestStation): Promise<string[]> {
  const snap = await readSnapshot(s.db, s.vault, undefined, { workers: 2, minRows: 1 })
  return snap.problems.filter((p) => p.kind === 'ledger' || p.kind.startsWith('catalog-')).map((p) => `${p.kind} ${p.subject} ${p.detail}`)
}
